//! The HTML shell and the hydrated app: one of its pages, chosen by the URL's path.

use crate::ui::location::Page;
use crate::ui::pages::{ConversationPage, HistoryPage};
use crate::ui::widget::WidgetPage;
use leptos::prelude::*;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's inline scripts (hydration) carry a per-response nonce; hand it to the security
    // headers, which put it in the Content-Security-Policy instead of 'unsafe-inline'.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(v) = http::HeaderValue::from_str(&nonce) {
            res.insert_header(http::HeaderName::from_static(crate::server::http::security::NONCE_HEADER), v);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                // Keeps the server-rendered composer usable until the app has started.
                <script nonce=leptos::nonce::use_nonce() inner_html=crate::ui::early::SCRIPT></script>
                // The head is drawn once, on the server, and never hydrated: a page's title is
                // fixed by its path and language, so the widget carries no head-management
                // code (leptos_meta was ~5 KB brotli of its WebAssembly).
                // As `inner_html`: dynamic text would be followed by a hydration marker, which a
                // <title> shows literally. The titles are our own catalogue's, never user text.
                <title inner_html=page_title(&Page::current(), crate::ui::i18n::page_locale().strings())></title>
                // `id="leptos"`: cargo-leptos's live CSS reload (watch mode) finds it by this id.
                <link rel="stylesheet" id="leptos" href="/pkg/bookchat.css"/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The document title of a page, in the reader's language.
fn page_title(page: &Page, t: &crate::ui::i18n::Strings) -> &'static str {
    match page {
        Page::Widget => t.widget_label,
        Page::History => t.history_page_title,
        Page::Conversation(_) => t.conversation_page_title,
        Page::NotFound => "BookChat",
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        {match Page::current() {
            Page::Widget => view! { <WidgetPage/> }.into_any(),
            Page::History => view! { <HistoryPage/> }.into_any(),
            Page::Conversation(id) => view! { <ConversationPage id/> }.into_any(),
            // Unknown paths are answered 404 by the server's fallback.
            Page::NotFound => view! { <p class="bc-not-found">"Page not found."</p> }.into_any(),
        }}
    }
}
