//! The HTML shell and the hydrated app: one of its pages, chosen by the URL's path.

use crate::ui::location::Page;
use crate::ui::pages::{ConversationPage, HistoryPage};
use crate::ui::widget::WidgetPage;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};

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
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/bookchat.css"/>
        <Title text="BookChat"/>
        {match Page::current() {
            Page::Widget => view! { <WidgetPage/> }.into_any(),
            Page::History => view! { <HistoryPage/> }.into_any(),
            Page::Conversation(id) => view! { <ConversationPage id/> }.into_any(),
            // Unknown paths are answered 404 by the server's fallback.
            Page::NotFound => view! { <p class="bc-not-found">"Page not found."</p> }.into_any(),
        }}
    }
}
