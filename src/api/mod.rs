//! The public API: thin server functions with stable endpoints (`/api/...`, JSON in, JSON out;
//! documented in docs/API.md). Each one authorises the caller, validates input and calls into
//! `server::`. Errors are [`AppError`]s with precise HTTP statuses.

pub mod client;
pub mod codec;

use crate::error::AppError;
use crate::model::{
    ConversationPage, ConversationStatus, ConversationSummary, ExportFile, ExportFormat, Message, MessagePage,
    PageContext, SearchHit, SendResult, SessionInfo, ShareLink, Suggestions,
};
use client::BookChatClient;
use codec::JsonResult;
use leptos::server;
use server_fn::codec::{Json, StreamingText, TextStream};
use uuid::Uuid;

/// Default and maximum page sizes for lists.
pub const DEFAULT_PAGE: u32 = 20;
pub const MAX_PAGE: u32 = 100;

#[cfg(feature = "ssr")]
fn page_size(limit: Option<u32>) -> Result<u32, AppError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(AppError::validation("limit", format!("limit must be between 1 and {MAX_PAGE}"))),
    }
}

/// Resume the session whose token the request carries, or start a new guest session. A new
/// session's token is returned once; the widget stores it and sends it with every call.
#[server(endpoint = "session/start", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn start_session() -> Result<SessionInfo, AppError> {
    use crate::server::{chat::auth, db::sessions};
    let state = auth::app_state()?;
    let headers = auth::headers().await?;
    if let Some(token) = auth::token_from(&headers) {
        if let Some(existing) = sessions::authenticate(&state.pool, token).await? {
            let s = sessions::touch(&state.pool, existing.id).await?;
            return Ok(crate::server::chat::identity::session_info(&state, &s).await?);
        }
    }
    // Sessions cost storage: a client may start only so many a minute.
    if let Some(ip) = auth::client_ip(&state).await {
        state.limits.check_new_session(ip)?;
    }
    let (s, token) = sessions::create_guest(&state.pool).await?;
    Ok(SessionInfo { token: Some(token), session_id: s.id, user: None, expires_at: s.expires_at, switched: false })
}

/// Identify the reader as a user of the host site, with `user_token` — an HS256 JWT signed by
/// the host's backend with the identity secret (`sub` = its user id, `exp` required) — or, as
/// legacy, `user_id` and `user_hash = hex(HMAC-SHA256(identity secret, user_id))`. The guest's
/// conversations move to the user. The session gets a new `token` whenever it changes hands;
/// the old one stops working.
#[server(endpoint = "session/identify", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn identify(
    #[server(default)] user_token: Option<String>,
    #[server(default)] user_id: Option<String>,
    #[server(default)] user_hash: Option<String>,
    #[server(default)] email: Option<String>,
    #[server(default)] name: Option<String>,
) -> Result<SessionInfo, AppError> {
    use crate::server::chat::{auth, identity};
    let (state, caller) = auth::caller().await?;
    let credential = match (user_token.filter(|t| !t.trim().is_empty()), user_id, user_hash) {
        (Some(token), _, _) => identity::Credential::Token(token),
        (None, Some(user_id), Some(user_hash)) => identity::Credential::Hash { user_id, user_hash },
        _ => return Err(AppError::validation("user_token", "Send user_token (a signed JWT), or user_id with user_hash.")),
    };
    Ok(identity::identify(&state, &caller, credential, email, name).await?)
}

/// End the caller's session (logout / `BookChat.reset()`): its token stops working.
#[server(endpoint = "session/end", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn end_session() -> Result<(), AppError> {
    use crate::server::{chat::auth, db::sessions};
    let (state, caller) = auth::caller().await?;
    Ok(sessions::end(&state.pool, caller.session_id).await?)
}

