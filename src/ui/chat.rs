//! The conversation panel: header with actions (`ChatHeader`), the message list (`MessageList`:
//! older messages load as you scroll up) and the composer (`Composer`: Enter sends, Shift+Enter
//! adds a line). They share the client state from context; the panel owns only the draft, which
//! the list's "Edit" gives back to the composer.

use super::browser::{self, KEY_DRAFT};
use super::common::{describe, icon, Icon, LinkTarget, MessageView};
use super::state::{self, ChatState};
use crate::model::{ConversationStatus, ExportFormat, MessageStatus, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use leptos::html;
use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PanelMode {
    /// Inside the floating widget (standalone `/widget`, or embedded in a host page).
    Widget { embedded: bool },
    /// The full `/conversations/:id` page.
    Page,
}

#[component]
pub fn ChatPanel(
    mode: PanelMode,
    #[prop(optional, into)] on_history: Option<Callback<()>>,
    #[prop(optional, into)] on_close: Option<Callback<()>>,
    #[prop(optional, into)] on_deleted: Option<Callback<()>>,
) -> impl IntoView {
    let state = ChatState::expect();
    let target = match mode {
        PanelMode::Widget { embedded: true } => LinkTarget::Top,
        _ => LinkTarget::Blank,
    };
    let t = state.t();
    // Text typed into the server-rendered composer before the app started is kept.
    let draft = RwSignal::new(super::early::take_draft().unwrap_or_default());
    view! {
        <section class="bc-chat" class:bc-page=mode == PanelMode::Page data-testid="chat">
            <ChatHeader on_history=on_history on_close=on_close on_deleted=on_deleted/>
            {move || state.notice.get().map(|n| view! {
                <div class="bc-notice" role="status" data-testid="notice">
                    <span>{n}</span>
                    <button type="button" class="bc-icon" aria-label=t.dismiss on:click=move |_| state.notice.set(None)>{icon(Icon::Close)}</button>
                </div>
            })}
            {move || state.share.get().map(|link| view! { <SharePanel link=link/> })}
            <super::common::SharedOffer opened=Callback::new(move |id: uuid::Uuid| state::open_conversation(state, id, None))/>
            <MessageList target=target draft=draft/>
            {move || state.quote.get().map(|q| view! {
                <div class="bc-quote-chip" data-testid="quote-chip">
                    <blockquote>{q}</blockquote>
                    <button type="button" class="bc-icon" aria-label=t.remove_quote on:click=move |_| state.quote.set(None)>{icon(Icon::Close)}</button>
                </div>
            })}
            // Offered where there is a chapter to keep to: on a page of the book.
            <Show when=move || state.page.with(|p| p.as_ref().is_some_and(|p| p.url.is_some()))>
                <label class="bc-scope-toggle">
                    <input type="checkbox" data-testid="chapter-only"
                        prop:checked=move || state.chapter_only.get()
                        on:change=move |ev| state.chapter_only.set(event_target_checked(&ev))/>
                    {t.chapter_only}
                </label>
            </Show>
            <Composer draft=draft/>
        </section>
    }
}

/// Title (renamable in place) and the conversation's actions.
#[component]
fn ChatHeader(on_history: Option<Callback<()>>, on_close: Option<Callback<()>>, on_deleted: Option<Callback<()>>) -> impl IntoView {
    let state = ChatState::expect();
    let t = state.t();
    let menu_open = RwSignal::new(false);
    let menu_button = NodeRef::<html::Button>::new();
    let renaming = RwSignal::new(None::<String>);
    let confirm_delete = RwSignal::new(false);
    let title = move || state.conversation.with(|c| c.as_ref().map(|c| c.title.clone()).unwrap_or_else(|| t.ask_the_book.to_owned()));
    let has_conversation = move || state.conversation.with(|c| c.is_some());
    let archived = move || state.conversation.with(|c| c.as_ref().is_some_and(|c| c.status == ConversationStatus::Archived));

    let save_rename = move || {
        if let Some(t) = renaming.get_untracked() {
            state::rename(state, t, move |ok| {
                if ok {
                    renaming.set(None);
                }
            });
        }
    };

    view! {
        <header class="bc-header">
            {move || match renaming.get() {
                Some(_) => view! {
                    <form class="bc-rename" on:submit=move |ev| { ev.prevent_default(); save_rename(); }>
                        <input
                            data-testid="rename-input"
                            aria-label=t.conversation_title
                            maxlength=MAX_TITLE_CHARS
                            prop:value=move || renaming.get().unwrap_or_default()
                            on:input=move |ev| renaming.set(Some(event_target_value(&ev)))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" {
                                // Cancels the rename only, not the whole panel (the widget closes on Escape).
                                ev.stop_propagation();
                                renaming.set(None);
                            }
                        />
                        <button type="submit" data-testid="rename-save">{t.save}</button>
                        <button type="button" on:click=move |_| renaming.set(None)>{t.cancel}</button>
                    </form>
                }.into_any(),
                None => view! { <h2 class="bc-title" data-testid="conversation-title">{title}</h2> }.into_any(),
            }}
            <div class="bc-actions">
                {on_history.map(|cb| view! {
                    <button type="button" class="bc-icon" data-testid="open-history" aria-label=t.your_conversations title=t.your_conversations
                        on:click=move |_| cb.run(())>"☰"</button>
                })}
                <button type="button" class="bc-icon" data-testid="new-conversation" aria-label=t.new_conversation title=t.new_conversation
                    on:click=move |_| { state::new_conversation(state); menu_open.set(false); }>"+"</button>
                <Show when=has_conversation>
                    // Escape closes an open menu (focus back on its button), not the whole panel.
                    <div class="bc-menu-wrap" on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                        if ev.key() == "Escape" && menu_open.get_untracked() {
                            ev.stop_propagation();
                            menu_open.set(false);
                            if let Some(b) = menu_button.get_untracked() {
                                let _ = b.focus();
                            }
                        }
                    }>
                        <button type="button" class="bc-icon" data-testid="conversation-menu" node_ref=menu_button aria-label=t.conversation_actions
                            aria-haspopup="menu" aria-expanded=move || menu_open.get().to_string()
                            on:click=move |_| { menu_open.update(|o| *o = !*o); confirm_delete.set(false); }>{icon(Icon::More)}</button>
                        <Show when=move || menu_open.get()>
                            <div class="bc-menu" role="menu">
                                <button type="button" role="menuitem" data-testid="rename" on:click=move |_| {
                                    renaming.set(state.conversation.get_untracked().map(|c| c.title));
                                    menu_open.set(false);
                                }>{t.rename}</button>
                                {move || if archived() {
                                    view! { <button type="button" role="menuitem" data-testid="unarchive" on:click=move |_| {
                                        state::set_status(state, ConversationStatus::Open); menu_open.set(false);
                                    }>{t.unarchive}</button> }.into_any()
                                } else {
                                    view! { <button type="button" role="menuitem" data-testid="archive" on:click=move |_| {
                                        state::set_status(state, ConversationStatus::Archived); menu_open.set(false);
                                    }>{t.archive}</button> }.into_any()
                                }}
                                <button type="button" role="menuitem" data-testid="share" on:click=move |_| {
                                    state::share(state); menu_open.set(false);
                                }>{t.share_link}</button>
                                <button type="button" role="menuitem" data-testid="export-md" on:click=move |_| {
                                    state::export(state, ExportFormat::Markdown); menu_open.set(false);
                                }>{t.export_markdown}</button>
                                <button type="button" role="menuitem" data-testid="export-json" on:click=move |_| {
                                    state::export(state, ExportFormat::Json); menu_open.set(false);
                                }>{t.export_json}</button>
                                {move || if confirm_delete.get() {
                                    view! { <button type="button" role="menuitem" class="bc-danger" data-testid="confirm-delete" on:click=move |_| {
                                        menu_open.set(false);
                                        confirm_delete.set(false);
                                        state::delete(state, move || if let Some(cb) = on_deleted { cb.run(()) });
                                    }>{t.really_delete}</button> }.into_any()
                                } else {
                                    view! { <button type="button" role="menuitem" class="bc-danger" data-testid="delete" on:click=move |_| confirm_delete.set(true)>{t.delete}</button> }.into_any()
                                }}
                            </div>
                        </Show>
                    </div>
                </Show>
                {on_close.map(|cb| view! {
                    <button type="button" class="bc-icon" data-testid="close" aria-label=t.close_chat title=t.close
                        on:click=move |_| cb.run(())>{icon(Icon::Close)}</button>
                })}
            </div>
        </header>
    }
}

