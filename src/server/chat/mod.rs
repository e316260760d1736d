//! The chat flows that span several tables: sending a question (idempotently) and getting it
//! answered, reading a conversation window, exporting a conversation.

pub mod auth;
pub mod identity;
pub mod share;

use crate::server::error::{Context, Expected, ServerError, ServerResult};
use crate::server::answer::index::{BookIndex, Framing};
use crate::server::answer::retrieve::{self, Library, Query};
use crate::server::answer::{compose, job, render, text};
use std::sync::Arc;
use crate::server::db::messages::{self, Metadata, MessageRow, Window};
use crate::server::db::held::on_held;
use crate::server::db::{conversations, sessions, Caller};
use crate::server::state::AppState;
use crate::error::{AppError, Rule};
use crate::model::{ConversationPage, Feedback,
    ExportFile, ExportFormat, Message, MessagePage, MessageStatus, MessageText, PageContext, Role,
    SendResult, StreamEvent, Suggestions, Title, MAX_PASSAGE_CHARS, MAX_COMMENT_CHARS,
};
use std::time::Duration;
use uuid::Uuid;

impl Window {
    /// The page the API sends: its older cursor is the oldest message here, if there are older.
    pub fn into_page(self) -> MessagePage {
        let older_cursor = if self.more { self.messages.first().map(|m| m.id) } else { None };
        MessagePage {
            conversation: self.conversation.into(),
            messages: self.messages.into_iter().map(MessageRow::into_model).collect(),
            older_cursor,
        }
    }
}

/// A stored message as the client sees it. The data layer stores and reads rows; turning Markdown
/// into HTML is this layer's job: a finished answer carries the HTML rendered when it was stored,
/// one still being written is rendered as it stands.
impl MessageRow {
    pub fn into_model(mut self) -> Message {
        let meta = self.metadata.take().unwrap_or_default();
        let html = match self.role {
            Role::Assistant => Some(self.html.unwrap_or_else(|| render::markdown_to_safe_html(&self.content))),
            Role::User => None,
        };
        Message {
            id: self.id,
            client_id: self.client_id,
            conversation_id: self.conversation_id,
            role: self.role,
            html,
            content: self.content,
            status: self.status,
            citations: meta.citations,
            quote: meta.quote,
            scope: meta.scope,
            error: meta.error,
            refused: meta.refused,
            pinned: meta.pinned,
            feedback: self.rating.map(|rating| Feedback { rating, comment: self.feedback_comment }),
            created_at: self.created_at,
        }
    }
}

/// A validated question.
pub struct NewQuestion {
    pub conversation_id: Option<Uuid>,
    pub client_id: Uuid,
    pub text: MessageText,
    pub context: PageContext,
    /// Search only the chapter (book folder) of the page the reader is on.
    pub chapter_only: bool,
}

impl NewQuestion {
    pub fn parse(
        conversation_id: Option<Uuid>,
        client_id: Uuid,
        content: &str,
        context: Option<PageContext>,
        chapter_only: bool,
    ) -> ServerResult<Self> {
        if client_id.is_nil() {
            return Err(AppError::validation("client_id", "A message id is required.").into());
        }
        let text = MessageText::parse(content)?;
        let mut context = context.unwrap_or_default();
        if let Some(sel) = context.selection.as_deref() {
            let sel = sel.trim();
            if sel.chars().count() > MAX_PASSAGE_CHARS {
                return Err(AppError::invalid(
                    Rule::PassageTooLong,
                    format!("The selected passage is limited to {MAX_PASSAGE_CHARS} characters."),
                ).into());
            }
            context.selection = (!sel.is_empty()).then(|| sel.to_owned());
        }
        for (field, value) in [("page_url", &mut context.url), ("page_title", &mut context.title)] {
            if let Some(v) = value.as_deref() {
                if v.chars().count() > 2_000 || v.chars().any(char::is_control) {
                    return Err(AppError::validation(field, "The page context is not valid.").into());
                }
            }
        }
        // Only where the reader is — the page's origin and path — is kept: a host's query
        // string can carry a learning platform's launch token or the reader's e-mail, and the
        // page is stored with the question and shown on shared pages.
        context.url = context.url.as_deref().map(page_address);
        if chapter_only && context.url.is_none() {
            return Err(AppError::invalid(Rule::ChapterNeedsPage, "\"This chapter only\" needs the page you are reading.").into());
        }
        Ok(NewQuestion { conversation_id, client_id, text, context, chapter_only })
    }
}

