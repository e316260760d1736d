// docusaurus-plugin-bookchat: adds BookChat to every page of a Docusaurus 3 site.
//
//   plugins: [['docusaurus-plugin-bookchat', { server: 'https://chat.example.org' }]]
//
// At build time it puts BookChat's loader (embed.js, about 2 KB; nothing else loads until the
// reader shows intent) in every page's <head>, configured from the options. In the browser its
// client module adds ⌘I / Ctrl+I, "Ask BookChat about «query»" under the search box, buttons
// marked `data-bookchat-open`, and — with `identityEndpoint` — tells BookChat who is reading on
// every page view. After the build it writes BookChat's llms.txt and llms-full.txt (the book for
// AI agents, llmstxt.org) into the output, so they are served from the book's own origin.

const fs = require('fs');
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

const LLMS_FILES = ['llms.txt', 'llms-full.txt'];

/**
 * The book for AI agents on the site's own origin: BookChat's /llms.txt and /llms-full.txt
 * (generated from the book it has ingested), written into the build output. Both or neither:
 * a server that cannot be reached leaves the build as it was, with a warning naming why; a file
 * the site already has (static/llms.txt, another plugin) is the author's and is kept.
 */
async function writeLlmsFiles(server, outDir, log = console) {
  const targets = LLMS_FILES.map((f) => path.join(outDir, f));
  const existing = targets.filter((t) => fs.existsSync(t));
  if (existing.length) {
    log.warn(`[bookchat] ${existing.map((t) => path.basename(t)).join(' and ')} already in the build: kept, BookChat's not written`);
    return false;
  }
  let bodies;
  try {
    bodies = await Promise.all(
      LLMS_FILES.map(async (f) => {
        const res = await fetch(`${server}/${f}`, { signal: AbortSignal.timeout(30000) });
        if (!res.ok) throw new Error(`${server}/${f} answered ${res.status}`);
        return res.text();
      }),
    );
  } catch (e) {
    log.warn(`[bookchat] llms.txt not written: ${e && e.message ? e.message : e} (is the BookChat server running? set llmsTxt: false to skip)`);
    return false;
  }
  // Written beside their final names and renamed: a reader never gets half a file.
  targets.forEach((t, i) => fs.writeFileSync(`${t}.tmp`, bodies[i]));
  targets.forEach((t) => fs.renameSync(`${t}.tmp`, t));
  return true;
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
    async postBuild({ outDir }) {
      if (o.llmsTxt) await writeLlmsFiles(o.server, outDir);
    },
  };
}

// Docusaurus validates options before the build starts.
pluginBookChat.validateOptions = ({ options }) => ({ ...options, ...normalize(options) });
pluginBookChat.loaderTag = loaderTag;
pluginBookChat.writeLlmsFiles = writeLlmsFiles;

module.exports = pluginBookChat;
