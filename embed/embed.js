/*! BookChat embed loader — protocol v1. Source of public/embed.js (minified by scripts).
 * <script src="https://chat.example.org/embed.js" async></script>
 *
 * A facade: until the reader shows intent (hover, focus, touch, click) it draws only the
 * launcher (and the "Ask BookChat" button for a selection, and inline history mounts). On first
 * intent it loads the widget iframe and, beside it, embed-panel.js (the panel's half of the
 * loader: opening, closing, the postMessage protocol). Keeping that half out of this file keeps
 * what every page view pays for under 2 KB. Calls made before that (identify, ask, close…) wait
 * for it in order; only open/toggle/ask count as intent. */
(function (w, doc) {
  if (w.BookChat && w.BookChat.v) return;
  var s = doc.currentScript || doc.querySelector('script[src*="embed.js"]');
  var d = (s && s.dataset) || {};
  var server = (d.server || (s ? new URL(s.src, location.href).origin : location.origin)).replace(/\/+$/, '');
  var origin = new URL(server, location.href).origin;
  // The interface language: data-locale, else the host page's, else the browser's. Urdu is
  // right to left: the launcher sits bottom-left (unless data-position says otherwise).
  var lang = d.locale || doc.documentElement.lang || navigator.language;
  var rtl = /^ur/i.test(lang);
  var side = d.position === 'left' || (rtl && d.position != 'right') ? 'left' : 'right';
  var accent = /^#[0-9a-f]{3,8}$/i.test(d.accent || '') ? d.accent : '#2e6bd8';
  var KEY = 'bookchat:embed';
  var st;
  try { st = JSON.parse(sessionStorage.getItem(KEY)) || {}; } catch (e) { st = {}; }
  var frame, loading, panel, pend = [], early = [], handlers = {}, idq;
  // A shared conversation's "Continue on the book's page" lands here with #bookchat-share=ID:
  // the widget opens and makes the reader a copy.
  var share = (/bookchat-share=([\w-]{22})/.exec(location.hash) || [])[1];

  function q(p) {
    return p + '?embed=1&v=1&parent=' + encodeURIComponent(location.origin) +
      (d.greeting ? '&greeting=' + encodeURIComponent(d.greeting) : '') +
      '&lang=' + encodeURIComponent(lang);
  }

  var host = doc.createElement('div');
  host.id = 'bookchat';
  var root = host.attachShadow({ mode: 'open' });
  root.innerHTML =
    '<style>:host{all:initial}' +
    '.l{position:fixed;' + side + ':20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;background:' + accent +
    ';color:#fff;box-shadow:0 6px 20px #0004;z-index:2147483000;display:grid;place-items:center}' +
    ':focus-visible{outline:3px solid ' + accent + ';outline-offset:3px}' +
    '.b{position:absolute;top:-4px;right:-4px;min-width:20px;border-radius:10px;background:#d93025;color:#fff;font:600 12px/20px sans-serif}' +
    '.s{position:fixed;z-index:2147483001;border:0;border-radius:8px;padding:6px 10px;background:' + accent + ';color:#fff;font:600 13px sans-serif;cursor:pointer}' +
    '[hidden]{display:none!important}</style>' +
    // The panel's own styles come with embed-panel.js.
    '<button class="l" type="button" aria-haspopup="dialog" aria-expanded="false" data-testid="bookchat-launcher">' +
    '<svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3 4h18v13H9l-6 4z"/></svg>' +
    '<span class="b" data-testid="bookchat-badge" hidden></span></button>' +
    '<div class="f" role="dialog" aria-label="BookChat" data-testid="bookchat-panel" hidden></div>' +
    '<button class="s" type="button" data-testid="bookchat-ask-selection" hidden>Ask BookChat</button>';
  var btn = root.querySelector('.l'), badge = root.querySelector('.b'), box = root.querySelector('.f'), ask = root.querySelector('.s');
  // The launcher's name: data-title, else "Ask BookChat" in Urdu (also the selection button's
  // text), else "Open BookChat".
  btn.setAttribute('aria-label', d.title || (rtl ? ask.textContent = 'بک چیٹ سے پوچھیں' : 'Open BookChat'));

  function paint() { badge.hidden = !st.unread; badge.textContent = st.unread > 9 ? '9+' : st.unread; }

  var pre;
  function preconnect() {
    // Hovering may be passing by: only warm the connection.
    if (pre) return;
    pre = doc.createElement('link');
    pre.rel = 'preconnect';
    pre.href = origin;
    doc.head.appendChild(pre);
  }
  // Intent: the iframe and the panel script load side by side.
  function boot() {
    if (!frame) {
      frame = doc.createElement('iframe');
      frame.title = 'BookChat';
      frame.allow = 'clipboard-write'; // the answers' Copy button
      frame.setAttribute('data-testid', 'bookchat-iframe');
      // idp: the page says who is reading (identify) before the widget shows anything of the
      // stored session — a signed-out reader never sees the previous reader's conversation.
      frame.src = q(server + '/widget') + (idp() ? '&idp=1' : '') + (share ? '&share=' + share : '');
      box.appendChild(frame);
    }
    script();
  }
  // The page says who is reading (identify called, or promised with data-identify="always").
  function idp() { return idq || d.identify == 'always'; }
  // The panel half (also what mounts inline history: pages with a mount load it at once).
  function script() {
    if (loading) return;
    var x = loading = doc.createElement('script');
    x.src = server + '/embed-panel.js';
    // A failed load is retried on the next intent.
    x.onerror = function () { loading = 0; x.remove(); };
    doc.head.appendChild(x);
  }
  // Called by embed-panel.js once it has run.
  function init(p) { panel = p; early.splice(0).forEach(p.m); flush(); }
  function flush() { if (panel) pend.splice(0).forEach(function (f) { f(panel); }); }
  // A call of the public API, run by the panel once it is there (after earlier calls).
  function later(k, intent) {
    return function () {
      var a = arguments;
      return new Promise(function (res) {
        pend.push(function (p) { res(p[k].apply(0, a)); });
        intent ? boot() : 0;
        flush();
      });
    };
  }

  // Messages from the widget are checked here (its window, its origin, the protocol) and kept
  // until the panel script is there to act on them.
  w.addEventListener('message', function (e) {
    var m = e.data;
    if (frame && e.source === frame.contentWindow && e.origin === origin && m && m.source === 'bookchat' && m.v === 1) {
      panel ? panel.m(m) : early.push(m);
    }
  });

  btn.addEventListener('pointerenter', preconnect);
  btn.addEventListener('focus', boot);
  btn.addEventListener('touchstart', boot, { passive: true });
  btn.addEventListener('click', function () { api.toggle(); });

  // Ask about a selection: a small button near the selected text.
  var selText = '', timer;
  doc.addEventListener('selectionchange', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var sel = w.getSelection(), t = sel ? sel.toString().trim() : '';
      if (t.length < 3 || t.length > 2000 || !sel.rangeCount || host.contains(sel.anchorNode)) { ask.hidden = true; return; }
      var r = sel.getRangeAt(0).getBoundingClientRect();
      selText = t;
      ask.style.top = Math.min(r.bottom + 8, innerHeight - 44) + 'px';
      ask.style.left = Math.max(8, Math.min(r.left, innerWidth - 140)) + 'px';
      ask.hidden = false;
    }, 150);
  });
  ask.addEventListener('mousedown', function (e) { e.preventDefault(); });
  ask.addEventListener('click', function () { ask.hidden = true; api.ask('', { selection: selText }); });

  // Single-page navigation (Docusaurus): the page context follows, history mounts appear.
  function navigated() { panel && panel.nav(); mounts(); }
  // <div data-bookchat="history"></div>: the reader's conversations inline, mounted by the panel
  // half once visible.
  function mounts() { doc.querySelector('[data-bookchat="history"]') && script(); }
  ['pushState', 'replaceState'].forEach(function (k) {
    var orig = history[k];
    history[k] = function () { var r = orig.apply(this, arguments); setTimeout(navigated); return r; };
  });
  w.addEventListener('popstate', navigated);


  // The public API (see README); every method but on() returns a Promise. identify() and
  // reset() wait for the widget, so calling them on every page costs nothing until intent.
  var api = w.BookChat = {
    v: 1,
    open: later('open', 1),
    toggle: later('toggle', 1),
    ask: later('ask', 1),
    close: later('close'),
    identify: function () { idq = 1; return later('identify').apply(0, arguments); },
    reset: later('reset'),
    on: function (t, f) { (handlers[t] = handlers[t] || []).push(f); },
    // Shared with embed-panel.js.
    _: { init: init, origin: origin, src: function (p) { return q(server + p); }, side: side, root: root, st: st, box: box, btn: btn, host: host, frame: function () { return frame; },
         boot: boot, idp: idp,
         handlers: handlers, paint: paint,
         save: function () { try { sessionStorage.setItem(KEY, JSON.stringify(st)); } catch (e) {} } }
  };

  function mount() {
    doc.body.appendChild(host);
    paint();
    mounts();
    if (share || st.open || d.open === 'true') api.open();
  }
  doc.body ? mount() : doc.addEventListener('DOMContentLoaded', mount);
})(window, document);