/// A page's address without its query string and fragment.
pub fn page_address(url: &str) -> String {
    url.trim().split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// How long `chat/send` waits for the answer when asked to (the widget streams instead).
const SEND_WAIT: Duration = Duration::from_secs(120);

/// Store the question (creating the conversation on the first one) and an empty answer, then
/// start generating the answer in the background. With `wait`, return once it is finished;
/// otherwise return at once with the answer still `streaming` (follow it with `chat/stream`).
/// Sending the same `client_id` again returns what was stored the first time.
/// `client` is the reader's address (limits per address; `None` in tools and tests).
pub async fn send(state: &AppState, caller: &Caller, client: Option<std::net::IpAddr>, q: NewQuestion, wait: bool) -> ServerResult<SendResult> {
    if state.hub.is_shutting_down() {
        return Err(AppError::unavailable("BookChat is restarting. Please send your question again in a moment.").into());
    }
    // The send's own statements run on held connections of the primary (see `db::held`): from
    // the pool, each would cost a check round trip more.
    if let Some(existing) = on_held!(state.held, |db| messages::by_client_id(db, q.client_id))? {
        // A retry of a stored send is free: it creates nothing.
        return replay(state, caller, client, existing, &q, wait).await;
    }
    state.limits.check_question(caller, client)?;
    let scope = match (q.chapter_only, q.context.url.as_deref()) {
        (true, Some(url)) => Some(chapter_of(state, url).await?),
        _ => None,
    };
    let slot = state.hub.reserve(client)?;
    let meta = Metadata {
        scope,
        quote: q.context.selection.clone(),
        page_url: q.context.url.clone(),
        page_title: q.context.title.clone(),
        ..Default::default()
    };
    // One statement: the session held, the conversation created or locked (and reopened), the
    // question and its empty streaming answer stored together — an answer row always exists
    // for a question, so a crash can never leave a question nobody will answer.
    let title = Title::from_question(&q.text);
    // Safe to run twice (see `on_held!`): a second run finds the client id taken (`Duplicate`).
    let stored = on_held!(state.held, |db| messages::store_question(
        db,
        caller,
        q.conversation_id,
        title.as_str(),
        q.client_id,
        q.text.as_str(),
        &meta
    ))?;
    let (question, answer_id) = match stored {
        messages::Stored::Question { question, answer_id } => (question, answer_id),
        messages::Stored::SessionEnded => return Err(AppError::Unauthorized.into()),
        messages::Stored::ConversationNotFound => return Err(AppError::not_found("conversation").into()),
        messages::Stored::Closed => return Err(AppError::invalid(Rule::ConversationClosed, "This conversation is closed.").into()),
        messages::Stored::Duplicate => {
            // A concurrent retry of this very send stored it first; answer from its row.
            let existing = messages::by_client_id(&state.pool, q.client_id).await?.or_internal("the question a concurrent send stored")?;
            return replay(state, caller, client, existing, &q, wait).await;
        }
    };
    start_job(state, slot, caller, &question, answer_id, 0, q.context.clone(), meta.scope);
    match finish(state, caller, question, answer_id, wait).await {
        // The session changed hands (identify) right after the question was stored: it is the
        // user's now. The client re-sends with its new token and gets it by its client id.
        Err(e) if e.is_not_found() && !sessions::is_active(&state.pool, caller.session_id).await? => Err(AppError::Unauthorized.into()),
        other => other,
    }
}

/// The chapter (book folder) of the page at `url`, for "this chapter only"; a page that is not
/// in a chapter of the book is a validation error, not a silently unscoped search.
async fn chapter_of(state: &AppState, url: &str) -> ServerResult<String> {
    let not_in_book = || AppError::invalid(Rule::PageNotInChapter, "This page is not in a chapter of the book, so the whole book is searched.");
    let route = job::route_of(url, &state.config.site_base_url).ok_or_else(not_in_book)?;
    let index = state.library.index(&state.pool).await?;
    let folder = index.sections.iter().find(|s| s.route == route).map(|s| s.folder().to_owned());
    Ok(folder.filter(|f| !f.is_empty()).ok_or_else(not_in_book)?)
}

#[allow(clippy::too_many_arguments)]
fn start_job(
    state: &AppState,
    slot: job::Slot,
    caller: &Caller,
    question: &MessageRow,
    answer_id: i64,
    generation: i32,
    context: PageContext,
    scope: Option<String>,
) {
    state.hub.start(
        slot,
        state.answer_held.clone(),
        state.config.clone(),
        state.library.clone(),
        job::Request {
            answer_id,
            generation,
            conversation_id: question.conversation_id,
            session_id: Some(caller.session_id),
            question_id: question.id,
            question: question.content.clone(),
            context,
            scope,
        },
    );
}

/// A send whose client id is already stored: same caller and same text → the stored result.
async fn replay(
    state: &AppState,
    caller: &Caller,
    client: Option<std::net::IpAddr>,
    existing: MessageRow,
    q: &NewQuestion,
    wait: bool,
) -> ServerResult<SendResult> {
    // Someone else's message id is indistinguishable from an unknown conversation.
    conversations::get(&state.pool, caller, existing.conversation_id).await?;
    if existing.role != Role::User || existing.content != q.text.as_str() {
        return Err(AppError::validation("client_id", "This message id was already used for a different message.").into());
    }
    let answer_id = match messages::answer_to(&state.pool, existing.id).await? {
        Some(a) => a.id,
        None => {
            let slot = state.hub.reserve(client)?;
            let a = messages::insert_answer(&state.pool, existing.conversation_id, existing.id, "", MessageStatus::Streaming, &Metadata::default()).await?;
            match a {
                Some(a) => {
                    start_job(state, slot, caller, &existing, a.id, 0, q.context.clone(), existing.metadata().scope);
                    a.id
                }
                None => messages::answer_to(&state.pool, existing.id).await?.or_internal("the answer of a stored question")?.id,
            }
        }
    };
    finish(state, caller, existing, answer_id, wait).await
}

async fn finish(state: &AppState, caller: &Caller, question: MessageRow, answer_id: i64, wait: bool) -> ServerResult<SendResult> {
    if wait {
        state.hub.wait(&state.pool, answer_id, SEND_WAIT).await?;
    }
    // The answer and its conversation (counters as they are now) in one read.
    let (answer, conversation) =
        on_held!(state.held, |db| messages::with_conversation(db, caller, answer_id))?.or_internal("the answer just sent")?;
    let conversation = conversation.ok_or_else(|| AppError::not_found("conversation"))?;
    Ok(SendResult { conversation: conversation.into(), question: question.into_model(), answer: answer.into_model() })
}

/// An answer of the caller's, or `NotFound` (also for questions: only answers qualify).
async fn owned_answer(state: &AppState, caller: &Caller, id: i64) -> ServerResult<MessageRow> {
    let m = messages::owned(&state.pool, caller, id).await?;
    if m.role != Role::Assistant {
        return Err(AppError::not_found("answer").into());
    }
    Ok(m)
}

/// Generate an answer again (replacing its text, citations and rating).
pub async fn regenerate(state: &AppState, caller: &Caller, client: Option<std::net::IpAddr>, answer_id: i64) -> ServerResult<Message> {
    if state.hub.is_shutting_down() {
        return Err(AppError::unavailable("BookChat is restarting. Please try again in a moment.").into());
    }
    let answer = owned_answer(state, caller, answer_id).await?;
    state.limits.check_question(caller, client)?;
    let question_id = answer.reply_to.ok_or_else(|| AppError::not_found("question"))?;
    let question = messages::by_id(&state.pool, question_id).await?.ok_or_else(|| AppError::not_found("question"))?;
    let slot = state.hub.reserve(client)?;
    let (reset, generation) = messages::reset_for_regenerate(&state.pool, answer_id)
        .await?
        .ok_or_else(|| AppError::invalid(Rule::AnswerInProgress, "This answer is still being written."))?;
    let meta = question.metadata();
    let context = PageContext { url: meta.page_url, title: meta.page_title, selection: meta.quote };
    start_job(state, slot, caller, &question, answer_id, generation, context, meta.scope);
    Ok(reset.into_model())
}

/// Stop an answer being written; what was written so far is kept, marked stopped.
pub async fn stop(state: &AppState, caller: &Caller, answer_id: i64) -> ServerResult<Message> {
    let answer = owned_answer(state, caller, answer_id).await?;
    if answer.status == MessageStatus::Streaming {
        state.hub.stop(&state.pool, answer_id).await?;
    }
    let row = messages::by_id(&state.pool, answer_id).await?.or_internal("the answer just stopped")?;
    Ok(row.into_model())
}

/// Rate an answer: 1 (helpful), -1 (not helpful) or 0 (remove the rating); comment optional.
pub async fn feedback(state: &AppState, caller: &Caller, answer_id: i64, rating: i16, comment: Option<String>) -> ServerResult<Message> {
    let rating = match rating {
        1 | -1 => Some(rating),
        0 => None,
        _ => return Err(AppError::validation("rating", "The rating is 1 (helpful), -1 (not helpful) or 0 (none).").into()),
    };
    let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    if let Some(c) = &comment {
        if c.chars().count() > MAX_COMMENT_CHARS {
            return Err(AppError::invalid(Rule::CommentTooLong, format!("The comment is limited to {MAX_COMMENT_CHARS} characters.")).into());
        }
        if c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\t')) {
            return Err(AppError::invalid(Rule::CommentControl, "The comment contains control characters.").into());
        }
    }
    let answer = owned_answer(state, caller, answer_id).await?;
    if answer.status == MessageStatus::Streaming {
        return Err(AppError::invalid(Rule::AnswerInProgress, "Wait until the answer is finished to rate it.").into());
    }
    messages::set_feedback(&state.pool, answer_id, rating, comment.as_deref()).await?;
    let row = messages::by_id(&state.pool, answer_id).await?.or_internal("the answer just rated")?;
    Ok(row.into_model())
}