/// The open conversation's read-only link: copy it, open it, or stop sharing.
#[component]
fn SharePanel(link: crate::model::ShareLink) -> impl IntoView {
    let state = ChatState::expect();
    let t = state.t();
    let url = format!("{}{}", browser::origin(), link.path);
    let copied = RwSignal::new(None::<bool>);
    let to_copy = url.clone();
    view! {
        <div class="bc-share" role="region" aria-label=t.share_region data-testid="share-panel">
            <p>{(t.share_note)(link.message_count)}</p>
            <div class="bc-share-row">
                <input readonly value=url.clone() aria-label=t.share_url_label data-testid="share-url"
                    on:focus=move |ev| { let _ = event_target::<leptos::web_sys::HtmlInputElement>(&ev).select(); }/>
                <button type="button" class="bc-chip" data-testid="share-copy" on:click=move |_| {
                    let text = to_copy.clone();
                    leptos::task::spawn_local(async move {
                        let ok = browser::copy_text(&text).await;
                        let _ = copied.try_set(Some(ok));
                    });
                }>{move || match copied.get() {
                    Some(true) => view! { {icon(Icon::Check)}{t.copied} }.into_any(),
                    Some(false) => view! { {t.copy_failed} }.into_any(),
                    None => view! { {icon(Icon::Copy)}{t.copy_link} }.into_any(),
                }}</button>
            </div>
            <div class="bc-share-row">
                <a href=url target="_blank" rel="noopener" data-testid="share-open">{t.open_shared}</a>
                <button type="button" class="bc-chip bc-danger" data-testid="share-revoke" on:click=move |_| state::unshare(state)>{t.stop_sharing}</button>
                <button type="button" class="bc-icon" aria-label=t.close data-testid="share-close" on:click=move |_| state.share.set(None)>{icon(Icon::Close)}</button>
            </div>
        </div>
    }
}

