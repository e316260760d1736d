/*! BookChat embed loader, panel half — protocol v1. Source of public/embed-panel.js.
 * Loaded by embed.js on the reader's first intent, beside the widget iframe: opens and closes the
 * panel, and speaks the postMessage protocol ({source: 'bookchat', v: 1, type, payload}) with the
 * widget. embed.js has already checked each message's window and origin. */
(function (w, doc, B) {
  var _ = B._, st = _.st, box = _.box, btn = _.btn, origin = _.origin;
  var ready, queue = [], lastFocus, waiting = [], settled;
  var css = doc.createElement('style');
  css.textContent =
    '.f{position:fixed;' + _.side + ':20px;bottom:88px;width:min(400px,calc(100vw - 40px));height:min(640px,calc(100vh - 110px));border-radius:14px;overflow:hidden;box-shadow:0 12px 40px rgba(0,0,0,.25);z-index:2147483000;background:#fff}' +
    'iframe{border:0;width:100%;height:100%;display:block}' +
    '@media (max-width:600px){.f{inset:0;width:100vw;height:100vh;border-radius:0}}';
  _.root.appendChild(css);

  function emit(t, x) { (_.handlers[t] || []).slice().forEach(function (f) { try { f(x); } catch (e) {} }); }
  function msg(type, payload) { return { source: 'bookchat', v: 1, type: type, payload: payload || null }; }
  function send(type, payload) {
    var m = msg(type, payload);
    ready ? _.frame().contentWindow.postMessage(m, origin) : queue.push(m);
  }
  function theme() {
    var t = doc.documentElement.getAttribute('data-theme');
    return t === 'dark' || t === 'light' ? t : null;
  }
  function context() { return { url: location.href, title: doc.title }; }
  // Requests the widget answers (identify, reset): replies come back in order.
  function request(type, payload) { return new Promise(function (res) { waiting.push(res); send(type, payload); }); }

  function open() {
    if (!box.hidden) return;
    lastFocus = doc.activeElement;
    box.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    st.open = 1; st.unread = 0; _.save(); _.paint();
    send('open');
    _.frame().focus();
    emit('open');
  }
  function close() {
    if (box.hidden) return;
    box.hidden = true;
    btn.setAttribute('aria-expanded', 'false');
    st.open = 0; _.save();
    (lastFocus && lastFocus !== doc.body && lastFocus !== _.host && lastFocus.focus ? lastFocus : btn).focus();
    emit('close');
  }

  function onMessage(m) {
    var p = m.payload;
    if (m.type === 'ready') {
      ready = 1;
      queue.unshift(msg('context', context()), msg('theme', { theme: theme() }));
      queue.splice(0).forEach(function (x) { _.frame().contentWindow.postMessage(x, origin); });
      emit('ready');
    } else if (m.type === 'settled') {
      settled = 1;
      mounts();
    } else if (m.type === 'close') {
      close();
    } else if (m.type === 'shortcut') {
      // ⌘I / Ctrl+I pressed inside the widget: for the host's own shortcut handler (on()).
      emit('shortcut');
    } else if (m.type === 'message') {
      if (box.hidden) { st.unread = (st.unread || 0) + 1; _.save(); _.paint(); }
      emit('message', p);
    } else if (m.type === 'identified' || m.type === 'reset') {
      var f = waiting.shift();
      if (f) f(p);
      emit(m.type, p);
    }
  }

  // <div data-bookchat="history"></div>: the reader's conversations inline, once visible. On a
  // page that says who is reading, only once the widget has applied it (loaded for that, not
  // shown): on a shared computer the stored session may be the previous reader's.
  function mounts() {
    var els = doc.querySelectorAll('[data-bookchat="history"]:not([data-bookchat-mounted])');
    if (els.length && _.idp() && !settled) return _.boot();
    els.forEach(function (el) {
      el.setAttribute('data-bookchat-mounted', '');
      var io = new IntersectionObserver(function (es) {
        if (!es[0].isIntersecting) return;
        io.disconnect();
        var f = doc.createElement('iframe');
        f.title = 'Your BookChat conversations';
        f.setAttribute('data-testid', 'bookchat-history-iframe');
        f.src = _.src('/conversations');
        f.style.cssText = 'border:1px solid #dadde1;border-radius:10px;width:100%;height:' + (el.getAttribute('data-height') || '600px');
        el.appendChild(f);
      });
      io.observe(el);
    });
  }
  mounts();

  doc.addEventListener('keydown', function (e) { if (e.key === 'Escape') close(); });
  // Follow the host's light/dark theme live (Docusaurus sets html[data-theme]).
  new MutationObserver(function () { if (ready) send('theme', { theme: theme() }); })
    .observe(doc.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

  _.init({
    m: onMessage,
    nav: function () { if (ready) send('context', context()); mounts(); },
    open: open,
    close: close,
    toggle: function () { box.hidden ? open() : close(); },
    ask: function (text, o) { open(); send('ask', { text: String(text || ''), selection: o && o.selection ? String(o.selection) : null }); },
    // identify({userToken} | {userId, userHash}, email?, name?) or identify(null) for "nobody
    // is signed in" → {ok, user?, error?}
    identify: function (u) { return request('identify', u == null ? null : u); },
    reset: function () {
      st.open = 0; st.unread = 0; _.save(); _.paint();
      return request('reset');
    }
  });
})(window, document, window.BookChat);