/// The events of an answer as JSON lines: its text so far, each new piece as it is generated,
/// then the finished message. Works for answers generated by another instance too (by reading
/// the text the generator flushes to the database).
pub async fn follow(
    state: &AppState,
    caller: &Caller,
    answer_id: i64,
) -> ServerResult<futures::channel::mpsc::Receiver<Result<String, AppError>>> {
    let answer = owned_answer(state, caller, answer_id).await?;
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<String, AppError>>(32);
    let state = state.clone();
    tokio::spawn(async move {
        let _open = crate::server::metrics::GaugeGuard::new(crate::server::metrics::OPEN_STREAMS);
        use futures::SinkExt;
        let line = |e: &StreamEvent| serde_json::to_string(e).map(|mut s| {
            s.push('\n');
            s
        });
        let mut sent = 0usize;
        let mut streaming = answer.status == MessageStatus::Streaming;
        // A stream ends when the answer does, when the server starts shutting down, or when
        // nothing new came for a while (the widget then resumes it, maybe on another instance).
        let draining = state.hub.draining();
        let idle_limit = Duration::from_secs(state.config.stream_idle_secs.max(1));
        let mut last_progress = tokio::time::Instant::now();
        if let Some(mut rx) = state.hub.subscribe(answer_id) {
            loop {
                let snap = rx.borrow_and_update().clone();
                if snap.content.len() > sent && snap.content.is_char_boundary(sent) {
                    let ev = StreamEvent::Delta { offset: sent, text: snap.content[sent..].to_owned() };
                    sent = snap.content.len();
                    last_progress = tokio::time::Instant::now();
                    let Ok(l) = line(&ev) else { break };
                    if tx.send(Ok(l)).await.is_err() {
                        return; // the reader went away; the answer goes on without them
                    }
                }
                if snap.done {
                    break;
                }
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break },
                    _ = draining.cancelled() => break,
                    _ = tokio::time::sleep_until(last_progress + idle_limit) => break,
                }
            }
            streaming = false;
        }
        // Generated elsewhere (or finished before we subscribed): follow the stored text. An
        // answer nobody has touched for a while lost its generator: settle it as failed first.
        if streaming {
            let _ = messages::fail_stale(&state.pool, job::STALE_AFTER_SECS).await;
        }
        let mut idle = 0u32;
        while streaming && !draining.is_cancelled() && last_progress.elapsed() < idle_limit {
            let Ok(Some(row)) = messages::by_id(&state.pool, answer_id).await else { break };
            if row.content.len() > sent && row.content.is_char_boundary(sent) {
                let ev = StreamEvent::Delta { offset: sent, text: row.content[sent..].to_owned() };
                sent = row.content.len();
                idle = 0;
                last_progress = tokio::time::Instant::now();
                let Ok(l) = line(&ev) else { break };
                if tx.send(Ok(l)).await.is_err() {
                    return;
                }
            } else {
                idle += 1;
            }
            if row.status != MessageStatus::Streaming {
                break;
            }
            // No progress for a long while: the generator is gone; sweep it to failed.
            if idle as f64 * 0.3 > job::STALE_AFTER_SECS {
                let _ = messages::fail_stale(&state.pool, job::STALE_AFTER_SECS).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if let Ok(Some(row)) = messages::by_id(&state.pool, answer_id).await {
            if let Ok(l) = line(&StreamEvent::Done { message: row.into_model() }) {
                let _ = tx.send(Ok(l)).await;
            }
        }
    });
    Ok(rx)
}

