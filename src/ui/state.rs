//! Client-side state of the chat and the actions that change it. All data is fetched after
//! hydration (the server cannot know the reader: the session token lives in browser storage).

use super::browser::{self, KEY_CONVERSATION, KEY_TOKEN};
use crate::api::{self, client::session_token, client::set_session_token};
use crate::error::AppError;
use crate::model::{ConversationStatus, ConversationSummary, ExportFormat, Message, MessageStatus, PageContext, StreamEvent};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::future::Future;
use uuid::Uuid;

/// A question on its way (or failed on its way): shown below the stored messages with its
/// state, and re-sent with the same client id on retry, so the server stores it once.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub client_id: Uuid,
    pub conversation_id: Option<Uuid>,
    pub content: String,
    pub context: Option<PageContext>,
    /// Search only the chapter of the page the reader is on.
    pub chapter_only: bool,
    pub error: Option<AppError>,
}

#[derive(Clone, Copy)]
pub struct ChatState {
    /// The session is established and calls can be made.
    pub ready: RwSignal<bool>,
    /// A problem that blocks the whole widget (cannot start a session).
    pub fatal: RwSignal<Option<AppError>>,
    /// Starting the session was refused for now (many readers behind one address, the server
    /// busy or out of reach) and is retried on its own: the widget says it is starting.
    pub starting: RwSignal<bool>,
    pub conversation: RwSignal<Option<ConversationSummary>>,
    pub messages: RwSignal<Vec<Message>>,
    pub older_cursor: RwSignal<Option<i64>>,
    pub loading: RwSignal<bool>,
    pub loading_older: RwSignal<bool>,
    pub pending: RwSignal<Option<Pending>>,
    /// A short message about the last action (rename failed, exported…).
    pub notice: RwSignal<Option<String>>,
    /// Bumped whenever the history list should reload.
    pub history_version: RwSignal<u32>,
    /// Message to scroll to and highlight after opening a conversation from search.
    pub focus: RwSignal<Option<i64>>,
    /// The host page the reader is on (sent by the embed loader), travels with each question.
    pub page: RwSignal<Option<PageContext>>,
    /// A passage the reader selected on the host page, attached to the next question.
    pub quote: RwSignal<Option<String>>,
    /// The interface language (from the page's `lang`).
    pub locale: super::i18n::Locale,
    /// "This chapter only": questions search only the chapter of the page the reader is on.
    /// Remembered per conversation (reopening one restores it from its last question).
    pub chapter_only: RwSignal<bool>,
    /// The open conversation's shared link, while the share panel shows it.
    pub share: RwSignal<Option<crate::model::ShareLink>>,
    /// A shared conversation a link offers to continue, waiting for the reader to say yes: a link
    /// alone never puts someone else's conversation into the reader's history.
    pub offered_share: RwSignal<Option<String>>,
    /// Answers this page is currently following (so one stream per answer).
    following: StoredValue<Vec<i64>>,
}

impl ChatState {
    pub fn new(locale: super::i18n::Locale) -> Self {
        ChatState {
            locale,
            ready: RwSignal::new(false),
            fatal: RwSignal::new(None),
            starting: RwSignal::new(false),
            conversation: RwSignal::new(None),
            messages: RwSignal::new(Vec::new()),
            older_cursor: RwSignal::new(None),
            loading: RwSignal::new(false),
            loading_older: RwSignal::new(false),
            pending: RwSignal::new(None),
            notice: RwSignal::new(None),
            history_version: RwSignal::new(0),
            focus: RwSignal::new(None),
            page: RwSignal::new(None),
            quote: RwSignal::new(None),
            share: RwSignal::new(None),
            offered_share: RwSignal::new(None),
            chapter_only: RwSignal::new(false),
            following: StoredValue::new(Vec::new()),
        }
    }

    /// The state of one page, in the page's language.
    pub fn provide() -> Self {
        let s = ChatState::new(super::i18n::page_locale());
        provide_context(s);
        s
    }

    pub fn expect() -> Self {
        expect_context::<ChatState>()
    }

