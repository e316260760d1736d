// docusaurus-plugin-bookchat: adds BookChat to every page of a Docusaurus 3 site.
//
//   plugins: [['docusaurus-plugin-bookchat', { server: 'https://chat.example.org' }]]
//
// At build time it puts BookChat's loader (embed.js, about 2 KB; nothing else loads until the
// reader shows intent) in every page's <head>, configured from the options. In the browser its
// client module adds ⌘I / Ctrl+I, "Ask BookChat about «query»" under the search box, buttons
// marked `data-bookchat-open`, and — with `identityEndpoint` — tells BookChat who is reading on
// every page view.

const path = require('path');
const { normalize } = require('./options');

/** The loader's <script> tag for these options (`locale` defaults to the site's locale). */
function loaderTag(o, siteLocale) {
  const attributes = {
    src: `${o.server}/embed.js`,
    async: true,
    'data-bookchat-plugin': '',
    'data-title': o.title,
    'data-accent': o.accent,
    'data-position': o.position,
    'data-greeting': o.greeting,
    'data-locale': o.locale || siteLocale,
    // With an identity endpoint every page says who is reading: the widget waits for that
    // before showing any stored conversation.
    'data-identify': o.identityEndpoint ? 'always' : undefined,
    'data-identity-endpoint': o.identityEndpoint,
    'data-shortcut': o.shortcut ? 'on' : 'off',
    'data-search-handoff': o.searchHandoff ? 'on' : 'off',
  };
  for (const k of Object.keys(attributes)) if (attributes[k] === undefined) delete attributes[k];
  return { tagName: 'script', attributes };
}

function pluginBookChat(context, options) {
  const o = normalize(options);
  const siteLocale = context && context.i18n ? context.i18n.currentLocale : undefined;
  return {
    name: 'docusaurus-plugin-bookchat',
    getClientModules() {
      return [path.resolve(__dirname, './client.js')];
    },
    injectHtmlTags() {
      return { headTags: [loaderTag(o, siteLocale)] };
    },
  };
}

// Docusaurus validates options before the build starts.
pluginBookChat.validateOptions = ({ options }) => ({ ...options, ...normalize(options) });
pluginBookChat.loaderTag = loaderTag;

module.exports = pluginBookChat;
