// Before the widget's WebAssembly has loaded, the server-rendered composer is plain HTML. This
// keeps it usable: the send button follows what is typed, and a question sent (Enter or the
// button) is queued instead of submitting the form; the widget sends it once, when it starts
// (`ui::early`). After hydration these listeners step aside.
(function () {
  var w = window, d = document;
  function form(t) { return t && t.closest ? t.closest("form.bc-composer") : null; }
  function queue(f, e) {
    if (w.__bookchatHydrated) return;
    e.preventDefault();
    var t = f.querySelector("textarea");
    if (!t || !t.value.trim() || f.hasAttribute("data-queued")) return;
    w.__bookchatQueued = t.value;
    f.setAttribute("data-queued", "");
    t.readOnly = true;
  }
  d.addEventListener("submit", function (e) { var f = form(e.target); if (f) queue(f, e); }, true);
  d.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { var f = form(e.target); if (f) queue(f, e); }
  }, true);
  d.addEventListener("input", function (e) {
    var f = !w.__bookchatHydrated && form(e.target), b = f && f.querySelector("button[type=submit]");
    if (b) b.disabled = !e.target.value.trim();
  }, true);
})();