    /// The interface's strings, in the reader's language.
    pub fn t(&self) -> &'static super::i18n::Strings {
        self.locale.strings()
    }

    /// Tell the reader that an action failed, in their language.
    pub fn fail(&self, e: &AppError) {
        self.notice.set(Some(super::common::describe(e, self.t())));
    }

    /// A question is on its way or an answer is being written: sending waits.
    pub fn busy(&self) -> bool {
        self.pending.with(|p| p.as_ref().is_some_and(|p| p.error.is_none())) || self.streaming_answer().is_some()
    }

    /// The answer currently being written, if any.
    pub fn streaming_answer(&self) -> Option<i64> {
        self.messages
            .with(|m| m.iter().rev().find(|m| m.status == MessageStatus::Streaming).map(|m| m.id))
    }

    fn replace_message(&self, msg: Message) {
        self.messages.update(|list| {
            if let Some(slot) = list.iter_mut().find(|m| m.id == msg.id) {
                *slot = msg;
            }
        });
    }
}

impl Default for ChatState {
    fn default() -> Self {
        Self::new(super::i18n::Locale::En)
    }
}

/// Changes of who the session belongs to (start, identify, reset) run one at a time, and a
/// question waits for the one under way: the host page fires `identify` and `ask` together on
/// its first load, and the question must go out with the session it ends up in.
static SESSION_GATE: std::sync::LazyLock<futures::lock::Mutex<()>> = std::sync::LazyLock::new(|| futures::lock::Mutex::new(()));

