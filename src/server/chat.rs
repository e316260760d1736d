//! The chat flows that span several tables: sending a question (idempotently) and getting it
//! answered, reading a conversation window, exporting a conversation.

use super::answer;
use super::db::messages::{self, Metadata, MessageRow};
use super::db::{conversations, Caller};
use super::state::AppState;
use crate::error::AppError;
use crate::model::{
    ConversationStatus, ExportFile, ExportFormat, MessagePage, MessageStatus, MessageText, PageContext, Role,
    SendResult, Title, MAX_PASSAGE_CHARS,
};
use uuid::Uuid;

/// A validated question.
pub struct NewQuestion {
    pub conversation_id: Option<Uuid>,
    pub client_id: Uuid,
    pub text: MessageText,
    pub context: PageContext,
}

impl NewQuestion {
    pub fn parse(
        conversation_id: Option<Uuid>,
        client_id: Uuid,
        content: &str,
        context: Option<PageContext>,
    ) -> Result<Self, AppError> {
        if client_id.is_nil() {
            return Err(AppError::validation("client_id", "A message id is required."));
        }
        let text = MessageText::parse(content)?;
        let mut context = context.unwrap_or_default();
        if let Some(sel) = context.selection.as_deref() {
            let sel = sel.trim();
            if sel.chars().count() > MAX_PASSAGE_CHARS {
                return Err(AppError::validation(
                    "selection",
                    format!("The selected passage is limited to {MAX_PASSAGE_CHARS} characters."),
                ));
            }
            context.selection = (!sel.is_empty()).then(|| sel.to_owned());
        }
        for (field, value) in [("page_url", &mut context.url), ("page_title", &mut context.title)] {
            if let Some(v) = value.as_deref() {
                if v.chars().count() > 2_000 || v.chars().any(char::is_control) {
                    return Err(AppError::validation(field, "The page context is not valid."));
                }
            }
        }
        Ok(NewQuestion { conversation_id, client_id, text, context })
    }
}

/// Store the question (creating the conversation on the first one), answer it, store the
/// answer. Sending the same `client_id` again returns what was stored the first time.
pub async fn send(state: &AppState, caller: &Caller, q: NewQuestion) -> Result<SendResult, AppError> {
    if let Some(existing) = messages::by_client_id(&state.pool, q.client_id).await? {
        return replay(state, caller, existing, &q).await;
    }
    let mut tx = state.pool.begin().await?;
    let conversation = match q.conversation_id {
        Some(id) => {
            let c = conversations::lock(&mut *tx, caller, id).await?;
            match c.status {
                ConversationStatus::Closed => {
                    return Err(AppError::validation("conversation_id", "This conversation is closed."));
                }
                // Writing into an archived or paused conversation brings it back to the list.
                ConversationStatus::Archived | ConversationStatus::Paused => {
                    conversations::reopen(&mut *tx, id).await?;
                }
                ConversationStatus::Open => {}
            }
            c
        }
        None => conversations::create(&mut *tx, caller, &Title::from_question(&q.text)).await?,
    };
    let meta = Metadata {
        quote: q.context.selection.clone(),
        page_url: q.context.url.clone(),
        page_title: q.context.title.clone(),
        ..Default::default()
    };
    let Some(question) = messages::insert_question(&mut *tx, conversation.id, q.client_id, q.text.as_str(), &meta).await?
    else {
        // A concurrent retry of this very send committed first; answer from its row.
        tx.rollback().await?;
        let existing = messages::by_client_id(&state.pool, q.client_id).await?.ok_or(AppError::Internal)?;
        return replay(state, caller, existing, &q).await;
    };
    tx.commit().await?;
    let answer = answer_and_store(state, &question).await?;
    finish(state, caller, question, answer).await
}

