// A book site's web server for the Docusaurus plugin's end-to-end run: serves a real Docusaurus
// build, plus the site's own identity endpoint as a host backend would have it — it knows its
// reader from its own session cookie (`site_user`) and answers with a short-lived BookChat token
// (an HS256 JWT signed with the shared identity secret), or 401 when nobody is signed in.
//   node docsite.mjs BUILD_DIR PORT SECRET
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const [root, port, secret] = process.argv.slice(2);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.txt': 'text/plain', '.xml': 'application/xml' };

function token(sub) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function file(path) {
  const clean = normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, '');
  for (const candidate of [join(root, clean), join(root, clean, 'index.html'), join(root, `${clean}.html`)]) {
    if (candidate.startsWith(root) && existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/api/bookchat-token') {
    const user = /(?:^|;\s*)site_user=([\w-]+)/.exec(req.headers.cookie || '')?.[1];
    // The README's recipe: never cached, varies with the reader's cookie; and only for the
    // plugin's own request (its header), which a cross-site page cannot send without CORS.
    res.setHeader('cache-control', 'no-store');
    res.setHeader('vary', 'Cookie');
    if (req.headers['x-bookchat-identity'] !== '1') { res.writeHead(400).end(); return; }
    if (!user) { res.writeHead(401).end(); return; }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ userToken: token(user) }));
    return;
  }
  const path = file(url.pathname);
  if (!path) {
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(existsSync(join(root, '404.html')) ? readFileSync(join(root, '404.html')) : 'Not found');
    return;
  }
  res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
}).listen(Number(port), '127.0.0.1', () => console.log(`book site on http://127.0.0.1:${port}`));