thread_local! {
    /// Whether the session belongs to a host user (not a guest).
    static SIGNED_IN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn set_signed_in(user: &Option<crate::model::UserInfo>) {
    SIGNED_IN.with(|s| s.set(user.is_some()));
}

/// Resume the stored session or start a new one, and remember its token.
pub async fn ensure_session() -> Result<(), AppError> {
    let _gate = SESSION_GATE.lock().await;
    start_session().await
}

async fn start_session() -> Result<(), AppError> {
    set_session_token(browser::storage_get(KEY_TOKEN));
    let info = api::start_session().await?;
    if let Some(token) = info.token {
        browser::storage_set(KEY_TOKEN, &token);
        set_session_token(Some(token));
    }
    set_signed_in(&info.user);
    Ok(())
}

/// Run a call; if the session expired meanwhile, start a new one and try once more. A token
/// rotated by another task while the call was on its way (identify) is simply used instead.
pub async fn with_session<T, Fut>(call: impl Fn() -> Fut) -> Result<T, AppError>
where
    Fut: Future<Output = Result<T, AppError>>,
{
    let used = session_token();
    match call().await {
        Err(AppError::Unauthorized) => {
            let gate = SESSION_GATE.lock().await;
            if session_token() == used {
                browser::storage_remove(KEY_TOKEN);
                start_session().await?;
            }
            drop(gate);
            call().await
        }
        other => other,
    }
}

/// Wait for a change of session under way (identify, reset) before a question goes out —
/// and, when the host page announced it will say who is reading, for that (a few seconds at
/// most).
async fn settled_session() {
    host_identity().await;
    drop(SESSION_GATE.lock().await);
}

thread_local! {
    static HOST_IDENTITY: std::cell::RefCell<Option<futures::future::Shared<futures::channel::oneshot::Receiver<()>>>> =
        const { std::cell::RefCell::new(None) };
    static HOST_IDENTITY_DONE: std::cell::RefCell<Option<futures::channel::oneshot::Sender<()>>> = const { std::cell::RefCell::new(None) };
}

/// The host page will identify the reader (or say nobody is signed in): nothing of the stored
/// session is shown, and no question sent, until it has.
pub fn expect_host_identity() {
    use futures::FutureExt;
    let (tx, rx) = futures::channel::oneshot::channel();
    HOST_IDENTITY.with(|h| *h.borrow_mut() = Some(rx.shared()));
    HOST_IDENTITY_DONE.with(|d| *d.borrow_mut() = Some(tx));
}

/// Wait until the announced host identity has been applied (at most three seconds).
pub async fn host_identity() {
    let Some(wait) = HOST_IDENTITY.with(|h| h.borrow().clone()) else { return };
    let timeout = Box::pin(sleep(std::time::Duration::from_secs(3)));
    let _ = futures::future::select(wait, timeout).await;
}

/// After the page's start: wait for the host's identity like [`host_identity`]; when it does not
/// come in time (a slow or failing identity endpoint) and the stored session is a signed-in
/// reader's, start a fresh guest instead — on a shared computer that reader may have signed out,
/// and nothing of theirs may show. An identity that arrives later still signs the reader in.
pub async fn settle_host_identity(state: ChatState) {
    let Some(wait) = HOST_IDENTITY.with(|h| h.borrow().clone()) else { return };
    let timeout = Box::pin(sleep(std::time::Duration::from_secs(3)));
    let arrived = matches!(futures::future::select(wait, timeout).await, futures::future::Either::Left(_));
    if arrived || !SIGNED_IN.with(|s| s.get()) {
        return;
    }
    let _gate = SESSION_GATE.lock().await;
    browser::storage_remove(KEY_TOKEN);
    browser::storage_remove(KEY_CONVERSATION);
    set_session_token(None);
    SIGNED_IN.with(|s| s.set(false));
    if let Err(e) = start_session().await {
        state.fatal.set(Some(e));
    }
    state.history_version.update(|v| *v += 1);
}

fn host_identity_done() {
    if let Some(tx) = HOST_IDENTITY_DONE.with(|d| d.borrow_mut().take()) {
        let _ = tx.send(());
    }
}

/// How often starting a session is tried before the widget gives up and says why.
const START_ATTEMPTS: u32 = 8;

/// Establish the session once per page, then run `then` (e.g. restore the open conversation).
/// A refusal that passes (a rate limit shared by a classroom behind one address, a busy or
/// unreachable server) is retried on its own after what the server asked (`Retry-After`) or a
/// growing pause, while the widget says it is starting — the reader sent nothing, so nothing
/// is said about sending too fast.
pub fn init(state: ChatState, then: impl FnOnce() + 'static) {
    spawn_local(async move {
        let mut attempt = 0;
        loop {
            match ensure_session().await {
                Ok(()) => {
                    state.starting.set(false);
                    state.ready.set(true);
                    browser::mark("data-ready");
                    then();
                    return;
                }
                Err(e) if attempt + 1 < START_ATTEMPTS && passing(&e) => {
                    state.starting.set(true);
                    let asked = match &e {
                        AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs } => *retry_after_secs,
                        _ => 0,
                    };
                    // 1, 2, 4, 8… s, at most 30 s; never sooner than the server asked.
                    let backoff = 1u64 << attempt.min(5);
                    sleep(std::time::Duration::from_secs(asked.max(backoff).min(30))).await;
                    attempt += 1;
                }
                Err(e) => {
                    state.starting.set(false);
                    state.fatal.set(Some(e));
                    return;
                }
            }
        }
    });
}

/// A refusal that a later try may not get.
fn passing(e: &AppError) -> bool {
    matches!(e, AppError::RateLimited { .. } | AppError::Busy { .. } | AppError::Unavailable { .. } | AppError::Network { .. })
}

