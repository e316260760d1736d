//! The page's URL and which page it is — the same answer on the server (the request being
//! rendered) and in the browser, so a server-rendered page hydrates as it was drawn.
//!
//! The app has three pages and no client-side navigation between them worth a router: the
//! widget is one page, and the history browser's links are ordinary page loads. Choosing the
//! page from the path here instead of with `leptos_router` takes ~45 KB (brotli) off the
//! widget's WebAssembly.

/// A page of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/widget`: the chat widget (what the embed loads in its iframe).
    Widget,
    /// `/conversations`: the history browser.
    History,
    /// `/conversations/{id}`: one conversation, read and continued (the id as written).
    Conversation(String),
    NotFound,
}

/// The server's routes for the pages, in axum's syntax.
pub const PAGE_ROUTES: [&str; 3] = ["/widget", "/conversations", "/conversations/{id}"];

impl Page {
    pub fn of(path: &str) -> Page {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        match path {
            "/widget" => Page::Widget,
            "/conversations" => Page::History,
            _ => match path.strip_prefix("/conversations/") {
                Some(id) if !id.is_empty() && !id.contains('/') => Page::Conversation(id.to_owned()),
                _ => Page::NotFound,
            },
        }
    }

    /// The page being rendered or shown.
    pub fn current() -> Page {
        Page::of(&path())
    }
}

/// The URL's path.
pub fn path() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
    }
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    {
        leptos::prelude::use_context::<http::request::Parts>().map(|p| p.uri.path().to_owned()).unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        String::new()
    }
}

/// A query parameter of the URL, decoded (`?lang=ur`, `?embed=1`).
pub fn query(name: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        super::browser::query_param(name)
    }
    #[cfg(all(feature = "ssr", not(feature = "hydrate")))]
    {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        query_in(parts.uri.query()?, name)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = name;
        None
    }
}

/// The first value of `name` in a query string, decoded as a browser's `URLSearchParams` does.
#[cfg(feature = "ssr")]
pub fn query_in(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Go to another page of the app (a full page load).
pub fn go_to(href: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(href);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = href;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_by_path() {
        assert_eq!(Page::of("/widget"), Page::Widget);
        assert_eq!(Page::of("/widget/"), Page::Widget);
        assert_eq!(Page::of("/conversations"), Page::History);
        assert_eq!(Page::of("/conversations/abc"), Page::Conversation("abc".into()));
        assert_eq!(Page::of("/conversations/"), Page::History);
        for p in ["/", "", "/widgets", "/conversations/a/b", "/admin", "/conversationsx"] {
            assert_eq!(Page::of(p), Page::NotFound, "{p}");
        }
    }

    #[test]
    fn every_page_route_leads_to_its_page() {
        let pages: Vec<Page> = PAGE_ROUTES.iter().map(|r| Page::of(&r.replace("{id}", "x"))).collect();
        assert_eq!(pages, [Page::Widget, Page::History, Page::Conversation("x".into())]);
    }

    #[test]
    fn query_values_are_decoded_like_a_browser_does() {
        assert_eq!(query_in("embed=1&lang=ur", "lang").as_deref(), Some("ur"));
        assert_eq!(query_in("q=a+b%2Fc&q=second", "q").as_deref(), Some("a b/c"));
        assert_eq!(query_in("embed", "embed").as_deref(), Some(""));
        assert_eq!(query_in("lang=ur", "embed"), None);
    }
}
