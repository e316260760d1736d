//! The reader's past conversations: grouped by recency, loaded page by page as the list is
//! scrolled, searchable (server-side full text over titles and messages), with an archive tab.

use super::common::{describe, format_time, highlighted, Recency};
use super::state::{with_session, ChatState};
use crate::api;
use crate::error::AppError;
use crate::model::{ConversationSummary, SearchHit};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;
use uuid::Uuid;

/// How a conversation is opened from the list.
#[derive(Clone, Copy)]
pub enum OpenWith {
    /// Full page: plain links to `/conversations/:id` (work without JavaScript too).
    Links,
    /// Widget: a callback (conversation, message to focus).
    Callback(Callback<(Uuid, Option<i64>)>),
}

#[component]
pub fn HistoryList(open_with: OpenWith, #[prop(optional, into)] on_back: Option<Callback<()>>) -> impl IntoView {
    let state = ChatState::expect();
    let t = state.t();
    let items = RwSignal::new(Vec::<ConversationSummary>::new());
    let cursor = RwSignal::new(None::<String>);
    let exhausted = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let archived = RwSignal::new(false);
    let query = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Vec<SearchHit>>);
    let debounce = StoredValue::new(None::<TimeoutHandle>);
    let list_ref = NodeRef::<html::Div>::new();
    // Each (re)load gets a generation so a slow stale page cannot land in a newer list.
    let generation = StoredValue::new(0u32);

    let load_page = move |reset: bool| {
        if loading.get_untracked() && !reset {
            return;
        }
        if reset {
            generation.update_value(|g| *g += 1);
            cursor.set(None);
            exhausted.set(false);
        } else if exhausted.get_untracked() {
            return;
        }
        let gen = generation.get_value();
        let after = cursor.get_untracked();
        let arch = archived.get_untracked();
        loading.set(true);
        spawn_local(async move {
            let page = with_session(|| api::list_conversations(after.clone(), Some(20), Some(arch))).await;
            if generation.get_value() != gen {
                return;
            }
            match page {
                Ok(p) => {
                    if reset {
                        items.set(p.items);
                    } else {
                        items.update(|i| i.extend(p.items));
                    }
                    exhausted.set(p.next_cursor.is_none());
                    cursor.set(p.next_cursor);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            loading.set(false);
        });
    };

    // (Re)load when the session is ready, the tab changes, or a conversation changed.
    Effect::new(move |_| {
        let ready = state.ready.get();
        state.history_version.track();
        archived.track();
        if ready {
            load_page(true);
        }
    });

    let run_search = move |q: String| {
        if q.trim().is_empty() {
            results.set(None);
            return;
        }
        spawn_local(async move {
            match with_session(|| api::search_history(q.clone())).await {
                Ok(hits) => {
                    // Only show results for what is still in the box.
                    if query.get_untracked() == q {
                        results.set(Some(hits));
                    }
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let on_search_input = move |ev: leptos::ev::Event| {
        let q = event_target_value(&ev);
        query.set(q.clone());
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(move || run_search(q), Duration::from_millis(250)).ok();
        debounce.set_value(handle);
    };

    let on_scroll = move |_| {
        if let Some(el) = list_ref.get_untracked() {
            if el.scroll_top() + el.client_height() >= el.scroll_height() - 80 {
                load_page(false);
            }
        }
    };

    let erase = move |_: ()| {
        spawn_local(async move {
            match with_session(api::delete_my_data).await {
                Ok(_) => {
                    super::state::reset(state).await;
                    state.notice.set(Some(t.my_data_deleted.to_owned()));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let delete_all = move |_: ()| {
        spawn_local(async move {
            match with_session(api::delete_all_conversations).await {
                Ok(_) => {
                    super::state::new_conversation(state);
                    state.notice.set(Some(t.all_conversations_deleted.to_owned()));
                    state.history_version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    let item_view = move |c: ConversationSummary| conversation_item(c, open_with, state.locale);
    let hit_view = move |h: SearchHit| search_result(h, open_with, state.locale);

    let groups = move || {
        let now = super::browser::now_millis();
        let offset = super::browser::zone_offset_minutes(now);
        let mut out: Vec<(Recency, Vec<ConversationSummary>)> = Vec::new();
        for c in items.get() {
            let r = Recency::of(crate::model::Instant::epoch_millis(&c.last_message_at), now, offset);
            match out.last_mut() {
                Some((g, list)) if *g == r => list.push(c),
                _ => out.push((r, vec![c])),
            }
        }
        out
    };

    view! {
        <section class="bc-history" data-testid="history">
            <header class="bc-header">
                {on_back.map(|cb| view! {
                    <button type="button" class="bc-icon" data-testid="history-back" aria-label=t.back_to_chat on:click=move |_| cb.run(())>
                        {if state.locale.dir() == "rtl" { "→" } else { "←" }}
                    </button>
                })}
                <h2 class="bc-title">{t.your_conversations}</h2>
            </header>
            <div class="bc-history-tools">
                <input type="search" data-testid="history-search" placeholder=t.search_conversations
                    aria-label=t.search_conversations maxlength=crate::model::MAX_SEARCH_CHARS
                    prop:value=move || query.get() on:input=on_search_input
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Enter" { ev.prevent_default(); run_search(query.get_untracked()); }
                />
                <div class="bc-tabs" role="tablist">
                    <button type="button" role="tab" data-testid="tab-active" aria-selected=move || (!archived.get()).to_string()
                        on:click=move |_| archived.set(false)>{t.tab_active}</button>
                    <button type="button" role="tab" data-testid="tab-archived" aria-selected=move || archived.get().to_string()
                        on:click=move |_| archived.set(true)>{t.tab_archived}</button>
                </div>
            </div>
            {move || error.get().map(|e| view! { <div class="bc-error" role="alert">{describe(&e, t)}</div> })}
            {move || state.notice.get().map(|n| view! { <div class="bc-notice" role="status" data-testid="notice"><span>{n}</span></div> })}
            <div class="bc-history-list" node_ref=list_ref on:scroll=on_scroll>
                {move || match results.get() {
                    Some(hits) if hits.is_empty() => view! { <p class="bc-muted" data-testid="no-results">{t.no_matches}</p> }.into_any(),
                    Some(hits) => view! { <ul class="bc-list">{hits.into_iter().map(hit_view).collect_view()}</ul> }.into_any(),
                    None => view! {
                        {move || groups().into_iter().map(|(g, list)| view! {
                            <h3 class="bc-group" data-testid="history-group">{g.label(t)}</h3>
                            <ul class="bc-list">{list.into_iter().map(item_view).collect_view()}</ul>
                        }).collect_view()}
                        {move || (items.with(|i| i.is_empty()) && !loading.get() && state.ready.get()).then(|| view! {
                            <p class="bc-muted" data-testid="history-empty">
                                {move || if archived.get() { t.nothing_archived } else { t.no_conversations }}
                            </p>
                        })}
                        {move || loading.get().then(|| view! { <p class="bc-muted">{t.loading}</p> })}
                        {move || (!exhausted.get() && !loading.get() && !items.with(|i| i.is_empty())).then(|| view! {
                            <button type="button" class="bc-more" data-testid="load-more" on:click=move |_| load_page(false)>{t.load_more}</button>
                        })}
                    }.into_any(),
                }}
            </div>
            <footer class="bc-history-footer">
                <ConfirmAction
                    label=t.delete_all_conversations testid="delete-all"
                    question=t.delete_all_confirm
                    confirm=t.delete_all confirm_testid="confirm-delete-all"
                    on_confirm=Callback::new(delete_all)
                />
                <ConfirmAction
                    label=t.delete_my_data testid="erase"
                    question=t.delete_my_data_confirm
                    confirm=t.delete_my_data_button confirm_testid="confirm-erase"
                    on_confirm=Callback::new(erase)
                />
            </footer>
        </section>
    }
}

/// A destructive action behind a second click: a quiet link, then the question with
/// confirm / cancel.
#[component]
fn ConfirmAction(
    label: &'static str,
    testid: &'static str,
    question: &'static str,
    confirm: &'static str,
    confirm_testid: &'static str,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let cancel = ChatState::expect().t().cancel;
    move || {
        if asking.get() {
            view! {
                <span>{question}</span>
                <button type="button" class="bc-danger" data-testid=confirm_testid
                    on:click=move |_| { asking.set(false); on_confirm.run(()); }>{confirm}</button>
                <button type="button" on:click=move |_| asking.set(false)>{cancel}</button>
            }
            .into_any()
        } else {
            view! { <button type="button" class="bc-link" data-testid=testid on:click=move |_| asking.set(true)>{label}</button> }.into_any()
        }
    }
}

/// One conversation in the list: a link on the full page, a button in the widget.
fn conversation_item(c: ConversationSummary, open_with: OpenWith, locale: super::i18n::Locale) -> AnyView {
    let meta = format!("{} · {}", (locale.strings().messages_count)(c.message_count), format_time(&c.last_message_at, locale));
    let id = c.id;
    match open_with {
        OpenWith::Links => view! {
            <li><a class="bc-conv" data-testid="history-item" href=format!("/conversations/{id}{}", locale.query())>
                <span class="bc-conv-title">{c.title.clone()}</span><span class="bc-conv-meta">{meta}</span>
            </a></li>
        }
        .into_any(),
        OpenWith::Callback(cb) => view! {
            <li><button type="button" class="bc-conv" data-testid="history-item" on:click=move |_| cb.run((id, None))>
                <span class="bc-conv-title">{c.title.clone()}</span><span class="bc-conv-meta">{meta}</span>
            </button></li>
        }
        .into_any(),
    }
}

/// One search hit: the conversation, who said it, and the matching words highlighted.
fn search_result(h: SearchHit, open_with: OpenWith, locale: super::i18n::Locale) -> AnyView {
    let t = locale.strings();
    let who = match h.role {
        Some(crate::model::Role::User) => t.you,
        Some(crate::model::Role::Assistant) => t.bookchat,
        None => t.title_match,
    };
    let body = view! {
        <span class="bc-conv-title">{h.conversation_title.clone()}</span>
        <span class="bc-hit"><b>{who}": "</b>{highlighted(&h.snippet)}</span>
    };
    match open_with {
        OpenWith::Links => {
            let href = match h.message_id {
                Some(m) => format!("/conversations/{}{}#m-{m}", h.conversation_id, locale.query()),
                None => format!("/conversations/{}{}", h.conversation_id, locale.query()),
            };
            view! { <li><a class="bc-conv" data-testid="search-result" href=href>{body}</a></li> }.into_any()
        }
        OpenWith::Callback(cb) => {
            let (cid, mid) = (h.conversation_id, h.message_id);
            view! { <li><button type="button" class="bc-conv" data-testid="search-result" on:click=move |_| cb.run((cid, mid))>{body}</button></li> }.into_any()
        }
    }
}