thread_local! {
    static RESTORED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Reopen the conversation the reader had open before this page (once per page).
pub fn restore_open_conversation(state: ChatState) {
    if RESTORED.with(|r| r.replace(true)) {
        return;
    }
    if state.conversation.get_untracked().is_none() {
        if let Some(id) = browser::storage_get(KEY_CONVERSATION).and_then(|s| Uuid::parse_str(&s).ok()) {
            open_conversation(state, id, None);
        }
    }
}

pub fn new_conversation(state: ChatState) {
    state.conversation.set(None);
    state.share.set(None);
    state.chapter_only.set(false);
    state.messages.set(Vec::new());
    state.older_cursor.set(None);
    state.pending.set(None);
    state.focus.set(None);
    browser::storage_remove(KEY_CONVERSATION);
}

/// Open a conversation at its newest messages; with `focus`, keep loading older pages until
/// that message is on screen (search results link to a message).
pub fn open_conversation(state: ChatState, id: Uuid, focus: Option<i64>) {
    state.loading.set(true);
    state.share.set(None);
    state.pending.set(None);
    state.focus.set(focus);
    spawn_local(async move {
        let first = with_session(|| api::load_messages(id, None, Some(30))).await;
        match first {
            Ok(mut page) => {
                browser::storage_set(KEY_CONVERSATION, &id.to_string());
                let mut cursor = page.older_cursor;
                if let Some(target) = focus {
                    let mut rounds = 0;
                    while !page.messages.iter().any(|m| m.id == target) && cursor.is_some() && rounds < 20 {
                        match with_session(|| api::load_messages(id, cursor, Some(100))).await {
                            Ok(older) => {
                                cursor = older.older_cursor;
                                let mut msgs = older.messages;
                                msgs.append(&mut page.messages);
                                page.messages = msgs;
                            }
                            Err(_) => break,
                        }
                        rounds += 1;
                    }
                }
                let streaming: Vec<i64> =
                    page.messages.iter().filter(|m| m.status == MessageStatus::Streaming).map(|m| m.id).collect();
                state.conversation.set(Some(page.conversation));
                let scoped = page.messages.iter().rev().find(|m| m.role == crate::model::Role::User).is_some_and(|m| m.scope.is_some());
                state.chapter_only.set(scoped);
                state.messages.set(page.messages);
                state.older_cursor.set(cursor);
                // An answer still being written (e.g. the page was reloaded meanwhile): resume it.
                for id in streaming {
                    follow(state, id);
                }
            }
            Err(AppError::NotFound { .. }) => {
                // Deleted elsewhere (or never ours): start fresh rather than show an error.
                new_conversation(state);
            }
            Err(e) => state.fail(&e),
        }
        state.loading.set(false);
    });
}

/// Load the page of messages before the oldest one shown.
pub fn load_older(state: ChatState, after: impl FnOnce() + 'static) {
    let (Some(conv), Some(cursor)) = (state.conversation.get_untracked(), state.older_cursor.get_untracked()) else {
        return;
    };
    if state.loading_older.get_untracked() {
        return;
    }
    state.loading_older.set(true);
    spawn_local(async move {
        match with_session(|| api::load_messages(conv.id, Some(cursor), Some(30))).await {
            Ok(page) => {
                state.messages.update(|m| {
                    let mut older = page.messages;
                    older.append(m);
                    *m = older;
                });
                state.older_cursor.set(page.older_cursor);
                after();
            }
            Err(e) => state.fail(&e),
        }
        state.loading_older.set(false);
    });
}

/// Send a question (or re-send the failed pending one with its original client id). The host
/// page and any selected passage travel with it.
pub fn send(state: ChatState, content: String) {
    if state.busy() || content.trim().is_empty() {
        return;
    }
    let mut context = state.page.get_untracked().unwrap_or_default();
    context.selection = state.quote.get_untracked();
    let context = (context != PageContext::default()).then_some(context);
    let chapter_only = state.chapter_only.get_untracked() && context.as_ref().is_some_and(|c| c.url.is_some());
    state.quote.set(None);
    let pending = Pending {
        client_id: browser::new_uuid(),
        conversation_id: state.conversation.get_untracked().map(|c| c.id),
        content,
        context,
        chapter_only,
        error: None,
    };
    dispatch(state, pending);
}

pub fn retry(state: ChatState) {
    if let Some(mut p) = state.pending.get_untracked() {
        p.error = None;
        dispatch(state, p);
    }
}

fn dispatch(state: ChatState, p: Pending) {
    state.pending.set(Some(p.clone()));
    spawn_local(async move {
        settled_session().await;
        // A send that failed in transit is retried with the same client id: the server stores
        // it once whether or not the first attempt arrived.
        let mut attempt = 0;
        let result = loop {
            let r = with_session(|| api::send_message(p.conversation_id, p.client_id, p.content.clone(), p.context.clone(), Some(false), Some(p.chapter_only)))
                .await;
            match r {
                Err(AppError::Network { .. } | AppError::Unavailable { .. }) if attempt < 3 => {
                    attempt += 1;
                    sleep(std::time::Duration::from_millis(700 * attempt)).await;
                }
                other => break other,
            }
        };
        match result {
            Ok(r) => {
                let new_conversation = state.conversation.get_untracked().map(|c| c.id) != Some(r.conversation.id);
                browser::storage_set(KEY_CONVERSATION, &r.conversation.id.to_string());
                state.conversation.set(Some(r.conversation));
                state.messages.update(|m| {
                    if new_conversation {
                        m.clear();
                    }
                    m.retain(|x| x.id != r.question.id && x.id != r.answer.id);
                    m.push(r.question);
                    m.push(r.answer.clone());
                });
                state.pending.set(None);
                state.history_version.update(|v| *v += 1);
                if r.answer.status == MessageStatus::Streaming {
                    follow(state, r.answer.id);
                } else {
                    announce(&r.answer);
                }
            }
            Err(e) => state.pending.set(Some(Pending { error: Some(e), ..p })),
        }
    });
}

pub fn rename(state: ChatState, title: String, done: impl FnOnce(bool) + 'static) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::rename_conversation(conv.id, title.clone())).await {
            Ok(c) => {
                state.conversation.set(Some(c));
                state.notice.set(None);
                state.history_version.update(|v| *v += 1);
                done(true);
            }
            Err(e) => {
                state.fail(&e);
                done(false);
            }
        }
    });
}

