// node --test: the plugin's options, the tags it injects and the client module's decisions.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const plugin = require('../src/index.js');
const { normalize } = require('../src/options.js');
const { isShortcut, askLabel, isQuestion, identityFrom } = require('../src/shared.js');

const context = { i18n: { currentLocale: 'ur' } };

test('the loader goes in every page head, configured from the options', () => {
  const p = plugin(context, { server: 'https://chat.example.org/', title: 'Ask the textbook', accent: '#2E6BD8', identityEndpoint: '/api/bookchat-token' });
  assert.equal(p.name, 'docusaurus-plugin-bookchat');
  const { headTags } = p.injectHtmlTags();
  assert.equal(headTags.length, 1);
  const { tagName, attributes: a } = headTags[0];
  assert.equal(tagName, 'script');
  assert.equal(a.src, 'https://chat.example.org/embed.js', 'no double slash');
  assert.equal(a.async, true);
  assert.equal(a['data-title'], 'Ask the textbook');
  assert.equal(a['data-accent'], '#2E6BD8');
  assert.equal(a['data-locale'], 'ur', 'the site locale by default');
  assert.equal(a['data-identify'], 'always');
  assert.equal(a['data-identity-endpoint'], '/api/bookchat-token');
  assert.equal(a['data-shortcut'], 'on');
  assert.ok(!('data-greeting' in a), 'unset options are left out');
  for (const m of p.getClientModules()) assert.ok(fs.existsSync(m), m);
});

test('an explicit locale wins over the site locale; a server path is kept', () => {
  const p = plugin(context, { server: 'https://example.org/bookchat', locale: 'en-GB', shortcut: false });
  const a = p.injectHtmlTags().headTags[0].attributes;
  assert.equal(a.src, 'https://example.org/bookchat/embed.js');
  assert.equal(a['data-locale'], 'en-GB');
  assert.equal(a['data-shortcut'], 'off');
  assert.ok(!('data-identify' in a));
});

test('invalid options fail the build with the option named', () => {
  const bad = [
    [{}, /"server" is required/],
    [{ server: 'chat.example.org' }, /"server" must be an absolute/],
    [{ server: 'ftp://chat.example.org' }, /"server" must be an absolute/],
    [{ server: 'https://x.org', accent: 'blue' }, /"accent"/],
    [{ server: 'https://x.org', position: 'top' }, /"position"/],
    [{ server: 'https://x.org', locale: 'not a tag' }, /"locale"/],
    [{ server: 'https://x.org', identityEndpoint: 'token.json' }, /"identityEndpoint"/],
    [{ server: 'https://x.org', shortcut: 'yes' }, /"shortcut"/],
    [{ server: 'https://x.org', colour: '#fff' }, /"colour" is not an option/],
    [null, /options must be an object/],
  ];
  for (const [options, message] of bad) assert.throws(() => normalize(options), message, JSON.stringify(options));
  // Docusaurus's validation hook keeps the plugin id.
  assert.equal(plugin.validateOptions({ options: { id: 'x', server: 'https://x.org' } }).id, 'x');
});

test('the shortcut is ⌘I or Ctrl+I alone', () => {
  assert.ok(isShortcut({ metaKey: true, key: 'i' }));
  assert.ok(isShortcut({ ctrlKey: true, key: 'I' }));
  assert.ok(!isShortcut({ ctrlKey: true, shiftKey: true, key: 'I' }), 'Ctrl+Shift+I is the devtools');
  assert.ok(!isShortcut({ key: 'i' }));
  assert.ok(!isShortcut({ ctrlKey: true, key: 'k' }));
});

test('the search hand-off names the query, in the interface language', () => {
  assert.equal(askLabel('  zero   moment point ', 'en'), 'Ask BookChat about «zero moment point»');
  assert.match(askLabel('zmp', 'ur-PK'), /^«zmp» .*بک چیٹ/);
  const long = askLabel('word '.repeat(30), 'en');
  assert.ok(long.length < 100 && long.includes('word…'), long);
  assert.ok(isQuestion('qos') && !isQuestion('a') && !isQuestion('?!') && !isQuestion(''));
});

test('the identity endpoint: a token, nobody, or unknown', () => {
  assert.equal(identityFrom(200, { userToken: 'jwt' }), 'jwt');
  assert.equal(identityFrom(200, { token: 'jwt' }), 'jwt');
  assert.equal(identityFrom(200, {}), null);
  assert.equal(identityFrom(401, null), null);
  assert.equal(identityFrom(204, null), null);
  assert.equal(identityFrom(500, null), undefined, 'a server error says nothing about who is reading');
  assert.equal(identityFrom(404, null), undefined);
});

test('llms.txt and llms-full.txt from the server go into the build, both or neither', async () => {
  const http = require('http');
  const os = require('os');
  let failFull = false;
  const srv = http.createServer((req, res) => {
    if (req.url === '/llms.txt') return res.end('# Book\n\n- [Page](https://book.example/docs/page)\n');
    if (req.url === '/llms-full.txt' && !failFull) return res.end('# Book\n\n---\n\n# Page\n');
    res.statusCode = 503;
    res.end('no');
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const server = `http://127.0.0.1:${srv.address().port}`;
  const warnings = [];
  const log = { warn: (m) => warnings.push(m) };
  try {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bookchat-plugin-'));
    assert.equal(await plugin.writeLlmsFiles(server, out, log), true);
    assert.equal(fs.readFileSync(path.join(out, 'llms.txt'), 'utf8'), '# Book\n\n- [Page](https://book.example/docs/page)\n');
    assert.match(fs.readFileSync(path.join(out, 'llms-full.txt'), 'utf8'), /# Page/);
    assert.deepEqual(fs.readdirSync(out).sort(), ['llms-full.txt', 'llms.txt']);

    // The author's own file is kept.
    fs.writeFileSync(path.join(out, 'llms.txt'), 'mine');
    assert.equal(await plugin.writeLlmsFiles(server, out, log), false);
    assert.equal(fs.readFileSync(path.join(out, 'llms.txt'), 'utf8'), 'mine');
    assert.match(warnings.pop(), /already in the build/);

    // One file failing: neither is written, and the warning says why.
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'bookchat-plugin-'));
    failFull = true;
    assert.equal(await plugin.writeLlmsFiles(server, empty, log), false);
    assert.deepEqual(fs.readdirSync(empty), []);
    assert.match(warnings.pop(), /llms-full\.txt answered 503/);
  } finally {
    srv.close();
  }
});
