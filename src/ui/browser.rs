//! Small browser helpers. They do nothing during server rendering (there is no browser), so
//! components may call them from event handlers and effects without `cfg` noise.

use uuid::Uuid;

pub const KEY_TOKEN: &str = "bookchat:token";
pub const KEY_CONVERSATION: &str = "bookchat:conversation";
pub const KEY_DRAFT: &str = "bookchat:draft";

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    // Storage can be blocked (privacy modes, some third-party iframes): degrade to memory-only.
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn storage_get(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        storage()?.get_item(key).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

pub fn storage_set(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = s.set_item(key, value);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

pub fn storage_remove(key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}

/// A random (v4) UUID from the browser's CSPRNG: the idempotency key of a message.
pub fn new_uuid() -> Uuid {
    #[allow(unused_mut)]
    let mut bytes = [0u8; 16];
    #[cfg(feature = "hydrate")]
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Offer a text file for download.
pub fn download(filename: &str, mime: &str, body: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(body));
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type(mime);
        let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else { return };
        let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
        if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
            if let Ok(a) = doc.create_element("a") {
                if let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() {
                    a.set_href(&url);
                    a.set_download(filename);
                    a.click();
                }
            }
        }
        let _ = web_sys::Url::revoke_object_url(&url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (filename, mime, body);
}

/// Put text on the clipboard; false when the browser refuses (no permission, insecure context,
/// or an embedding page that does not delegate `clipboard-write` to the iframe).
pub async fn copy_text(text: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let Some(w) = web_sys::window() else { return false };
        let promise = w.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = text;
        false
    }
}

/// A message to the embedding page (the loader script): protocol v1.
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct ToHost<'a, P> {
    source: &'static str,
    v: u8,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<P>,
}

/// Send a message of a kind, with its payload, to the embedding page (the loader script), if
/// any. Typed records rather than a JSON tree: the widget's WebAssembly need not carry
/// `serde_json::Value`.
pub fn post_to_parent<P: serde::Serialize>(kind: &str, payload: Option<P>) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        if let Ok(Some(parent)) = w.parent() {
            if parent != w {
                let msg = ToHost { source: "bookchat", v: 1, kind, payload };
                if let Some(v) = serde_json::to_string(&msg).ok().and_then(|json| js_sys::JSON::parse(&json).ok()) {
                    let target = embed_parent_origin().unwrap_or_else(|| "*".to_owned());
                    let _ = parent.post_message(&v, &target);
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (kind, payload);
}

/// A message without a payload to the embedding page.
pub fn notify_parent(kind: &str) {
    post_to_parent::<()>(kind, None);
}

/// The host page's origin, as given to the iframe by the loader (`?parent=`), checked later
/// against the allowlist on the server.
pub fn embed_parent_origin() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let search = web_sys::window()?.location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        params.get("parent").filter(|p| p.starts_with("http://") || p.starts_with("https://"))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Mark the document once the app is interactive (tests wait for this, so they never pass on
/// a not-yet-hydrated page).
pub fn mark(attr: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute(attr, "true");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = attr;
}

/// Now, in milliseconds since the epoch.
pub fn now_millis() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
    }
}

/// Minutes east of UTC of the browser's zone at an instant (UTC when rendering on the server).
pub fn zone_offset_minutes(epoch_millis: i64) -> i32 {
    #[cfg(feature = "hydrate")]
    {
        // JavaScript counts the offset west of UTC.
        -(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_millis as f64)).get_timezone_offset() as i32)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = epoch_millis;
        0
    }
}

/// An instant formatted by the browser's `Intl` for a language, with `Intl.DateTimeFormat`
/// options given as (name, value) pairs. `None` on the server.
pub fn format_instant(epoch_millis: i64, lang: &str, options: &[(&str, &str)]) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let opts = js_sys::Object::new();
        for (k, v) in options {
            js_sys::Reflect::set(&opts, &(*k).into(), &(*v).into()).ok()?;
        }
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(epoch_millis as f64));
        Some(date.to_locale_string(lang, &opts).into())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (epoch_millis, lang, options);
        None
    }
}

/// Scroll an element (by id) into view.
pub fn scroll_into_view(id: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id)) {
        el.scroll_into_view_with_bool(true);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

/// The URL fragment of the current page, without `#`.
pub fn location_hash() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let h = web_sys::window()?.location().hash().ok()?;
        h.strip_prefix('#').map(str::to_owned).filter(|h| !h.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Put the cursor in the composer (when the panel opens).
pub fn focus_composer() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("[data-testid=composer]").ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    }
}

/// Follow the host page's light/dark theme (`None` = the reader's system preference).
pub fn set_theme(theme: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        match theme {
            Some(t @ ("dark" | "light")) => {
                let _ = root.set_attribute("data-theme", t);
            }
            _ => {
                let _ = root.remove_attribute("data-theme");
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = theme;
}

/// Tab from the last focusable element of `container` wraps to the first (Shift+Tab from the
/// first to the last). Returns true when it moved focus (the caller cancels the default).
pub fn trap_tab(container: &str, backwards: bool) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return false };
        let selector = format!(
            "{container} a[href], {container} button:not([disabled]), {container} textarea:not([disabled]), {container} input:not([disabled])"
        );
        let Ok(list) = doc.query_selector_all(&selector) else { return false };
        let items: Vec<web_sys::HtmlElement> =
            (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok()).collect();
        let (Some(first), Some(last)) = (items.first(), items.last()) else { return false };
        let active = doc.active_element();
        let at = |el: &web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>());
        if !backwards && at(last) {
            let _ = first.focus();
            return true;
        }
        if backwards && at(first) {
            let _ = last.focus();
            return true;
        }
        false
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (container, backwards);
        false
    }
}

/// Re-run `f` when another document of this origin changes the session token (e.g. the widget
/// identified the reader while a history page is open).
pub fn on_token_change(f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let handle = leptos::prelude::window_event_listener(leptos::ev::storage, move |ev| {
            if ev.key().as_deref() == Some(KEY_TOKEN) {
                f();
            }
        });
        leptos::prelude::on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = f;
}

/// This page's origin (`https://chat.example.org`): what links to BookChat's own pages start with.
pub fn origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// Drop the query string from the address bar without reloading (a one-shot action in the
/// URL, like `?continue=`, must not run again on reload).
pub fn clear_query() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        if let (Ok(path), Ok(history)) = (w.location().pathname(), w.history()) {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
        }
    }
}

/// A query parameter of the current page.
pub fn query_param(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let search = web_sys::window()?.location().search().ok()?;
        web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = name;
        None
    }
}

/// The host's locale as the document language (screen readers pronounce accordingly).
pub fn set_lang(lang: Option<&str>) {
    #[cfg(feature = "hydrate")]
    if let Some(l) = lang.filter(|l| !l.is_empty() && l.len() <= 35 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')) {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", l);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = lang;
}
