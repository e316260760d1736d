// Runs in the reader's browser on every page of the site (a Docusaurus client module). The
// options arrive on the loader's <script data-bookchat-plugin> tag.
import shared from './shared';

const { isShortcut, askLabel, isQuestion, identityFrom, SEARCH_INPUTS } = shared;

const inBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';

function config() {
  const s = document.querySelector('script[data-bookchat-plugin]');
  return (s && s.dataset) || {};
}

// The loader is async: calls wait until it has run (it defines window.BookChat).
function withBookChat(fn) {
  if (window.BookChat) return fn(window.BookChat);
  window.addEventListener('load', () => window.BookChat && fn(window.BookChat), { once: true });
  return undefined;
}

function locale() {
  return config().locale || document.documentElement.lang || navigator.language || 'en';
}

// --- ⌘I / Ctrl+I, and buttons marked data-bookchat-open (e.g. a navbar item) -----------------
if (inBrowser) {
  document.addEventListener('keydown', (e) => {
    if (config().shortcut === 'off' || !isShortcut(e)) return;
    e.preventDefault();
    withBookChat((b) => b.toggle());
  });
  // The same keys with focus inside the widget (its iframe relays them): they close what they
  // opened, and focus goes back where it was.
  withBookChat((b) => b.on('shortcut', () => {
    if (config().shortcut !== 'off') b.toggle();
  }));
  document.addEventListener('click', (e) => {
    const t = e.target && e.target.closest && e.target.closest('[data-bookchat-open]');
    if (!t) return;
    e.preventDefault();
    withBookChat((b) => b.open());
  });
}

// --- "Ask BookChat about «query»" under the search box ------------------------------------------
const STYLE =
  '.bookchat-ask{display:block;box-sizing:border-box;width:100%;margin:6px 0 0;padding:8px 12px;border:1px solid var(--ifm-color-primary,#2e6bd8);' +
  'border-radius:8px;background:var(--ifm-background-surface-color,#fff);color:var(--ifm-color-primary-darkest,#1f4fa8);font:600 14px/1.3 var(--ifm-font-family-base,sans-serif);' +
  'text-align:start;cursor:pointer}.bookchat-ask:hover,.bookchat-ask:focus-visible{background:var(--ifm-color-primary,#2e6bd8);color:#fff}' +
  '.bookchat-ask-float{position:fixed;z-index:1000;width:auto;box-shadow:0 6px 20px rgba(0,0,0,.15);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}' +
  '[data-theme=dark] .bookchat-ask{color:var(--ifm-color-primary-lightest,#9ec1ff)}';

function ensureStyle() {
  if (document.getElementById('bookchat-search-style')) return;
  const s = document.createElement('style');
  s.id = 'bookchat-search-style';
  s.textContent = STYLE;
  document.head.appendChild(s);
}

function handOff(input, button) {
  const query = input.value.trim();
  if (!isQuestion(query)) return;
  button.hidden = true;
  input.blur();
  // Close DocSearch's modal before the widget opens: it listens on the window for Escape by
  // its `code` (a `key` alone is ignored); its backdrop closes it too, should that change.
  if (input.classList.contains('DocSearch-Input')) {
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', code: 'Escape', keyCode: 27, bubbles: true }));
    setTimeout(() => {
      const backdrop = document.querySelector('.DocSearch-Container');
      if (backdrop) backdrop.dispatchEvent(new MouseEvent('mousedown', { bubbles: true }));
    }, 50);
  }
  withBookChat((b) => b.ask(query));
}

function attach(input) {
  if (input.hasAttribute('data-bookchat-attached')) return;
  input.setAttribute('data-bookchat-attached', '');
  ensureStyle();
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'bookchat-ask';
  button.hidden = true;
  button.setAttribute('data-testid', 'bookchat-search-ask');
  const modal = input.closest('.DocSearch-Modal');
  if (modal) {
    // In DocSearch's modal: the first thing under the search bar.
    const bar = modal.querySelector('.DocSearch-SearchBar') || input.parentElement;
    bar.insertAdjacentElement('afterend', button);
  } else {
    // Under a navbar search box: float below it, above the page, and inside the screen — a
    // search box at the navbar's right end would push a box as wide as the label off it.
    button.classList.add('bookchat-ask-float');
    input.parentElement.appendChild(button);
  }
  const place = () => {
    if (modal || button.hidden) return;
    const r = input.getBoundingClientRect();
    const vw = document.documentElement.clientWidth;
    const width = Math.min(Math.max(r.width, 260), vw - 16);
    // Aligned with the box's left edge, or its right edge when that keeps it on screen.
    let left = r.left + width <= vw - 8 ? r.left : r.right - width;
    left = Math.max(8, Math.min(left, vw - width - 8));
    button.style.width = width + 'px';
    button.style.left = left + 'px';
    button.style.top = r.bottom + 6 + 'px';
  };
  const update = () => {
    const q = input.value;
    button.hidden = !isQuestion(q);
    button.textContent = askLabel(q, locale());
    // A long query is cut with an ellipsis to stay on screen; the whole label is its tooltip.
    button.title = button.textContent;
    place();
  };
  window.addEventListener('resize', place);
  window.addEventListener('scroll', place, { passive: true });
  input.addEventListener('input', update);
  input.addEventListener('focus', update);
  // Ctrl/⌘+Enter in the search box asks BookChat instead of searching.
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.stopPropagation();
      handOff(input, button);
    }
  }, true);
  // Keep the search box's focus (its dropdown stays) until the click lands.
  button.addEventListener('mousedown', (e) => e.preventDefault());
  button.addEventListener('click', () => handOff(input, button));
  input.addEventListener('blur', () => setTimeout(() => {
    if (document.activeElement !== button) button.hidden = true;
  }, 200));
}

function scan() {
  if (config()['searchHandoff'] === 'off') return;
  document.querySelectorAll(SEARCH_INPUTS).forEach(attach);
}

if (inBrowser) {
  // Search UIs mount late (DocSearch's modal on ⌘K, local search after hydration).
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
}

// --- Identity: who is reading, asked of the site's own backend on every page view -------------
let lastIdentity;
async function identify() {
  const endpoint = config().identityEndpoint;
  if (!endpoint) return;
  let token;
  try {
    // Never from a cache: a shared cache or a back/forward copy could hand one reader's token
    // to the next. The custom header makes it a non-simple request a cross-site page cannot
    // send without CORS, and tells the endpoint who is asking.
    const res = await fetch(endpoint, {
      credentials: 'include',
      cache: 'no-store',
      headers: { accept: 'application/json', 'x-bookchat-identity': '1' },
    });
    const body = res.status === 200 ? await res.json().catch(() => null) : null;
    token = identityFrom(res.status, body);
  } catch {
    // Offline or blocked: say nothing. The widget waits a few seconds for an identity, then
    // starts a fresh guest rather than show a stored signed-in reader's history.
    token = undefined;
  }
  if (token === undefined || token === lastIdentity) return;
  lastIdentity = token;
  withBookChat((b) => b.identify(token ? { userToken: token } : null));
}

export function onRouteDidUpdate({ location, previousLocation }) {
  if (!inBrowser) return;
  scan();
  if (!previousLocation || location.pathname !== previousLocation.pathname) identify();
}
