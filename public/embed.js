/*! BookChat embed loader, protocol v1.
 * <script src="https://chat.example.com/embed.js" async></script>
 * A facade: draws only the launcher until the reader shows intent (hover, focus, touch, click);
 * only then is the widget iframe (and its wasm) fetched. Talks to the iframe with postMessage,
 * checking origin and source both ways. */
(function () {
  'use strict';
  if (window.BookChat && window.BookChat.v) return;
  var s = document.currentScript || document.querySelector('script[src*="embed.js"]');
  var d = (s && s.dataset) || {};
  var server = (d.server || (s ? new URL(s.src, location.href).origin : location.origin)).replace(/\/+$/, '');
  var origin = new URL(server, location.href).origin;
  var cfg = {
    position: d.position === 'left' ? 'left' : 'right',
    accent: /^#[0-9a-f]{3,8}$/i.test(d.accent || '') ? d.accent : '#2e6bd8',
    title: d.title || 'Ask the book',
    open: d.open === 'true',
    locale: d.locale || navigator.language || 'en'
  };
  var KEY = 'bookchat:embed';
  var st = read();
  var frame = null, ready = false, queue = [], handlers = {}, lastFocus = null;

  function read() {
    try { return JSON.parse(sessionStorage.getItem(KEY)) || { open: false, unread: 0 }; }
    catch (e) { return { open: false, unread: 0 }; }
  }
  function save() { try { sessionStorage.setItem(KEY, JSON.stringify(st)); } catch (e) {} }
  function emit(type, detail) { (handlers[type] || []).slice().forEach(function (f) { try { f(detail); } catch (e) {} }); }

  var host = document.createElement('div');
  host.id = 'bookchat';
  var root = host.attachShadow({ mode: 'open' });
  var side = cfg.position;
  root.innerHTML =
    '<style>' +
    ':host{all:initial}' +
    '.l{position:fixed;' + side + ':20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;' +
    'background:' + cfg.accent + ';color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483000;display:grid;place-items:center}' +
    '.l:focus-visible{outline:3px solid ' + cfg.accent + ';outline-offset:3px}' +
    '.b{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d93025;color:#fff;' +
    'font:600 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px}' +
    '.f{position:fixed;' + side + ':20px;bottom:88px;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 110px));' +
    'border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.25);z-index:2147483000;background:#fff}' +
    '.f[hidden],.b[hidden]{display:none}' +
    'iframe{border:0;width:100%;height:100%;display:block;color-scheme:normal}' +
    '@media (max-width:600px){.f{inset:0;width:100vw;height:100vh;border-radius:0}}' +
    '</style>' +
    '<button class="l" type="button" aria-haspopup="dialog" aria-expanded="false" data-testid="bookchat-launcher">' +
    '<svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>' +
    '<span class="b" data-testid="bookchat-badge" hidden></span></button>' +
    '<div class="f" role="dialog" aria-label="BookChat" hidden></div>';
  var btn = root.querySelector('.l'), badge = root.querySelector('.b'), box = root.querySelector('.f');
  btn.setAttribute('aria-label', cfg.title + ' (BookChat)');

  function paintBadge() {
    badge.hidden = !st.unread;
    badge.textContent = st.unread > 9 ? '9+' : String(st.unread || '');
  }

  var warmed = false;
  function warm() {
    // First intent: open the connection and start loading the widget, still hidden.
    if (warmed) return;
    warmed = true;
    var l = document.createElement('link');
    l.rel = 'preconnect';
    l.href = origin;
    document.head.appendChild(l);
    makeFrame();
  }
  function makeFrame() {
    if (frame) return;
    frame = document.createElement('iframe');
    frame.title = 'BookChat';
    frame.setAttribute('data-testid', 'bookchat-iframe');
    frame.allow = 'clipboard-write';
    frame.src = server + '/widget?embed=1&v=1&parent=' + encodeURIComponent(location.origin);
    box.appendChild(frame);
  }
  function send(type, payload) {
    var m = { source: 'bookchat', v: 1, type: type, payload: payload || null };
    if (ready && frame && frame.contentWindow) frame.contentWindow.postMessage(m, origin);
    else queue.push(m);
  }
  function open() {
    warm();
    if (!box.hidden) return;
    lastFocus = document.activeElement;
    box.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    st.open = true; st.unread = 0; save(); paintBadge();
    send('open');
    if (frame) frame.focus();
    emit('open');
  }
  function close() {
    if (box.hidden) return;
    box.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    st.open = false; save();
    send('close');
    (lastFocus && lastFocus.focus && lastFocus !== document.body ? lastFocus : btn).focus();
    emit('close');
  }
  function toggle() { box.hidden ? open() : close(); }

  window.addEventListener('message', function (e) {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    var m = e.data;
    if (!m || m.source !== 'bookchat' || m.v !== 1) return;
    if (m.type === 'ready') {
      ready = true;
      queue.unshift({ source: 'bookchat', v: 1, type: 'context', payload: { url: location.href, title: document.title } });
      var q = queue; queue = [];
      q.forEach(function (x) { frame.contentWindow.postMessage(x, origin); });
    } else if (m.type === 'close') {
      close();
    } else if (m.type === 'message') {
      if (box.hidden) { st.unread = (st.unread || 0) + 1; save(); paintBadge(); }
      emit('message', m.payload);
    }
  });

  btn.addEventListener('pointerenter', warm);
  btn.addEventListener('focus', warm);
  btn.addEventListener('touchstart', warm, { passive: true });
  btn.addEventListener('click', toggle);
  root.addEventListener('keydown', function (e) { if (e.key === 'Escape') close(); });

  window.BookChat = {
    v: 1,
    open: open,
    close: close,
    toggle: toggle,
    ask: function (text, opts) {
      open();
      send('ask', { text: String(text || ''), selection: opts && opts.selection ? String(opts.selection) : null });
    },
    on: function (type, f) { (handlers[type] = handlers[type] || []).push(f); },
    off: function (type, f) { handlers[type] = (handlers[type] || []).filter(function (g) { return g !== f; }); }
  };

  function mount() {
    document.body.appendChild(host);
    paintBadge();
    if (st.open || cfg.open) open();
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
