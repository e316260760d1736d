//! Types shared by the server and the browser: what server functions take and return.
//! Input newtypes validate on construction, so code past the API boundary cannot hold a blank
//! message or an over-long title.

pub mod json;
mod text;
pub mod time;

pub use time::{Instant, Timestamp};
pub use text::{MessageText, SearchQuery, Title, MAX_COMMENT_CHARS, MAX_MESSAGE_CHARS, MAX_PASSAGE_CHARS, MAX_SEARCH_CHARS, MAX_TITLE_CHARS};

use json::{from_json_fields, FromJson, Json, JsonError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
}

impl FromJson for Role {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        Role::parse(&String::from_json(value)?).ok_or_else(|| JsonError::new("unknown role"))
    }
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

/// Lifecycle of an assistant answer (user messages are always `Complete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Complete,
    Streaming,
    Stopped,
    Failed,
}

impl FromJson for MessageStatus {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        MessageStatus::parse(&String::from_json(value)?).ok_or_else(|| JsonError::new("unknown status"))
    }
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Stopped => "stopped",
            MessageStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MessageStatus> {
        match s {
            "complete" => Some(MessageStatus::Complete),
            "streaming" => Some(MessageStatus::Streaming),
            "stopped" => Some(MessageStatus::Stopped),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }
}

/// Conversation states from the specification: open ones accept messages, archived ones are
/// hidden from the default history list but kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Paused,
    Closed,
    Archived,
}

impl FromJson for ConversationStatus {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        ConversationStatus::parse(&String::from_json(value)?).ok_or_else(|| JsonError::new("unknown status"))
    }
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Paused => "paused",
            ConversationStatus::Closed => "closed",
            ConversationStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationStatus> {
        match s {
            "open" => Some(ConversationStatus::Open),
            "paused" => Some(ConversationStatus::Paused),
            "closed" => Some(ConversationStatus::Closed),
            "archived" => Some(ConversationStatus::Archived),
            _ => None,
        }
    }
}

/// A passage of the book an answer was grounded on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// Page title ("Chapter 2: ROS 2 Architecture").
    pub title: String,
    /// Section heading inside the page ("The DDS Foundation"); empty for the page top.
    pub section: String,
    /// Link to the page and the section's anchor on the host site.
    pub url: String,
    /// A short excerpt of the passage.
    pub snippet: String,
    /// Retrieval score of the passage (higher is better; comparable within one answer). In the
    /// API's JSON; the widget neither shows nor reads it (reading a float would bring the
    /// float parser into its WebAssembly).
    #[cfg(feature = "ssr")]
    pub score: f32,
}

/// Host-page context a question may carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageContext {
    /// URL of the host page the reader is on.
    #[serde(default)]
    pub url: Option<String>,
    /// Title of that page.
    #[serde(default)]
    pub title: Option<String>,
    /// A passage the reader selected on the page and asks about.
    #[serde(default)]
    pub selection: Option<String>,
}

/// One message as the widget shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Keyset position inside the conversation (older messages have smaller ids).
    pub id: i64,
    pub client_id: Uuid,
    pub conversation_id: Uuid,
    pub role: Role,
    /// The text as written (user) or generated (assistant, Markdown).
    pub content: String,
    /// For assistant messages: the Markdown rendered to HTML and sanitised on the server.
    pub html: Option<String>,
    pub status: MessageStatus,
    pub citations: Vec<Citation>,
    /// For user messages: the selected passage the question was about.
    pub quote: Option<String>,
    /// For user messages: the book folder (chapter) the question was restricted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For failed answers: why, in words for the reader.
    pub error: Option<String>,
    /// True when the answerer found nothing relevant in the book and said so.
    pub refused: bool,
    /// The book's author's own answer (pinned on the admin page), shown as theirs.
    #[serde(default)]
    pub pinned: bool,
    /// The reader's rating of an answer, if any.
    pub feedback: Option<Feedback>,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub created_at: Timestamp,
}

/// Thumbs up (`1`) or down (`-1`) on an answer, with an optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub rating: i16,
    pub comment: Option<String>,
}

/// One event of an answer's token stream (`chat/stream`), sent as a JSON line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", try_from = "WireStreamEvent")]
pub enum StreamEvent {
    /// More text: `text` goes at character `offset` of the answer (earlier text was sent before).
    Delta { offset: usize, text: String },
    /// The answer is finished (complete, stopped or failed): the stored message.
    Done { message: Message },
}

/// A stream event as it is read back: a flat record rather than serde's internally tagged
/// decoder, which buffers the event (a whole message) into an intermediate tree and, in the
/// widget's WebAssembly, brings a second copy of the message decoder.
#[derive(Deserialize)]
struct WireStreamEvent {
    t: StreamEventKind,
    offset: Option<usize>,
    text: Option<String>,
    message: Option<Message>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StreamEventKind {
    Delta,
    Done,
}

impl TryFrom<WireStreamEvent> for StreamEvent {
    type Error = &'static str;