pub fn set_status(state: ChatState, status: ConversationStatus) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::set_conversation_status(conv.id, status)).await {
            Ok(c) => {
                state.notice.set(Some(match status {
                    ConversationStatus::Archived => state.t().archived_notice.to_owned(),
                    _ => state.t().restored_notice.to_owned(),
                }));
                state.conversation.set(Some(c));
                state.history_version.update(|v| *v += 1);
            }
            Err(e) => state.fail(&e),
        }
    });
}

pub fn delete(state: ChatState, done: impl FnOnce() + 'static) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::delete_conversation(conv.id)).await {
            Ok(()) | Err(AppError::NotFound { .. }) => {
                new_conversation(state);
                state.history_version.update(|v| *v += 1);
                state.notice.set(Some(state.t().deleted_notice.to_owned()));
                done();
            }
            Err(e) => state.fail(&e),
        }
    });
}

pub fn export(state: ChatState, format: ExportFormat) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::export_conversation(conv.id, format)).await {
            Ok(file) => browser::download(&file.filename, &file.mime, &file.body),
            Err(e) => state.fail(&e),
        }
    });
}

/// Share the open conversation as a read-only link (or refresh its link) and show it.
pub fn share(state: ChatState) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::share_conversation(conv.id)).await {
            Ok(link) => state.share.set(Some(link)),
            Err(e) => state.fail(&e),
        }
    });
}

/// Revoke the open conversation's shared link.
pub fn unshare(state: ChatState) {
    let Some(conv) = state.conversation.get_untracked() else { return };
    spawn_local(async move {
        match with_session(|| api::unshare_conversation(conv.id)).await {
            Ok(()) => {
                state.share.set(None);
                state.notice.set(Some(state.t().unshared_notice.to_owned()));
            }
            Err(e) => state.fail(&e),
        }
    });
}

/// Make a shared conversation the reader's own (a copy in their history) and open it.
/// `opened` gets the copy's id.
/// A link offers a shared conversation: reopen the copy made before, if any; else ask the reader
/// (`offered_share`) — [`continue_shared`] once they say yes.
pub fn offer_shared(state: ChatState, share_id: String, opened: impl FnOnce(Uuid) + 'static) {
    match browser::storage_get(&shared_key(&share_id)).and_then(|s| Uuid::parse_str(&s).ok()) {
        Some(copy) => opened(copy),
        None => state.offered_share.set(Some(share_id)),
    }
}

