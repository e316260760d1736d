//! Full pages: `/conversations` (the history browser) and `/conversations/:id` (read and
//! continue one conversation).

use super::browser;
use super::chat::{ChatPanel, PanelMode};
use super::history::{HistoryList, OpenWith};
use super::state::{self, ChatState};
use leptos::prelude::*;
use super::location::go_to;
use uuid::Uuid;

#[component]
pub fn HistoryPage() -> impl IntoView {
    let state = ChatState::provide();
    Effect::new(move |_| {
        browser::mark("data-hydrated");
        // `?continue=ID`: a shared conversation's "Continue this conversation".
        let shared = browser::query_param("continue").filter(|s| !s.is_empty());
        state::init(state, move || {
            if let Some(share_id) = shared {
                browser::clear_query();
                state::offer_shared(state, share_id, move |id| go_to(&format!("/conversations/{id}")));
            }
        });
        browser::on_token_change(move || {
            browser::storage_get(browser::KEY_TOKEN).map(|t| crate::api::client::set_session_token(Some(t)));
            state.history_version.update(|v| *v += 1);
        });
    });
    view! {
        <main class="bc-fullpage" lang=state.locale.tag() dir=state.locale.dir()>
            <super::common::SharedOffer opened=Callback::new(move |id: Uuid| go_to(&format!("/conversations/{id}")))/>
            <HistoryList open_with=OpenWith::Links/>
        </main>
    }
}

#[component]
pub fn ConversationPage(
    /// The conversation's id as written in the path (checked here: a bad link gets a notice).
    id: String,
) -> impl IntoView {
    let state = ChatState::provide();
    let t = state.t();
    let id = Uuid::parse_str(&id).ok();
    Effect::new(move |_| {
        browser::mark("data-hydrated");
        let focus = browser::location_hash().and_then(|h| h.strip_prefix("m-").and_then(|n| n.parse::<i64>().ok()));
        state::init(state, move || match id {
            Some(id) => state::open_conversation(state, id, focus),
            None => state.notice.set(Some(t.bad_conversation_link.to_owned())),
        });
    });
    // Links within the full pages keep the interface language.
    let back_href = format!("/conversations{}", state.locale.query());
    let back = back_href.clone();
    let on_deleted = Callback::new(move |_| go_to(&back));
    view! {
        <main class="bc-fullpage" lang=state.locale.tag() dir=state.locale.dir()>
            <nav class="bc-crumbs"><a href=back_href data-testid="back-to-history">{t.all_conversations}</a></nav>
            <ChatPanel mode=PanelMode::Page on_deleted=on_deleted/>
        </main>
    }
}
