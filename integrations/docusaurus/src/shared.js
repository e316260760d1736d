// The client module's decisions, kept free of the DOM so they can be tested in Node.

/** ⌘I (macOS) or Ctrl+I (elsewhere), with no other modifier: open or close BookChat. */
function isShortcut(e) {
  return (e.metaKey || e.ctrlKey) && !e.altKey && !e.shiftKey && typeof e.key === 'string' && e.key.toLowerCase() === 'i';
}

/** The search hand-off's label, in the interface language (queries are shortened, not cut mid-word). */
function askLabel(query, locale) {
  let q = String(query || '').trim().replace(/\s+/g, ' ');
  if (q.length > 60) q = q.slice(0, 60).replace(/\s+\S*$/, '') + '…';
  return /^ur/i.test(locale || '') ? `«${q}» کے بارے میں بک چیٹ سے پوچھیں` : `Ask BookChat about «${q}»`;
}

/** Worth handing to BookChat: at least two characters that are not all punctuation. */
function isQuestion(query) {
  const q = String(query || '').trim();
  return q.length >= 2 && /[\p{L}\p{N}]/u.test(q);
}

/**
 * What the identity endpoint's response means: a token to identify with, `null` for "nobody is
 * signed in" (401, 403, 204, or a body without a token), or `undefined` for "unknown, leave the
 * session as it is" (a failure that says nothing about who is reading).
 */
function identityFrom(status, body) {
  if (status === 401 || status === 403 || status === 204) return null;
  if (status < 200 || status >= 300) return undefined;
  const token = body && (body.userToken || body.token);
  return typeof token === 'string' && token ? token : null;
}

/** The search inputs the hand-off attaches to: DocSearch's modal, the local-search plugins' navbar box, or any opted-in input. */
const SEARCH_INPUTS = '.DocSearch-Input, input.navbar__search-input, input[data-bookchat-search]';

module.exports = { isShortcut, askLabel, isQuestion, identityFrom, SEARCH_INPUTS };