    fn try_from(w: WireStreamEvent) -> Result<Self, Self::Error> {
        Ok(match w.t {
            StreamEventKind::Delta => StreamEvent::Delta {
                offset: w.offset.ok_or("missing field `offset`")?,
                text: w.text.ok_or("missing field `text`")?,
            },
            StreamEventKind::Done => StreamEvent::Done { message: w.message.ok_or("missing field `message`")? },
        })
    }
}

/// A conversation in the history list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub id: Uuid,
    pub title: String,
    pub status: ConversationStatus,
    pub message_count: i32,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub last_message_at: Timestamp,
}

/// One page of the history list, newest activity first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationPage {
    pub items: Vec<ConversationSummary>,
    /// Pass back to get the next (older) page; `None` when this is the last page.
    pub next_cursor: Option<String>,
}

/// The newest (or an older) window of a conversation's messages, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    pub conversation: ConversationSummary,
    pub messages: Vec<Message>,
    /// Pass as `before` to load the messages preceding this window; `None` at the start.
    pub older_cursor: Option<i64>,
}

/// The caller's session. `token` is present only when a new session was created: the browser
/// stores it and sends it back as the `X-BookChat-Session` header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// A new session secret, when the session changed (the old one no longer works).
    pub token: Option<String>,
    pub session_id: Uuid,
    pub user: Option<UserInfo>,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub expires_at: Timestamp,
    /// Another user took over this browser: nothing of the previous reader's is shown.
    #[serde(default)]
    pub switched: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserInfo {
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Suggested questions for an empty conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestions {
    pub questions: Vec<String>,
}

/// The outcome of sending a question: the stored question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendResult {
    pub conversation: ConversationSummary,
    pub question: Message,
    pub answer: Message,
}

/// A match in the reader's own history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub conversation_id: Uuid,
    pub conversation_title: String,
    /// The matching message, or `None` when only the title matched.
    pub message_id: Option<i64>,
    pub role: Option<Role>,
    /// Plain-text excerpt around the match; matched words are wrapped in `[[` `]]`.
    pub snippet: String,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub at: Timestamp,
}

/// Export formats for a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Markdown,
    Json,
}

/// A file the browser offers for download.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportFile {
    pub filename: String,
    pub mime: String,
    pub body: String,
}

/// A read-only link to a conversation (`/share/{id}` on the BookChat server). It shows the
/// conversation as it was when shared; sharing again updates it, revoking ends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareLink {
    /// The link's unguessable id.
    pub id: String,
    /// Path of the shared page on the BookChat server (`/share/{id}`).
    pub path: String,
    /// How many messages the link shows.
    pub message_count: i64,
    #[cfg_attr(feature = "ssr", serde(serialize_with = "crate::model::time::serialize_rfc3339"))]
    pub created_at: Timestamp,
}

// How the widget reads the API's types (see `json`): field by field, under serde's names.
#[cfg(feature = "ssr")]
from_json_fields!(Citation { title, section, url, snippet, score });
#[cfg(not(feature = "ssr"))]
from_json_fields!(Citation { title, section, url, snippet });
from_json_fields!(Feedback { rating, comment });
from_json_fields!(Message {
    id, client_id, conversation_id, role, content, html, status, citations, quote, scope, error, refused, pinned, feedback,
    created_at,
});
from_json_fields!(ConversationSummary { id, title, status, message_count, created_at, last_message_at });
from_json_fields!(ConversationPage { items, next_cursor });
from_json_fields!(MessagePage { conversation, messages, older_cursor });
from_json_fields!(UserInfo { external_id, email, name });
from_json_fields!(Suggestions { questions });
from_json_fields!(SendResult { conversation, question, answer });
from_json_fields!(SearchHit { conversation_id, conversation_title, message_id, role, snippet, at });
from_json_fields!(ExportFile { filename, mime, body });
from_json_fields!(ShareLink { id, path, message_count, created_at });

impl FromJson for SessionInfo {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        Ok(SessionInfo {
            token: o.take("token")?,
            session_id: o.take("session_id")?,
            user: o.take("user")?,
            expires_at: o.take("expires_at")?,
            switched: o.take_or_default("switched")?,
        })
    }
}

impl FromJson for StreamEvent {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        match o.take::<String>("t")?.as_str() {
            "delta" => Ok(StreamEvent::Delta { offset: o.take("offset")?, text: o.take("text")? }),
            "done" => Ok(StreamEvent::Done { message: o.take("message")? }),
            _ => Err(JsonError::new("unknown stream event")),
        }
    }
}

/// What a server function with no result answers (`null`).
impl FromJson for () {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        match value {
            Json::Null => Ok(()),
            _ => Err(JsonError::new("expected null")),
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn message() -> Message {
        Message {
            id: 7,
            client_id: Uuid::nil(),
            conversation_id: Uuid::nil(),
            role: Role::Assistant,
            content: "**ROS 2** uses DDS.".into(),
            html: Some("<p><strong>ROS 2</strong> uses DDS.</p>".into()),
            status: MessageStatus::Complete,
            citations: vec![Citation { title: "Ch 2".into(), section: "DDS".into(), url: "/docs/ch2#dds".into(), snippet: "DDS".into(), score: 0.5 }],
            quote: None,
            scope: None,
            error: None,
            refused: false,
            pinned: false,
            feedback: None,
            created_at: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
        }
    }