fn shared_key(share_id: &str) -> String {
    format!("bookchat:shared:{share_id}")
}

/// Copy a shared conversation into the reader's history (they said yes) and open the copy.
pub fn continue_shared(state: ChatState, share_id: String, opened: impl FnOnce(Uuid) + 'static) {
    state.offered_share.set(None);
    // The same link followed again (a reload, the back button) reopens the copy made before.
    let key = shared_key(&share_id);
    if let Some(copy) = browser::storage_get(&key).and_then(|s| Uuid::parse_str(&s).ok()) {
        opened(copy);
        return;
    }
    spawn_local(async move {
        match with_session(|| api::continue_shared(share_id.clone())).await {
            Ok(copy) => {
                browser::storage_set(&key, &copy.id.to_string());
                state.history_version.update(|v| *v += 1);
                state.notice.set(Some(state.t().shared_copy_notice.to_owned()));
                opened(copy.id);
            }
            Err(AppError::NotFound { .. }) => {
                state.notice.set(Some(state.t().shared_gone_notice.to_owned()));
            }
            Err(e) => state.fail(&e),
        }
    });
}

/// Tell the host page an answer arrived (the loader shows an unread badge when closed).
fn announce(answer: &Message) {
    #[derive(serde::Serialize)]
    struct Arrived {
        role: crate::model::Role,
        id: i64,
        status: crate::model::MessageStatus,
    }
    browser::post_to_parent("message", Some(Arrived { role: crate::model::Role::Assistant, id: answer.id, status: answer.status }));
}

/// Show an answer's text as it is written. Reconnects if the stream breaks (the answer keeps
/// being generated on the server regardless).
pub fn follow(state: ChatState, id: i64) {
    if state.following.with_value(|f| f.contains(&id)) {
        return;
    }
    state.following.update_value(|f| f.push(id));
    spawn_local(async move {
        use futures::StreamExt;
        let mut attempts = 0;
        loop {
            let mut finished = false;
            match with_session(|| api::stream_answer(id)).await {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    let mut buf = String::new();
                    while let Some(chunk) = stream.next().await {
                        let Ok(chunk) = chunk else { break };
                        buf.push_str(&chunk);
                        while let Some(nl) = buf.find('\n') {
                            let line: String = buf.drain(..=nl).collect();
                            match crate::model::json::from_slice::<StreamEvent>(line.trim().as_bytes()) {
                                Ok(StreamEvent::Delta { offset, text }) => state.messages.update(|list| {
                                    if let Some(m) = list.iter_mut().find(|m| m.id == id) {
                                        if offset == 0 {
                                            m.content = text;
                                        } else if offset == m.content.len() {
                                            m.content.push_str(&text);
                                        }
                                    }
                                }),
                                Ok(StreamEvent::Done { message }) => {
                                    announce(&message);
                                    state.replace_message(message);
                                    finished = true;
                                }
                                Err(_) => {}
                            }
                        }
                        // Done: stop reading now, so the answer is free to be followed again at
                        // once (a regenerate right after it must not find it still followed).
                        if finished {
                            break;
                        }
                    }
                }
                Err(AppError::NotFound { .. }) => finished = true,
                Err(_) => {}
            }
            attempts += 1;
            if finished || attempts >= 20 {
                break;
            }
            sleep(std::time::Duration::from_millis(500 * attempts.min(6))).await;
        }
        state.following.update_value(|f| f.retain(|x| *x != id));
    });
}

pub async fn sleep(d: std::time::Duration) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    set_timeout(
        move || {
            let _ = tx.send(());
        },
        d,
    );
    let _ = rx.await;
}

/// Stop the answer being written; its text so far stays.
pub fn stop(state: ChatState, id: i64) {
    spawn_local(async move {
        match with_session(|| api::stop_answer(id)).await {
            Ok(m) => state.replace_message(m),
            Err(e) => state.fail(&e),
        }
    });
}