/// Questions to suggest for an empty conversation: the headings of the reader's page (or of
/// the book's first pages) turned into questions — never a recap, an introduction, an outline or
/// a list of links ("What You'll Learn?" is no question) — and only those the book answers: each
/// is asked of the book, and kept when it is answered with its own section among the first
/// three.
pub async fn suggestions(state: &AppState, page_url: Option<&str>) -> ServerResult<Suggestions> {
    let route = page_url.and_then(|u| job::route_of(u, &state.config.site_base_url));
    let index = state.library.index(&state.read_pool).await?;
    let library = state.library.clone();
    let questions = tokio::task::spawn_blocking(move || suggested_questions(&library, &index, route.as_deref(), SUGGESTIONS))
        .await
        .context("choosing suggested questions")?;
    Ok(Suggestions { questions })
}

/// How many questions an empty conversation suggests.
const SUGGESTIONS: usize = 4;

/// See [`suggestions`]: up to `n` questions from `route`'s sections (or the book's first pages'),
/// each answered from its own section.
pub fn suggested_questions(library: &Library, index: &Arc<BookIndex>, route: Option<&str>, n: usize) -> Vec<String> {
    let on_page: Vec<usize> = match route {
        Some(r) => (0..index.sections.len()).filter(|&i| index.sections[i].route == r).collect(),
        None => Vec::new(),
    };
    let candidates: Vec<usize> = if on_page.is_empty() { (0..index.sections.len()).collect() } else { on_page };
    let mut out: Vec<String> = Vec::new();
    for i in candidates {
        let s = &index.sections[i];
        let heading = strip_numbering(&s.heading);
        if s.level <= 1 || s.overview || s.framing != Framing::None || heading.chars().count() > 80 || text::terms(&heading).is_empty() {
            continue;
        }
        if heading.to_lowercase().starts_with("chapter") {
            continue;
        }
        let Some(question) = heading_question(&heading) else { continue };
        if out.contains(&question) {
            continue;
        }
        let r = retrieve::rank(index, library.embedder().map(|e| e.as_ref()), &Query::new(&question));
        if compose::answerable(&r) && r.hits.iter().take(3).any(|h| h.section == i) {
            out.push(question);
            if out.len() >= n {
                break;
            }
        }
    }
    out
}

