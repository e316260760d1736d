//! The composer before hydration. The server-rendered widget shows its composer at once, but the
//! WebAssembly that makes it work arrives later (seconds on a phone). `early.js`, inlined in the
//! page, keeps the composer usable meanwhile: typing works as in any form and a question sent
//! before the widget has started is queued in the page. Just before hydration `capture` takes
//! both out of the DOM, because hydration would otherwise reset the textarea to the (empty)
//! draft; the widget then sends the queued question once (one client id, so a retry cannot
//! store it twice) and the composer keeps the typed text.

use std::cell::RefCell;

/// The inline script (served with the page's CSP nonce).
pub const SCRIPT: &str = include_str!("early.js");

#[derive(Default)]
struct Early {
    draft: Option<String>,
    question: Option<String>,
}

thread_local! {
    static EARLY: RefCell<Early> = RefCell::new(Early::default());
}

/// Take the typed text and the queued question out of the server-rendered composer. Called by
/// `hydrate()` right before hydration.
#[cfg(feature = "hydrate")]
pub fn capture() {
    use wasm_bindgen::JsCast;
    let Some(window) = web_sys::window() else { return };
    let queued = js_sys::Reflect::get(&window, &"__bookchatQueued".into()).ok().and_then(|v| v.as_string());
    let _ = js_sys::Reflect::delete_property(&window, &"__bookchatQueued".into());
    let textarea = window
        .document()
        .and_then(|d| d.query_selector("form.bc-composer textarea").ok().flatten())
        .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok());
    let typed = textarea.as_ref().map(|t| t.value()).filter(|v| !v.trim().is_empty());
    if let Some(t) = &textarea {
        t.set_read_only(false);
        if let Some(form) = t.closest("form").ok().flatten() {
            let _ = form.remove_attribute("data-queued");
        }
    }
    EARLY.with(|e| {
        let mut e = e.borrow_mut();
        match queued.filter(|q| !q.trim().is_empty()) {
            Some(q) => e.question = Some(q),
            None => e.draft = typed,
        }
    });
}

/// From now on the app handles the composer: the inline listeners step aside.
#[cfg(feature = "hydrate")]
pub fn hydrated() {
    if let Some(window) = web_sys::window() {
        let _ = js_sys::Reflect::set(&window, &"__bookchatHydrated".into(), &true.into());
    }
}

/// The question sent before the widget started, if any (once).
pub fn take_question() -> Option<String> {
    EARLY.with(|e| e.borrow_mut().question.take())
}

/// Text typed before the widget started (once). A queued question nobody sent (a page that does
/// not send it on its own) comes back as the draft, so it is never lost.
pub fn take_draft() -> Option<String> {
    EARLY.with(|e| {
        let mut e = e.borrow_mut();
        e.draft.take().or_else(|| e.question.take())
    })
}