/// Delete everything stored about the caller: every conversation and rating, their query-log
/// rows, their sessions — and, for a verified user, the user itself. The token stops working.
#[server(endpoint = "me/delete", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn delete_my_data() -> Result<u64, AppError> {
    use crate::server::{chat::auth, db::privacy};
    let (state, caller) = auth::caller().await?;
    Ok(privacy::erase_caller(&state.pool, &caller).await?.conversations)
}

/// Ask a question. Creates the conversation when `conversation_id` is absent (titled from the
/// question), stores question and answer, and is idempotent by `client_id`. With `wait: false`
/// it returns at once with the answer `streaming`; follow it with [`stream_answer`].
#[server(endpoint = "chat/send", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn send_message(
    conversation_id: Option<Uuid>,
    client_id: Uuid,
    content: String,
    #[server(default)] context: Option<PageContext>,
    #[server(default)] wait: Option<bool>,
    #[server(default)] chapter_only: Option<bool>,
) -> Result<SendResult, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    let question = chat::NewQuestion::parse(conversation_id, client_id, &content, context, chapter_only.unwrap_or(false))?;
    let client = auth::client_ip(&state).await;
    Ok(chat::send(&state, &caller, client, question, wait.unwrap_or(true)).await?)
}

/// The answer's text as it is generated: newline-separated JSON [`StreamEvent`]s, starting with
/// everything written so far (so a reloaded page catches up) and ending with the stored message.
#[server(endpoint = "chat/stream", input = Json, output = StreamingText, client = BookChatClient)]
pub async fn stream_answer(message_id: i64) -> Result<TextStream<AppError>, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    let events = chat::follow(&state, &caller, message_id).await?;
    Ok(TextStream::new(events))
}

/// Stop an answer being written. The text so far is kept, marked `stopped`.
#[server(endpoint = "chat/stop", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn stop_answer(message_id: i64) -> Result<Message, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    Ok(chat::stop(&state, &caller, message_id).await?)
}

/// Write an answer again. Returns it `streaming`; follow it with [`stream_answer`].
#[server(endpoint = "chat/regenerate", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn regenerate_answer(message_id: i64) -> Result<Message, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    let client = auth::client_ip(&state).await;
    Ok(chat::regenerate(&state, &caller, client, message_id).await?)
}

/// Rate an answer: `rating` 1 (helpful), -1 (not helpful) or 0 (clear); optional comment.
#[server(endpoint = "chat/feedback", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn rate_answer(message_id: i64, rating: i16, #[server(default)] comment: Option<String>) -> Result<Message, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    Ok(chat::feedback(&state, &caller, message_id, rating, comment).await?)
}

/// Questions to suggest for an empty conversation, drawn from the headings of `page_url`.
#[server(endpoint = "chat/suggestions", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn suggest_questions(#[server(default)] page_url: Option<String>) -> Result<Suggestions, AppError> {
    use crate::server::chat::{self, auth};
    let (state, _caller) = auth::caller().await?;
    if page_url.as_ref().is_some_and(|u| u.len() > 2_000) {
        return Err(AppError::validation("page_url", "The page URL is too long."));
    }
    Ok(chat::suggestions(&state, page_url.as_deref()).await?)
}

/// The caller's conversations, newest activity first, keyset-paginated.
#[server(endpoint = "conversations/list", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn list_conversations(
    #[server(default)] cursor: Option<String>,
    #[server(default)] limit: Option<u32>,
    #[server(default)] archived: Option<bool>,
) -> Result<ConversationPage, AppError> {
    use crate::server::chat::{self, auth};
    let state = auth::app_state()?;
    let token = auth::token().await?;
    let limit = page_size(limit)?;
    Ok(chat::list_by_token(&state, &token, cursor.as_deref(), limit, archived.unwrap_or(false)).await?)
}

/// A window of a conversation's messages: the newest `limit`, or those before `before`.
#[server(endpoint = "conversations/messages", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn load_messages(
    conversation_id: Uuid,
    #[server(default)] before: Option<i64>,
    #[server(default)] limit: Option<u32>,
) -> Result<MessagePage, AppError> {
    use crate::server::chat::{self, auth};
    let state = auth::app_state()?;
    let token = auth::token().await?;
    let limit = page_size(limit)?;
    Ok(chat::window_by_token(&state, &token, conversation_id, before, limit).await?)
}

