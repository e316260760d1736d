// A fake OpenAI-compatible provider for the end-to-end tests: real HTTP on loopback, real SSE
// wire format. `[slow]` in the question streams 60 pieces over ~15 s; otherwise ~0.5 s.
import http from 'node:http';

const port = Number(process.argv[2] ?? 3399);
const pieces = ['The ', 'zero-moment ', 'point ', 'keeps ', 'the ', 'foot ', 'flat ', '[1]. '];

http
  .createServer((req, res) => {
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const msgs = JSON.parse(body).messages;
      const last = msgs[msgs.length - 1].content;
      const slow = last.includes('[slow]');
      const xss = last.includes('[xss]');
      const n = slow ? 60 : pieces.length;
      const delay = slow ? 250 : 40;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const timer = setInterval(() => {
        if (i >= n) {
          res.end('data: [DONE]\n\n');
          clearInterval(timer);
          return;
        }
        const text = xss
          ? ['<img src=x onerror="window.__xss=3">', '<script>window.__xss=4</script>', '[click](javascript:window.__xss=5) ', '<a href="javascript:alert(1)">x</a>', '<svg onload="window.__xss=6"></svg>', 'done [1]. ', ' ', ' '][i]
          : pieces[i % pieces.length];
        const chunk = { choices: [{ index: 0, delta: { content: text } }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        i++;
      }, delay);
      res.on('close', () => clearInterval(timer));
    });
  })
  .listen(port, '127.0.0.1', () => console.log(`fake LLM on ${port}`));
