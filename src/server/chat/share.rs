//! Sharing a conversation as a read-only link, revoking it, and continuing someone's shared
//! conversation as one's own.

use crate::error::AppError;
use crate::model::{ConversationSummary, ShareLink};
use crate::server::db::shares::{self, Continued, Shared, SharedConversation};
use crate::server::db::Caller;
use crate::server::error::ServerResult;
use crate::server::state::AppState;
use uuid::Uuid;

/// The link's path on this server.
pub fn path(id: &str) -> String {
    format!("/share/{id}")
}

/// Share the caller's conversation (or refresh its link to include what was said since).
pub async fn share(state: &AppState, caller: &Caller, conversation_id: Uuid) -> ServerResult<ShareLink> {
    match shares::share(&state.pool, caller, conversation_id).await? {
        Shared::NotFound => Err(AppError::not_found("conversation").into()),
        Shared::Empty => Err(AppError::invalid(crate::error::Rule::NothingToShare, "There is nothing to share yet: ask a question first.").into()),
        Shared::Link(s) => Ok(ShareLink { path: path(&s.id), id: s.id, message_count: s.message_count, created_at: s.created_at }),
    }
}

/// Stop sharing: the link stops working at once.
pub async fn revoke(state: &AppState, caller: &Caller, conversation_id: Uuid) -> ServerResult<()> {
    shares::revoke(&state.pool, caller, conversation_id).await
}

/// What a link shows, or `NotFound` (unknown and revoked links look the same).
pub async fn read(state: &AppState, share_id: &str) -> ServerResult<SharedConversation> {
    shares::read(&state.pool, share_id).await?.ok_or_else(|| AppError::not_found("shared conversation").into())
}

/// Copy a shared conversation into the caller's history; the copy is theirs to continue.
/// Continuing the same link again opens the copy made before. A copy is work (its messages and
/// their index entries), so it counts as a question against the reader's and their address's
/// allowance (`client`), and a conversation longer than a reader may copy is refused plainly.
pub async fn continue_shared(state: &AppState, caller: &Caller, client: Option<std::net::IpAddr>, share_id: &str) -> ServerResult<ConversationSummary> {
    state.limits.check_question(caller, client)?;
    // Read from the primary: a link revoked a moment ago must not be copied from a lagging replica.
    let shared = read(state, share_id).await?;
    match shares::copy_to(&state.pool, caller, share_id, &shared).await? {
        Continued::SessionEnded => Err(AppError::Unauthorized.into()),
        Continued::TooLong => Err(AppError::validation(
            "share_id",
            format!("This shared conversation is too long to continue as your own (at most {} messages); you can still read it.", shares::MAX_COPIED_MESSAGES),
        )
        .into()),
        Continued::Copied(c) => Ok(c.into()),
    }
}
