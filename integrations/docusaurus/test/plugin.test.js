// node --test: the plugin's options, the tags it injects and the client module's decisions.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
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