/// The messages, the question being answered (or its error, with Retry / Edit), and the
/// greeting with suggested questions while the conversation is empty.
#[component]
fn MessageList(target: LinkTarget, draft: RwSignal<String>) -> impl IntoView {
    let state = ChatState::expect();
    let t = state.t();
    let list_ref = NodeRef::<html::Div>::new();

    // Keep the newest message in view as messages arrive, or the searched-for one.
    Effect::new(move |_| {
        let n = state.messages.with(|m| m.len());
        let pending = state.pending.with(|p| p.is_some());
        let focus = state.focus.get();
        let _ = (n, pending);
        if state.loading_older.get_untracked() {
            return;
        }
        request_animation_frame(move || match focus {
            Some(id) => browser::scroll_into_view(&format!("m-{id}")),
            None => {
                if let Some(el) = list_ref.get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    });

    let on_scroll = move |_| {
        let Some(el) = list_ref.get_untracked() else { return };
        if el.scroll_top() < 48 && state.older_cursor.get_untracked().is_some() && !state.loading_older.get_untracked() {
            let before_height = el.scroll_height();
            state::load_older(state, move || {
                // Keep the reader's place: the list grew above them.
                request_animation_frame(move || {
                    if let Some(el) = list_ref.get_untracked() {
                        el.set_scroll_top(el.scroll_top() + el.scroll_height() - before_height);
                    }
                });
            });
        }
    };

    let pending_view = move || {
        state.pending.get().map(|p| {
            let failed = p.error.clone();
            view! {
                <article class="bc-msg bc-user bc-pending" data-testid="msg-pending">
                    <div class="bc-text">{p.content.clone()}</div>
                </article>
                {match failed {
                    None => view! {
                        <div class="bc-typing" data-testid="answering" role="status">
                            <span></span><span></span><span></span>
                            <span class="bc-sr">{t.answering}</span>
                        </div>
                    }.into_any(),
                    Some(e) => view! {
                        <div class="bc-error" role="alert" data-testid="send-error">
                            <p>{describe(&e, t)}</p>
                            <button type="button" data-testid="retry" on:click=move |_| state::retry(state)>{t.retry}</button>
                            <button type="button" on:click=move |_| {
                                // Give the text back to the composer instead of losing it.
                                if let Some(p) = state.pending.get_untracked() { draft.set(p.content); }
                                state.pending.set(None);
                            }>{t.edit}</button>
                        </div>
                    }.into_any(),
                }}
            }
        })
    };

    // The host's greeting (data-greeting), applied after hydration.
    let greeting = RwSignal::new(t.greeting.to_owned());
    Effect::new(move |_| {
        if let Some(g) = browser::query_param("greeting").filter(|g| !g.trim().is_empty()) {
            greeting.set(g.chars().take(300).collect());
        }
    });

    // Suggested questions from the headings of the page the reader is on.
    let suggestions = RwSignal::new(Vec::<String>::new());
    Effect::new(move |_| {
        let ready = state.ready.get();
        let url = state.page.with(|p| p.as_ref().and_then(|p| p.url.clone()));
        if ready {
            leptos::task::spawn_local(async move {
                if let Ok(s) = state::with_session(|| crate::api::suggest_questions(url.clone())).await {
                    suggestions.set(s.questions);
                }
            });
        }
    });

    let empty_view = move || {
        let empty = state.messages.with(|m| m.is_empty()) && state.pending.with(|p| p.is_none()) && !state.loading.get();
        empty.then(|| view! {
            <div class="bc-empty" data-testid="empty-state">
                <p class="bc-greeting" data-testid="greeting">{move || greeting.get()}</p>
                <div class="bc-suggestions">
                    {move || suggestions.get().into_iter().map(|q| {
                        let text = q.clone();
                        view! {
                            <button type="button" class="bc-chip" data-testid="suggestion"
                                on:click=move |_| state::send(state, text.clone())>{q}</button>
                        }
                    }).collect_view()}
                </div>
            </div>
        })
    };

    view! {
            <div class="bc-messages" node_ref=list_ref on:scroll=on_scroll data-testid="messages" aria-live="polite">
                {move || state.loading_older.get().then(|| view! { <p class="bc-muted">{t.loading_older}</p> })}
                {move || (state.conversation.with(|c| c.is_some()) && state.older_cursor.with(|c| c.is_none()) && !state.messages.with(|m| m.is_empty()))
                    .then(|| view! { <p class="bc-muted bc-start">{t.start_of_conversation}</p> })}
                {move || state.loading.get().then(|| view! { <p class="bc-muted" data-testid="loading">{t.loading}</p> })}
                {empty_view}
                <For
                    each=move || state.messages.get()
                    // While an answer streams its text updates in place (see MessageView): rebuilding the
                    // row per token would replace the Stop button between a click's mousedown and
                    // mouseup, and the click would be lost.
                    key=|m| {
                        let len = if m.status == MessageStatus::Streaming { 0 } else { m.content.len() };
                        (m.id, m.status.as_str(), len, m.feedback.as_ref().map(|f| (f.rating, f.comment.is_some())))
                    }
                    children=move |m| {
                        let id = m.id;
                        view! { <MessageView message=m target=target focused=Signal::derive(move || state.focus.get() == Some(id))/> }
                    }
                />
                {pending_view}
            </div>
    }
}

/// The question box: restores an unsent draft, sends on Enter.
#[component]
fn Composer(draft: RwSignal<String>) -> impl IntoView {
    let state = ChatState::expect();
    let t = state.t();
    let composer_ref = NodeRef::<html::Textarea>::new();

    // Restore an unsent draft once the page is interactive (unless the reader typed one into
    // the server-rendered composer, which is newer).
    Effect::new(move |_| {
        let typed = draft.with_untracked(|d| d.clone());
        if !typed.is_empty() {
            browser::storage_set(KEY_DRAFT, &typed);
        } else if let Some(d) = browser::storage_get(KEY_DRAFT) {
            draft.set(d);
        }
    });

    let submit = move || {
        let text = draft.get_untracked();
        if text.trim().is_empty() || state.busy() {
            return;
        }
        state::send(state, text);
        draft.set(String::new());
        browser::storage_remove(KEY_DRAFT);
        if let Some(el) = composer_ref.get_untracked() {
            let _ = el.focus();
        }
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        // Enter sends; Shift+Enter is a newline; never send mid-IME composition.
        if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
            ev.prevent_default();
            submit();
        }
    };

    view! {
            <form class="bc-composer" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                <textarea
                    node_ref=composer_ref
                    data-testid="composer"
                    aria-label=t.composer_label
                    placeholder=t.composer_placeholder
                    rows="2"
                    maxlength=MAX_MESSAGE_CHARS
                    prop:value=move || draft.get()
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        browser::storage_set(KEY_DRAFT, &v);
                        draft.set(v);
                    }
                    on:keydown=on_keydown
                ></textarea>
                <button type="submit" class="bc-send" data-testid="send" aria-label=t.send
                    disabled=move || !state.ready.get() || state.busy() || draft.with(|d| d.trim().is_empty())>"➤"</button>
            </form>
    }
}
