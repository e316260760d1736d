/*! BookChat embed loader — protocol v1. Source of public/embed.js (minified by scripts).
 * <script src="https://chat.example.org/embed.js" async></script>
 *
 * A facade: until the reader shows intent (hover, focus, touch, click) it draws only the
 * launcher; the widget iframe and its wasm load on first intent. Host and widget talk with
 * postMessage ({source: 'bookchat', v: 1, type, payload}), each checking the other's origin and
 * window. Everything the host asks before the widget exists (identify, ask) waits for it. */
(function (w, doc) {
  'use strict';
  if (w.BookChat && w.BookChat.v) return;
  var s = doc.currentScript || doc.querySelector('script[src*="embed.js"]');
  var d = (s && s.dataset) || {};
  var server = (d.server || (s ? new URL(s.src, location.href).origin : location.origin)).replace(/\/+$/, '');
  var origin = new URL(server, location.href).origin;
  var side = d.position === 'left' ? 'left' : 'right';
  var accent = /^#[0-9a-f]{3,8}$/i.test(d.accent || '') ? d.accent : '#2e6bd8';
  var KEY = 'bookchat:embed';
  var st;
  try { st = JSON.parse(sessionStorage.getItem(KEY)) || {}; } catch (e) { st = {}; }
  var frame, ready, queue = [], handlers = {}, lastFocus, waiting = [];

  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(st)); } catch (e) {} }
  function emit(t, x) { (handlers[t] || []).slice().forEach(function (f) { try { f(x); } catch (e) {} }); }
  function q(p) {
    return p + '?embed=1&v=1&parent=' + encodeURIComponent(location.origin) +
      (d.greeting ? '&greeting=' + encodeURIComponent(d.greeting) : '') +
      '&lang=' + encodeURIComponent(d.locale || doc.documentElement.lang || navigator.language || 'en');
  }

  var host = doc.createElement('div');
  host.id = 'bookchat';
  var root = host.attachShadow({ mode: 'open' });
  root.innerHTML =
    '<style>:host{all:initial}' +
    '.l{position:fixed;' + side + ':20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;background:' + accent +
    ';color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483000;display:grid;place-items:center}' +
    ':focus-visible{outline:3px solid ' + accent + ';outline-offset:3px}' +
    '.b{position:absolute;top:-4px;right:-4px;min-width:20px;border-radius:10px;background:#d93025;color:#fff;font:600 12px/20px sans-serif}' +
    '.f{position:fixed;' + side + ':20px;bottom:88px;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 110px));border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.25);z-index:2147483000;background:#fff}' +
    '.s{position:fixed;z-index:2147483001;border:0;border-radius:8px;padding:6px 10px;background:' + accent + ';color:#fff;font:600 13px sans-serif;cursor:pointer}' +
    '[hidden]{display:none!important}iframe{border:0;width:100%;height:100%;display:block}' +
    '@media (max-width:600px){.f{inset:0;width:100vw;height:100vh;border-radius:0}}</style>' +
    '<button class="l" type="button" aria-haspopup="dialog" aria-expanded="false" data-testid="bookchat-launcher" aria-label="Open BookChat">' +
    '<svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3 4h18v13H9l-6 4z"/></svg>' +
    '<span class="b" data-testid="bookchat-badge" hidden></span></button>' +
    '<div class="f" role="dialog" aria-label="BookChat" data-testid="bookchat-panel" hidden></div>' +
    '<button class="s" type="button" data-testid="bookchat-ask-selection" hidden>Ask BookChat</button>';
  var btn = root.querySelector('.l'), badge = root.querySelector('.b'), box = root.querySelector('.f'), ask = root.querySelector('.s');
  if (d.title) btn.setAttribute('aria-label', d.title);

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
  function warm() {
    if (frame) return;
    frame = doc.createElement('iframe');
    frame.title = 'BookChat';
    frame.setAttribute('data-testid', 'bookchat-iframe');
    frame.src = q(server + '/widget');
    box.appendChild(frame);
  }
  function msg(type, payload) { return { source: 'bookchat', v: 1, type: type, payload: payload || null }; }
  function send(type, payload) {
    var m = msg(type, payload);
    ready ? frame.contentWindow.postMessage(m, origin) : queue.push(m);
  }
  function theme() {
    var t = doc.documentElement.getAttribute('data-theme');
    return t === 'dark' || t === 'light' ? t : null;
  }
  function context() { return { url: location.href, title: doc.title }; }

  function open() {
    warm();
    if (!box.hidden) return;
    lastFocus = doc.activeElement;
    box.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    st.open = 1; st.unread = 0; save(); paint();
    send('open');
    frame.focus();
    emit('open');
  }
  function close() {
    if (box.hidden) return;
    box.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    st.open = 0; save();
    (lastFocus && lastFocus !== doc.body && lastFocus !== host && lastFocus.focus ? lastFocus : btn).focus();
    emit('close');
  }

  w.addEventListener('message', function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    var m = e.data;
    if (!m || m.source !== 'bookchat' || m.v !== 1) return;
    var p = m.payload;
    if (m.type === 'ready') {
      ready = 1;
      queue.unshift(msg('context', context()), msg('theme', { theme: theme() }));
      queue.splice(0).forEach(function (x) { frame.contentWindow.postMessage(x, origin); });
      emit('ready');
    } else if (m.type === 'close') {
      close();
    } else if (m.type === 'message') {
      if (box.hidden) { st.unread = (st.unread || 0) + 1; save(); paint(); }
      emit('message', p);
    } else if (m.type === 'identified' || m.type === 'reset') {
      var f = waiting.shift();
      if (f) f(p);
      emit(m.type, p);
    }
  });

  btn.addEventListener('pointerenter', preconnect);
  btn.addEventListener('focus', warm);
  btn.addEventListener('touchstart', warm, { passive: true });
  btn.addEventListener('click', function () { box.hidden ? open() : close(); });
  doc.addEventListener('keydown', function (e) { if (e.key === 'Escape') close(); });

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

  // Follow the host's light/dark theme live (Docusaurus sets html[data-theme]).
  new MutationObserver(function () { if (ready) send('theme', { theme: theme() }); })
    .observe(doc.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

  // Single-page navigation (Docusaurus): the page context follows, history mounts appear.
  function navigated() { if (ready) send('context', context()); mounts(); }
  ['pushState', 'replaceState'].forEach(function (k) {
    var orig = history[k];
    history[k] = function () { var r = orig.apply(this, arguments); setTimeout(navigated); return r; };
  });
  w.addEventListener('popstate', navigated);

  // <div data-bookchat="history"></div>: the reader's conversations inline, once visible.
  function mounts() {
    doc.querySelectorAll('[data-bookchat="history"]:not([data-bookchat-mounted])').forEach(function (el) {
      el.setAttribute('data-bookchat-mounted', '');
      var io = new IntersectionObserver(function (es) {
        if (!es[0].isIntersecting) return;
        io.disconnect();
        var f = doc.createElement('iframe');
        f.title = 'Your BookChat conversations';
        f.setAttribute('data-testid', 'bookchat-history-iframe');
        f.src = q(server + '/conversations');
        f.style.cssText = 'border:1px solid #dadde1;border-radius:10px;width:100%;height:' + (el.getAttribute('data-height') || '600px');
        el.appendChild(f);
      });
      io.observe(el);
    });
  }

  var api = w.BookChat = {
    v: 1,
    open: open,
    close: close,
    toggle: function () { box.hidden ? open() : close(); },
    ask: function (text, o) { open(); send('ask', { text: String(text || ''), selection: o && o.selection ? String(o.selection) : null }); },
    // identify({userId, userHash, email?, name?}) → Promise<{ok, user?, error?}>; waits for the
    // widget, so calling it on every page costs nothing until the reader opens BookChat.
    identify: function (u) {
      return new Promise(function (res) { waiting.push(res); send('identify', u || {}); });
    },
    reset: function () {
      st = {}; save(); paint();
      return new Promise(function (res) { waiting.push(res); send('reset'); });
    },
    on: function (t, f) { (handlers[t] = handlers[t] || []).push(f); }
  };

  function mount() {
    doc.body.appendChild(host);
    paint();
    mounts();
    if (st.open || d.open === 'true') open();
  }
  doc.body ? mount() : doc.addEventListener('DOMContentLoaded', mount);
})(window, document);