/// A send whose client id is already stored: same caller and same text → the stored result
/// (answering it now if the first attempt died before its answer was stored).
async fn replay(state: &AppState, caller: &Caller, existing: MessageRow, q: &NewQuestion) -> Result<SendResult, AppError> {
    // Someone else's message id is indistinguishable from an unknown conversation.
    conversations::get(&state.pool, caller, existing.conversation_id).await?;
    if existing.role != Role::User.as_str() || existing.content != q.text.as_str() {
        return Err(AppError::validation("client_id", "This message id was already used for a different message."));
    }
    let answer = match messages::answer_to(&state.pool, existing.id).await? {
        Some(a) => a,
        None => answer_and_store(state, &existing).await?,
    };
    finish(state, caller, existing, answer).await
}

async fn finish(state: &AppState, caller: &Caller, question: MessageRow, answer: MessageRow) -> Result<SendResult, AppError> {
    let conversation = conversations::get(&state.pool, caller, question.conversation_id).await?;
    Ok(SendResult { conversation, question: question.into_model(), answer: answer.into_model() })
}

async fn answer_and_store(state: &AppState, question: &MessageRow) -> Result<MessageRow, AppError> {
    let a = answer::answer_offline(&state.pool, &state.config, &question.content).await?;
    let meta = Metadata { citations: a.citations, provider: Some(a.provider), refused: a.refused, ..Default::default() };
    let stored =
        messages::insert_answer(&state.pool, question.conversation_id, question.id, &a.markdown, MessageStatus::Complete, &meta)
            .await?;
    match stored {
        Some(row) => Ok(row),
        // Another attempt answered the same question first: one answer per question.
        None => messages::answer_to(&state.pool, question.id).await?.ok_or(AppError::Internal),
    }
}

/// The newest `limit` messages of a conversation, or those before `before`.
pub async fn window(
    state: &AppState,
    caller: &Caller,
    conversation_id: Uuid,
    before: Option<i64>,
    limit: u32,
) -> Result<MessagePage, AppError> {
    let conversation = conversations::get(&state.read_pool, caller, conversation_id).await?;
    let (rows, more) = messages::window(&state.read_pool, conversation_id, before, limit).await?;
    let older_cursor = if more { rows.first().map(|m| m.id) } else { None };
    Ok(MessagePage { conversation, messages: rows.into_iter().map(MessageRow::into_model).collect(), older_cursor })
}

/// Most messages an export walks (exports are page-by-page keyset reads, never one huge query).
const EXPORT_MAX_MESSAGES: usize = 20_000;

pub async fn export(state: &AppState, caller: &Caller, conversation_id: Uuid, format: ExportFormat) -> Result<ExportFile, AppError> {
    let conversation = conversations::get(&state.read_pool, caller, conversation_id).await?;
    let mut all: Vec<MessageRow> = Vec::new();
    let mut before = None;
    loop {
        let (mut rows, more) = messages::window(&state.read_pool, conversation_id, before, 500).await?;
        before = rows.first().map(|m| m.id);
        rows.append(&mut all);
        all = rows;
        if !more || all.len() >= EXPORT_MAX_MESSAGES {
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
            .map_err(|_| AppError::Internal)?;
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
    fn file_stems_are_safe() {
        assert_eq!(file_stem("What is DDS? <script>"), "what-is-dds-script");
        assert_eq!(file_stem("../../etc/passwd"), "etc-passwd");
        assert_eq!(file_stem("???"), "conversation");
    }

    #[test]
    fn new_question_validates_everything() {
        let id = Uuid::new_v4();
        assert!(NewQuestion::parse(None, Uuid::nil(), "hi there", None).is_err());
        assert!(NewQuestion::parse(None, id, "   ", None).is_err());
        let long_sel = PageContext { selection: Some("x".repeat(MAX_PASSAGE_CHARS + 1)), ..Default::default() };
        assert!(NewQuestion::parse(None, id, "what?", Some(long_sel)).is_err());
        let ok = NewQuestion::parse(None, id, " what? ", Some(PageContext { selection: Some("  ".into()), ..Default::default() }))
            .unwrap();
        assert_eq!(ok.text.as_str(), "what?");
        assert_eq!(ok.context.selection, None);
    }
}