/// Write an answer again. The answer shows as being written from the click on, not from the
/// server's reply: until then its rating buttons (and Regenerate itself) would still act on the
/// old answer, and the server would refuse them as being rewritten.
pub fn regenerate(state: ChatState, id: i64) {
    let before = state.messages.with_untracked(|list| list.iter().find(|m| m.id == id).cloned());
    let Some(before) = before.filter(|m| m.status != MessageStatus::Streaming) else { return };
    let mut rewriting = before.clone();
    rewriting.status = MessageStatus::Streaming;
    rewriting.content.clear();
    rewriting.html = None;
    rewriting.citations.clear();
    rewriting.error = None;
    rewriting.refused = false;
    rewriting.feedback = None;
    state.replace_message(rewriting);
    spawn_local(async move {
        match with_session(|| api::regenerate_answer(id)).await {
            Ok(m) => {
                state.replace_message(m);
                follow(state, id);
            }
            Err(e) => {
                // Nothing changed on the server: the old answer is still the answer.
                state.replace_message(before);
                state.fail(&e);
            }
        }
    });
}

/// Rate an answer (1, -1, or 0 to clear), optionally with a comment.
pub fn rate(state: ChatState, id: i64, rating: i16, comment: Option<String>) {
    spawn_local(async move {
        match with_session(|| api::rate_answer(id, rating, comment.clone())).await {
            Ok(m) => state.replace_message(m),
            Err(e) => state.fail(&e),
        }
    });
}

/// How the host page says who is reading.
#[derive(Debug, Clone, Default)]
pub struct Credential {
    /// A JWT signed by the host's backend (preferred).
    pub user_token: Option<String>,
    /// Legacy: the user id and its HMAC.
    pub user_id: Option<String>,
    pub user_hash: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Identify the reader as a host user (their guest conversations move to the user), or with
/// `None` say that nobody is signed in: a user's session is ended and a fresh guest starts; a
/// guest's is kept. Hosts call this on every page view, so a logout that reloads the page still
/// leaves nothing of the previous reader. Returns the user as the server knows them.
pub async fn identify(state: ChatState, who: Option<Credential>) -> Result<Option<crate::model::UserInfo>, AppError> {
    let result = apply_identity(state, who).await;
    host_identity_done();
    result
}

async fn apply_identity(state: ChatState, who: Option<Credential>) -> Result<Option<crate::model::UserInfo>, AppError> {
    let gate = SESSION_GATE.lock().await;
    let Some(c) = who else {
        if SIGNED_IN.with(|s| s.get()) {
            end_session(state).await;
        }
        return Ok(None);
    };
    let call = || api::identify(c.user_token.clone(), c.user_id.clone(), c.user_hash.clone(), c.email.clone(), c.name.clone());
    let info = match call().await {
        Err(AppError::Unauthorized) => {
            // The stored session expired: a new guest, then identify that one.
            browser::storage_remove(KEY_TOKEN);
            start_session().await?;
            call().await?
        }
        other => other?,
    };
    if let Some(token) = info.token {
        browser::storage_set(KEY_TOKEN, &token);
        set_session_token(Some(token));
    }
    if info.switched {
        // Another user on this browser: their own session, and nothing of the previous one shown.
        new_conversation(state);
    }
    set_signed_in(&info.user);
    drop(gate);
    state.history_version.update(|v| *v += 1);
    Ok(info.user)
}

/// Log out: end the session on the server, forget everything local, start a fresh guest.
pub async fn reset(state: ChatState) {
    let _gate = SESSION_GATE.lock().await;
    end_session(state).await;
}

async fn end_session(state: ChatState) {
    let _ = api::end_session().await;
    browser::storage_remove(KEY_TOKEN);
    browser::storage_remove(super::browser::KEY_DRAFT);
    new_conversation(state);
    set_session_token(None);
    SIGNED_IN.with(|s| s.set(false));
    if let Err(e) = start_session().await {
        state.fatal.set(Some(e));
    }
    state.history_version.update(|v| *v += 1);
}
