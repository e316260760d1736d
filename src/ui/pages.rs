//! Full pages: `/conversations` (the history browser) and `/conversations/:id` (read and
//! continue one conversation).

use super::browser;
use super::chat::{ChatPanel, PanelMode};
use super::history::{HistoryList, OpenWith};
use super::state::{self, ChatState};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;

#[component]
pub fn HistoryPage() -> impl IntoView {
    let state = ChatState::provide();
    let navigate = use_navigate();
    Effect::new(move |_| {
        browser::mark("data-hydrated");
        // `?continue=ID`: a shared conversation's "Continue this conversation".
        let shared = browser::query_param("continue").filter(|s| !s.is_empty());
        let navigate = navigate.clone();
        state::init(state, move || {
            if let Some(share_id) = shared {
                browser::clear_query();
                state::continue_shared(state, share_id, move |id| navigate(&format!("/conversations/{id}"), Default::default()));
            }
        });
        browser::on_token_change(move || {
            browser::storage_get(browser::KEY_TOKEN).map(|t| crate::api::client::set_session_token(Some(t)));
            state.history_version.update(|v| *v += 1);
        });
    });
    view! {
        <Title text="Your conversations · BookChat"/>
        <main class="bc-fullpage">
            <HistoryList open_with=OpenWith::Links/>
        </main>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let state = ChatState::provide();
    let params = use_params_map();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let id = params.with(|p| p.get("id")).and_then(|s| Uuid::parse_str(&s).ok());
        browser::mark("data-hydrated");
        let focus = browser::location_hash().and_then(|h| h.strip_prefix("m-").and_then(|n| n.parse::<i64>().ok()));
        state::init(state, move || match id {
            Some(id) => state::open_conversation(state, id, focus),
            None => state.notice.set(Some("That conversation link is not valid.".to_owned())),
        });
    });
    let on_deleted = Callback::new(move |_| navigate("/conversations", Default::default()));
    view! {
        <Title text="Conversation · BookChat"/>
        <main class="bc-fullpage">
            <nav class="bc-crumbs"><a href="/conversations" data-testid="back-to-history">"← All conversations"</a></nav>
            <ChatPanel mode=PanelMode::Page on_deleted=on_deleted/>
        </main>
    }
}