/// "3.4.2 Revolute Joint" → "Revolute Joint", "4. Balance" → "Balance", "Step 2: Wiring" stays.
fn strip_numbering(h: &str) -> String {
    let t = h.trim();
    let rest = t.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    if rest.len() < t.len() && rest.starts_with([' ', ')']) {
        rest.trim_start_matches([' ', ')']).trim().to_owned()
    } else {
        t.to_owned()
    }
}

/// A heading as a reader would ask about it: "The Zero-Moment Point" → "What is the
/// Zero-Moment Point?", "Key Improvements in ROS 2" → "What are Key Improvements in ROS 2?",
/// "URDF vs SDF" → "How do URDF and SDF compare?", "Installing Unity on Windows (Native!)" →
/// "What should I know about installing Unity on Windows?"; questions stay questions. `None` for
/// a heading that names no topic ("In Progress", "Welcome…").
pub fn heading_question(h: &str) -> Option<String> {
    // Drop remarks in parentheses and decorations (emoji, trailing punctuation).
    let mut clean = String::new();
    let mut depth = 0;
    for c in h.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = (depth - 1).max(0),
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || c.is_whitespace() || "-'’:&/.,+#".contains(c) => clean.push(c),
            _ => {}
        }
    }
    let h = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    let h = h.trim().trim_end_matches(['.', ':', ',', '-']).trim().to_owned();
    let lower = h.to_lowercase();
    let first = lower.split(' ').next().unwrap_or("");
    if ["why", "how", "what", "when", "where", "which", "who", "is", "are", "can", "should", "do", "does"].contains(&first) {
        return Some(format!("{h}?"));
    }
    if h.is_empty() || (text::is_stop_word(first) && !["the", "a", "an"].contains(&first)) || ["welcome", "introduction", "overview"].contains(&first) {
        return None;
    }
    if let Some((a, b)) = h.split_once(" vs ").or_else(|| h.split_once(" vs. ")).or_else(|| h.split_once(" versus ")) {
        return Some(format!("How do {} and {} compare?", a.trim(), b.trim()));
    }
    if first.len() > 4 && first.ends_with("ing") && !h.contains(':') {
        let mut chars = h.chars();
        let initial: String = chars.next().map(|c| c.to_lowercase().collect()).unwrap_or_default();
        return Some(format!("What should I know about {initial}{}?", chars.as_str()));
    }
    if h.contains(':') || h.contains(" and ") || h.contains(" with ") {
        return Some(format!("Can you explain “{h}”?"));
    }
    let article = ["the", "a", "an"].contains(&first);
    // The head noun: before the first preposition ("Key Improvements in ROS 2").
    let head = lower.split([' ']).take_while(|w| !["in", "of", "for", "on", "to", "with", "from", "at", "by"].contains(w)).last().unwrap_or("").to_owned();
    let last = lower.split(' ').rev().find(|w| w.chars().any(char::is_alphabetic)).unwrap_or("").to_owned();
    let is_plural = |w: &str| w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("sis") && !w.ends_with("us");
    let plural = is_plural(&head) || is_plural(&last);
    Some(match (article, plural) {
        (true, _) => {
            let mut chars = h.chars();
            let first: String = chars.next().map(|c| c.to_lowercase().collect()).unwrap_or_default();
            format!("What is {first}{}?", chars.as_str())
        }
        (false, true) => format!("What are {h}?"),
        (false, false) => format!("What is {h}?"),
    })
}

