// Options of docusaurus-plugin-bookchat, validated once at build time: a wrong option fails the
// build with a message naming it, instead of a widget that silently never appears.

const DEFAULTS = {
  title: undefined,
  accent: undefined,
  position: undefined,
  greeting: undefined,
  locale: undefined,
  identityEndpoint: undefined,
  shortcut: true,
  searchHandoff: true,
  llmsTxt: true,
};

const KNOWN = new Set(['server', ...Object.keys(DEFAULTS)]);

function fail(name, why) {
  throw new Error(`docusaurus-plugin-bookchat: option "${name}" ${why}`);
}

function text(options, name, max) {
  const v = options[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !v.trim()) fail(name, 'must be a non-empty string');
  if (v.length > max) fail(name, `must be at most ${max} characters`);
  return v.trim();
}

function flag(options, name) {
  const v = options[name];
  if (v === undefined) return DEFAULTS[name];
  if (typeof v !== 'boolean') fail(name, 'must be true or false');
  return v;
}

/** Checked, normalised options (throws on the first invalid one). */
function normalize(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new Error('docusaurus-plugin-bookchat: options must be an object, e.g. { server: "https://chat.example.org" }');
  }
  for (const k of Object.keys(options)) {
    if (k !== 'id' && !KNOWN.has(k)) fail(k, `is not an option (known: ${[...KNOWN].join(', ')})`);
  }
  if (options.server === undefined) fail('server', 'is required: the BookChat server\'s URL, e.g. "https://chat.example.org"');
  let server;
  try {
    server = new URL(String(options.server));
  } catch {
    fail('server', 'must be an absolute http(s) URL');
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') fail('server', 'must be an absolute http(s) URL');
  if (server.search || server.hash) fail('server', 'must not have a query or fragment');
  const accent = text(options, 'accent', 9);
  if (accent !== undefined && !/^#[0-9a-f]{3,8}$/i.test(accent)) fail('accent', 'must be a hex colour like "#2e6bd8"');
  const position = text(options, 'position', 5);
  if (position !== undefined && position !== 'left' && position !== 'right') fail('position', 'must be "left" or "right"');
  const locale = text(options, 'locale', 35);
  if (locale !== undefined && !/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$/.test(locale)) fail('locale', 'must be a language tag like "en" or "ur"');
  const identityEndpoint = text(options, 'identityEndpoint', 2000);
  if (identityEndpoint !== undefined && !/^(https?:\/\/|\/)/.test(identityEndpoint)) {
    fail('identityEndpoint', 'must be an absolute http(s) URL or a path starting with "/"');
  }
  return {
    server: server.href.replace(/\/+$/, ''),
    title: text(options, 'title', 100),
    accent,
    position,
    greeting: text(options, 'greeting', 300),
    locale,
    identityEndpoint,
    shortcut: flag(options, 'shortcut'),
    searchHandoff: flag(options, 'searchHandoff'),
    llmsTxt: flag(options, 'llmsTxt'),
  };
}

module.exports = { normalize, DEFAULTS };