#[server(endpoint = "conversations/rename", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn rename_conversation(conversation_id: Uuid, title: String) -> Result<ConversationSummary, AppError> {
    use crate::model::Title;
    use crate::server::{chat::auth, db::conversations};
    let (state, caller) = auth::caller().await?;
    let title = Title::parse(&title)?;
    Ok(conversations::rename(&state.pool, &caller, conversation_id, &title).await?)
}

/// Archive (`archived`) or restore (`open`) a conversation.
#[server(endpoint = "conversations/status", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn set_conversation_status(
    conversation_id: Uuid,
    status: ConversationStatus,
) -> Result<ConversationSummary, AppError> {
    use crate::server::{chat::auth, db::conversations};
    let (state, caller) = auth::caller().await?;
    Ok(conversations::set_status(&state.pool, &caller, conversation_id, status).await?)
}

#[server(endpoint = "conversations/delete", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn delete_conversation(conversation_id: Uuid) -> Result<(), AppError> {
    use crate::server::{chat::auth, db::conversations};
    let (state, caller) = auth::caller().await?;
    Ok(conversations::delete(&state.pool, &caller, conversation_id).await?)
}

/// Delete every conversation of the caller. Returns how many were deleted.
#[server(endpoint = "conversations/delete-all", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn delete_all_conversations() -> Result<u64, AppError> {
    use crate::server::{chat::auth, db::conversations};
    let (state, caller) = auth::caller().await?;
    Ok(conversations::delete_all(&state.pool, &caller).await?)
}

/// Full-text search over the caller's own conversation titles and messages.
#[server(endpoint = "conversations/search", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn search_history(query: String) -> Result<Vec<SearchHit>, AppError> {
    use crate::model::SearchQuery;
    use crate::server::{chat::auth, db::conversations};
    let (state, caller) = auth::caller().await?;
    let query = SearchQuery::parse(&query)?;
    Ok(conversations::search(&state.read_pool, &caller, &query, 30).await?)
}

#[server(endpoint = "conversations/export", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn export_conversation(conversation_id: Uuid, format: ExportFormat) -> Result<ExportFile, AppError> {
    use crate::server::chat::{self, auth};
    let (state, caller) = auth::caller().await?;
    Ok(chat::export(&state, &caller, conversation_id, format).await?)
}

/// Share a conversation as a read-only link (`/share/{id}`) showing it as it is now. Sharing
/// again keeps the link and adds what was said since. Only the conversation's owner may.
#[server(endpoint = "conversations/share", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn share_conversation(conversation_id: Uuid) -> Result<ShareLink, AppError> {
    use crate::server::chat::{auth, share};
    let (state, caller) = auth::caller().await?;
    Ok(share::share(&state, &caller, conversation_id).await?)
}

/// Revoke a conversation's shared link: it stops working at once.
#[server(endpoint = "conversations/unshare", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn unshare_conversation(conversation_id: Uuid) -> Result<(), AppError> {
    use crate::server::chat::{auth, share};
    let (state, caller) = auth::caller().await?;
    Ok(share::revoke(&state, &caller, conversation_id).await?)
}

/// Continue a conversation someone shared: a copy goes into the caller's own history (the
/// sharer's conversation is untouched and sees nothing of it). Returns the copy.
#[server(endpoint = "shared/continue", input = Json, output = JsonResult, client = BookChatClient)]
pub async fn continue_shared(share_id: String) -> Result<ConversationSummary, AppError> {
    use crate::server::chat::{auth, share};
    let (state, caller) = auth::caller().await?;
    let client = auth::client_ip(&state).await;
    Ok(share::continue_shared(&state, &caller, client, share_id.trim()).await?)
}