/// A messages page read on the primary: for a session the read pool (a replica) has not seen
/// yet — it may well not have the session's newest messages either.
async fn window_on_primary(
    state: &AppState,
    caller: &Caller,
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> ServerResult<MessagePage> {
    let conversation = conversations::get(&state.pool, caller, conversation_id).await?;
    let (rows, more) = messages::window(&state.pool, conversation_id, before, limit).await?;
    let older_cursor = if more { rows.first().map(|m| m.id) } else { None };
    Ok(MessagePage { conversation, messages: rows.into_iter().map(MessageRow::into_model).collect(), older_cursor })
}

/// The caller's conversations read on the primary (see [`window_on_primary`]).
async fn list_on_primary(state: &AppState, caller: &Caller, cursor: Option<&str>, limit: u32, archived: bool) -> ServerResult<ConversationPage> {
    on_held!(state.held, |db| conversations::list(db, caller, cursor, limit, archived))
}

/// Whether history reads go to a replica (`DATABASE_READ_URL`): a database that may lag.
fn reads_on_replica(state: &AppState) -> bool {
    !std::sync::Arc::ptr_eq(&state.pool.connect_options(), &state.read_pool.connect_options())
}

/// The session of a secret as the primary knows it now, when reads go to a replica: a token
/// just ended (logout, rotation, erasure) must stop reading at once, though a lagging replica
/// still has it active. `None` without a replica (the read's own statement authenticated).
async fn primary_session(state: &AppState, token: &str) -> ServerResult<Option<sessions::SessionRow>> {
    if !reads_on_replica(state) {
        return Ok(None);
    }
    Ok(Some(sessions::authenticate(&state.pool, token).await?.ok_or(AppError::Unauthorized)?))
}

/// The history list for the holder of a session secret, in one round trip (authentication and
/// the read are one statement on the read pool). With a replica, the session is checked on the
/// primary at the same time (an ended token reads nothing), and a replica that has not yet seen
/// a session just created or rotated is read around on the primary.
pub async fn list_by_token(state: &AppState, token: &str, cursor: Option<&str>, limit: u32, archived: bool) -> ServerResult<ConversationPage> {
    if !sessions::is_well_formed(token) {
        return Err(AppError::Unauthorized.into());
    }
    let hash = sessions::hash_secret(token);
    let read = async { Ok::<_, ServerError>(on_held!(state.held_reads, |db| conversations::list_by_token(db, &hash, cursor, limit, archived))?) };
    let (found, primary) = tokio::join!(read, primary_session(state, token));
    let primary = primary?;
    match found? {
        messages::ByToken::Found(page) => Ok(page),
        messages::ByToken::NotFound | messages::ByToken::NoSession => {
            let session = match primary {
                Some(s) => s,
                None => sessions::authenticate(&state.pool, token).await?.ok_or(AppError::Unauthorized)?,
            };
            list_on_primary(state, &session.caller(), cursor, limit, archived).await
        }
    }
}

/// A messages page for the holder of a session secret, in one round trip (authentication,
/// ownership and the window are one statement on the read pool); with a replica, checked on the
/// primary as the list is.
pub async fn window_by_token(
    state: &AppState,
    token: &str,
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> ServerResult<MessagePage> {
    if !sessions::is_well_formed(token) {
        return Err(AppError::Unauthorized.into());
    }
    let hash = sessions::hash_secret(token);
    let read = async { Ok::<_, ServerError>(on_held!(state.held_reads, |db| messages::window_by_token(db, &hash, conversation_id, before, limit))?) };
    let (found, primary) = tokio::join!(read, primary_session(state, token));
    let primary = primary?;
    match found? {
        messages::ByToken::Found(w) => Ok(w.into_page()),
        messages::ByToken::NotFound if primary.is_none() => Err(AppError::not_found("conversation").into()),
        messages::ByToken::NotFound | messages::ByToken::NoSession => {
            let session = match primary {
                Some(s) => s,
                None => sessions::authenticate(&state.pool, token).await?.ok_or(AppError::Unauthorized)?,
            };
            window_on_primary(state, &session.caller(), conversation_id, before, limit).await
        }
    }
}

/// The largest conversation exported at once, in messages and in stored text (answers with
/// their HTML): an export is built in memory and sent as one file, so it is bounded — past the
/// bound the reader is told so, with nothing half-written. (20,000 messages of long answers with
/// their HTML and pretty JSON ran to hundreds of megabytes in one request.)
const EXPORT_MAX_MESSAGES: usize = 5_000;
const EXPORT_MAX_BYTES: usize = 8 * 1024 * 1024;

fn export_too_large() -> AppError {
    AppError::validation(
        "conversation_id",
        format!("This conversation is too long to export in one file (the limit is {EXPORT_MAX_MESSAGES} messages or {} MB of text).", EXPORT_MAX_BYTES / (1024 * 1024)),
    )
}

pub async fn export(state: &AppState, caller: &Caller, conversation_id: Uuid, format: ExportFormat) -> ServerResult<ExportFile> {
    let conversation = conversations::get(&state.read_pool, caller, conversation_id).await?;
    if conversation.message_count.max(0) as usize > EXPORT_MAX_MESSAGES {
        return Err(export_too_large().into());
    }
    // Page by page (keyset reads, never one huge query), counting what is held.
    let mut all: Vec<MessageRow> = Vec::new();
    let mut before = None;
    let mut bytes = 0usize;
    loop {
        let (mut rows, more) = messages::window(&state.read_pool, conversation_id, before, 500).await?;
        before = rows.first().map(|m| m.id);
        bytes += rows.iter().map(|m| m.content.len() + m.html.as_ref().map_or(0, String::len)).sum::<usize>();
        if bytes > EXPORT_MAX_BYTES || all.len() + rows.len() > EXPORT_MAX_MESSAGES {
            return Err(export_too_large().into());
        }
        rows.append(&mut all);
        all = rows;
        if !more {
            break;
        }
    }
    let messages: Vec<_> = all.into_iter().map(MessageRow::into_model).collect();
    let stem = file_stem(&conversation.title);
    Ok(match format {
        ExportFormat::Json => {
            let body = serde_json::to_string_pretty(&serde_json::json!({
                "conversation": conversation,
                "messages": messages,
            }))
            .context("encoding the export")?;
            ExportFile { filename: format!("{stem}.json"), mime: "application/json".into(), body }
        }
        ExportFormat::Markdown => {
            let mut md = format!("# {}\n\n", conversation.title);
            md.push_str(&format!(
                "_Exported from BookChat · {} messages · started {}_\n",
                conversation.message_count,
                conversation.created_at.format("%Y-%m-%d %H:%M UTC")
            ));
            for m in &messages {
                let who = match m.role {
                    Role::User => "You",
                    Role::Assistant => "BookChat",
                };
                md.push_str(&format!("\n## {who} · {}\n\n", m.created_at.format("%Y-%m-%d %H:%M")));
                if let Some(q) = &m.quote {
                    for line in q.lines() {
                        md.push_str(&format!("> {line}\n"));
                    }
                    md.push('\n');
                }
                md.push_str(&m.content);
                md.push('\n');
                if m.status != MessageStatus::Complete {
                    md.push_str(&format!("\n_({})_\n", m.status.as_str()));
                }
                if !m.citations.is_empty() {
                    md.push_str("\nSources:\n");
                    for (i, c) in m.citations.iter().enumerate() {
                        let label = if c.section.is_empty() { c.title.clone() } else { format!("{} — {}", c.title, c.section) };
                        md.push_str(&format!("{}. [{}]({})\n", i + 1, label, c.url));
                    }
                }
            }
            ExportFile { filename: format!("{stem}.md"), mime: "text/markdown".into(), body: md }
        }
    })
}

/// A safe file name from a title: letters, digits and dashes, at most 60 characters.
fn file_stem(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| if c.is_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let s: String = s.chars().take(60).collect();
    if s.is_empty() {
        "conversation".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_become_questions() {
        let q = |h: &str| heading_question(h).unwrap_or_default();
        assert_eq!(q("The Zero-Moment Point"), "What is the Zero-Moment Point?");
        assert_eq!(q("Quality of Service Policies"), "What are Quality of Service Policies?");
        assert_eq!(q("Why ROS 2 Replaced ROS 1"), "Why ROS 2 Replaced ROS 1?");
        assert_eq!(q("Nodes, Topics, Services and Actions"), "Can you explain “Nodes, Topics, Services and Actions”?");
        assert_eq!(q("Sensor Fusion"), "What is Sensor Fusion?");
        assert_eq!(q("Key Improvements in ROS 2"), "What are Key Improvements in ROS 2?");
        assert_eq!(q("URDF vs SDF"), "How do URDF and SDF compare?");
        assert_eq!(q("Installing Unity on Windows (Native!)"), "What should I know about installing Unity on Windows?");
        assert_eq!(q("Ablation Study 🍎"), "What is Ablation Study?");
        assert_eq!(heading_question("In Progress"), None);
        assert_eq!(heading_question("Welcome to Physical AI"), None);
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("What is DDS? <script>"), "what-is-dds-script");
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem("???"), "conversation");
    }

    #[test]
    fn new_question_validates_everything() {
        let id = Uuid::new_v4();
        assert!(NewQuestion::parse(None, Uuid::nil(), "hi there", None, false).is_err());
        assert!(NewQuestion::parse(None, id, "   ", None, false).is_err());
        let long_sel = PageContext { selection: Some("x".repeat(MAX_PASSAGE_CHARS + 1)), ..Default::default() };
        assert!(NewQuestion::parse(None, id, "what?", Some(long_sel), false).is_err());
        // "This chapter only" is relative to the page the reader is on: without one it is refused.
        assert!(NewQuestion::parse(None, id, "what?", None, true).is_err());
        let page = PageContext { url: Some("https://book.example/docs/a/b".into()), ..Default::default() };
        assert!(NewQuestion::parse(None, id, "what?", Some(page), true).unwrap().chapter_only);
        let ok = NewQuestion::parse(None, id, " what? ", Some(PageContext { selection: Some("  ".into()), ..Default::default() }), false)
            .unwrap();
        assert_eq!(ok.text.as_str(), "what?");
        assert_eq!(ok.context.selection, None);
    }
}