    /// What the server writes with serde, the widget reads back (`model::json`) to the same value.
    fn reads_back<T: Serialize + FromJson + PartialEq + std::fmt::Debug>(value: T) {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(json::from_slice::<T>(text.as_bytes()).as_ref(), Ok(&value), "{text}");
    }

    #[test]
    fn the_widget_reads_every_result_as_serde_writes_it() {
        let at = chrono::DateTime::from_timestamp(1_795_000_000, 123_000_000).unwrap();
        let conversation = ConversationSummary {
            id: Uuid::new_v4(),
            title: "Tabs\t, \"quotes\" and اردو".into(),
            status: ConversationStatus::Archived,
            message_count: 12,
            created_at: at,
            last_message_at: at,
        };
        let question = Message {
            role: Role::User,
            html: None,
            status: MessageStatus::Complete,
            citations: vec![],
            quote: Some("a passage".into()),
            scope: Some("module-1".into()),
            ..message()
        };
        let rated = Message {
            id: i64::MAX,
            status: MessageStatus::Failed,
            error: Some("It failed.".into()),
            refused: true,
            pinned: false,
            feedback: Some(Feedback { rating: -1, comment: Some("wrong".into()) }),
            ..message()
        };
        reads_back(message());
        reads_back(rated.clone());
        reads_back(StreamEvent::Delta { offset: 42, text: "more \n text".into() });
        reads_back(StreamEvent::Done { message: rated.clone() });
        reads_back(SendResult { conversation: conversation.clone(), question: question.clone(), answer: message() });
        reads_back(MessagePage { conversation: conversation.clone(), messages: vec![question, rated], older_cursor: Some(-3) });
        reads_back(MessagePage { conversation: conversation.clone(), messages: vec![], older_cursor: None });
        reads_back(ConversationPage { items: vec![conversation.clone(), conversation], next_cursor: Some("c".into()) });
        reads_back(ConversationPage { items: vec![], next_cursor: None });
        let user = UserInfo { external_id: "u-1".into(), email: Some("a@b.c".into()), name: None };
        reads_back(SessionInfo { token: Some("t".into()), session_id: Uuid::new_v4(), user: Some(user), expires_at: at, switched: true });
        reads_back(SessionInfo { token: None, session_id: Uuid::new_v4(), user: None, expires_at: at, switched: false });
        reads_back(Suggestions { questions: vec!["What is ROS 2?".into()] });
        reads_back(SearchHit { conversation_id: Uuid::new_v4(), conversation_title: "T".into(), message_id: Some(9), role: Some(Role::Assistant), snippet: "[[x]]".into(), at });
        reads_back(SearchHit { conversation_id: Uuid::new_v4(), conversation_title: "T".into(), message_id: None, role: None, snippet: String::new(), at });
        reads_back(ExportFile { filename: "a.md".into(), mime: "text/markdown".into(), body: "# A\n".into() });
        reads_back(ShareLink { id: "abc".into(), path: "/share/abc".into(), message_count: 4, created_at: at });
        reads_back(());
        reads_back(7u64);
    }

    #[test]
    fn the_widget_refuses_results_of_the_wrong_shape() {
        let good = serde_json::to_value(message()).unwrap();
        for (field, bad) in [("role", serde_json::json!("robot")), ("id", serde_json::json!("7")), ("created_at", serde_json::json!("yesterday")), ("citations", serde_json::json!({}))] {
            let mut v = good.clone();
            v[field] = bad;
            let err = json::from_slice::<Message>(v.to_string().as_bytes()).unwrap_err();
            assert!(err.to_string().starts_with(field), "{field}: {err}");
        }
        let mut v = good;
        v.as_object_mut().unwrap().remove("content");
        assert_eq!(json::from_slice::<Message>(v.to_string().as_bytes()).unwrap_err().to_string(), "missing field `content`");
    }

    #[test]
    fn stream_events_keep_their_tagged_wire_form_and_read_back() {
        let delta = StreamEvent::Delta { offset: 3, text: "abc".into() };
        let json = serde_json::to_string(&delta).unwrap();
        assert_eq!(json, r#"{"t":"delta","offset":3,"text":"abc"}"#);
        assert_eq!(serde_json::from_str::<StreamEvent>(&json).unwrap(), delta);
        let done = StreamEvent::Done { message: message() };
        let json = serde_json::to_string(&done).unwrap();
        assert!(json.starts_with(r#"{"t":"done","message":{"#), "{json}");
        assert_eq!(serde_json::from_str::<StreamEvent>(&json).unwrap(), done);
    }

    #[test]
    fn a_stream_event_without_its_fields_is_rejected() {
        for bad in [r#"{"t":"delta","text":"x"}"#, r#"{"t":"done"}"#, r#"{"t":"other"}"#, r#"{"offset":1,"text":"x"}"#] {
            assert!(serde_json::from_str::<StreamEvent>(bad).is_err(), "{bad}");
        }
    }
}
