//! The one error type that crosses the wire. Server functions return it; the widget matches on
//! its kind to show the right message (fix your input / not found / slow down / retry later).
//! Internal failures are opaque: details are logged on the server, never sent to the browser.

use serde::{Deserialize, Serialize};
use crate::model::json::{FromJson, Json, JsonError};
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "WireError")]
pub enum AppError {
    /// The request was understood but a field is invalid (blank message, title too long…).
    /// `rule` names what was broken when a reader can break it, so the widget says it in the
    /// reader's language; `message` is the English sentence (with the numbers) for everyone else.
    #[error("{message}")]
    Validation {
        field: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rule: Option<Rule>,
    },
    /// The request body or arguments could not be decoded at all.
    #[error("bad request: {message}")]
    BadRequest { message: String },
    /// Missing, unknown or expired session token.
    #[error("your chat session has expired; reload to start a new one")]
    Unauthorized,
    /// The request is understood but refused (e.g. a user identity that fails verification).
    #[error("{message}")]
    Forbidden { message: String },
    /// Unknown id, or an id that belongs to someone else (indistinguishable on purpose).
    #[error("{what} not found")]
    NotFound { what: String },
    /// Too many requests; try again after the given number of seconds.
    #[error("too many requests; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// Too many answers are being written right now; nothing was stored, try again later.
    #[error("BookChat is answering many questions right now; try again in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// A dependency (database, language model) is down or timed out; retrying later may work.
    #[error("{message}")]
    Unavailable { message: String },
    /// Something went wrong on the server. Deliberately carries no detail.
    #[error("something went wrong on our side")]
    Internal,
    /// The browser could not reach the server (offline, connection dropped).
    #[error("could not reach the server: {message}")]
    Network { message: String },
}

/// A rule of the API that a reader can break from the widget or the history pages. The widget
/// has a sentence for each in every interface language (`ui::i18n`); the server's message stays
/// the English one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    QuestionEmpty,
    QuestionControl,
    QuestionTooLong,
    PassageTooLong,
    TitleEmpty,
    TitleMultiline,
    TitleTooLong,
    SearchEmpty,
    SearchControl,
    SearchTooLong,
    CommentTooLong,
    CommentControl,
    ConversationClosed,
    ChapterNeedsPage,
    PageNotInChapter,
    AnswerInProgress,
    NothingToShare,
}

impl Rule {
    pub const ALL: [Rule; 17] = [
        Rule::QuestionEmpty,
        Rule::QuestionControl,
        Rule::QuestionTooLong,
        Rule::PassageTooLong,
        Rule::TitleEmpty,
        Rule::TitleMultiline,
        Rule::TitleTooLong,
        Rule::SearchEmpty,
        Rule::SearchControl,
        Rule::SearchTooLong,
        Rule::CommentTooLong,
        Rule::CommentControl,
        Rule::ConversationClosed,
        Rule::ChapterNeedsPage,
        Rule::PageNotInChapter,
        Rule::AnswerInProgress,
        Rule::NothingToShare,
    ];

    /// The stable code on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Rule::QuestionEmpty => "question_empty",
            Rule::QuestionControl => "question_control",
            Rule::QuestionTooLong => "question_too_long",
            Rule::PassageTooLong => "passage_too_long",
            Rule::TitleEmpty => "title_empty",
            Rule::TitleMultiline => "title_multiline",
            Rule::TitleTooLong => "title_too_long",
            Rule::SearchEmpty => "search_empty",
            Rule::SearchControl => "search_control",
            Rule::SearchTooLong => "search_too_long",
            Rule::CommentTooLong => "comment_too_long",
            Rule::CommentControl => "comment_control",
            Rule::ConversationClosed => "conversation_closed",
            Rule::ChapterNeedsPage => "chapter_needs_page",
            Rule::PageNotInChapter => "page_not_in_chapter",
            Rule::AnswerInProgress => "answer_in_progress",
            Rule::NothingToShare => "nothing_to_share",
        }
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The request field the rule is about.
    pub fn field(self) -> &'static str {
        match self {
            Rule::QuestionEmpty | Rule::QuestionControl | Rule::QuestionTooLong => "content",
            Rule::PassageTooLong => "selection",
            Rule::TitleEmpty | Rule::TitleMultiline | Rule::TitleTooLong => "title",
            Rule::SearchEmpty | Rule::SearchControl | Rule::SearchTooLong => "query",
            Rule::CommentTooLong | Rule::CommentControl => "comment",
            Rule::ConversationClosed | Rule::NothingToShare => "conversation_id",
            Rule::ChapterNeedsPage | Rule::PageNotInChapter => "chapter_only",
            Rule::AnswerInProgress => "message_id",
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl AppError {
    /// Seconds the client should wait before trying again (`Retry-After`), when known.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// A field that is invalid in a way only a client program (not a reader) can cause.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation { field: field.to_owned(), message: message.into(), rule: None }
    }

    /// A rule a reader broke, with its English sentence.
    pub fn invalid(rule: Rule, message: impl Into<String>) -> Self {
        AppError::Validation { field: rule.field().to_owned(), message: message.into(), rule: Some(rule) }
    }

    pub fn not_found(what: &str) -> Self {
        AppError::NotFound { what: what.to_owned() }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        AppError::Unavailable { message: message.into() }
    }

    /// The HTTP status a server function answers with when it fails with this error.
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Validation { .. } => 422,
            AppError::BadRequest { .. } => 400,
            AppError::Unauthorized => 401,
            AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::RateLimited { .. } => 429,
            AppError::Unavailable { .. } | AppError::Busy { .. } => 503,
            AppError::Internal | AppError::Network { .. } => 500,
        }
    }

    /// Whether sending the same request again may succeed (the widget offers "Retry").
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AppError::RateLimited { .. }
                | AppError::Busy { .. }
                | AppError::Unavailable { .. }
                | AppError::Network { .. }
                | AppError::Internal
        )
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::api::codec::ApiJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m)
            | ServerFnErrorErr::MissingArg(m)
            | ServerFnErrorErr::Deserialization(m) => AppError::BadRequest { message: first_line(&m) },
            ServerFnErrorErr::Registration(_) => AppError::not_found("endpoint"),
            ServerFnErrorErr::Request(m) => AppError::Network { message: first_line(&m) },
            ServerFnErrorErr::UnsupportedRequestMethod(m) => AppError::BadRequest { message: first_line(&m) },
            // Response decoding problems and server-side failures carry no detail for the user.
            _ => AppError::Internal,
        }
    }
}

/// The error as it is read back: one flat record instead of serde's internally tagged enum,
/// whose decoder buffers every field into an intermediate tree first — in the widget's
/// WebAssembly that machinery cost more than all the other error handling together.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ErrorKind {
    Validation,
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    RateLimited,
    Busy,
    Unavailable,
    Internal,
    Network,
}

#[derive(Deserialize)]
struct WireError {
    kind: ErrorKind,
    field: Option<String>,
    message: Option<String>,
    what: Option<String>,
    retry_after_secs: Option<u64>,
    /// A code, not the enum: a rule this client does not know yet is shown by its message.
    rule: Option<String>,
}

impl TryFrom<WireError> for AppError {
    type Error = &'static str;

    fn try_from(w: WireError) -> Result<Self, Self::Error> {
        let text = |v: Option<String>, name: &'static str| v.ok_or(name);
        let secs = || w.retry_after_secs.ok_or("missing field `retry_after_secs`");
        Ok(match w.kind {
            ErrorKind::Validation => AppError::Validation {
                field: text(w.field, "missing field `field`")?,
                message: text(w.message, "missing field `message`")?,
                rule: w.rule.as_deref().and_then(Rule::from_code),
            },
            ErrorKind::BadRequest => AppError::BadRequest { message: text(w.message, "missing field `message`")? },
            ErrorKind::Unauthorized => AppError::Unauthorized,
            ErrorKind::Forbidden => AppError::Forbidden { message: text(w.message, "missing field `message`")? },
            ErrorKind::NotFound => AppError::NotFound { what: text(w.what, "missing field `what`")? },
            ErrorKind::RateLimited => AppError::RateLimited { retry_after_secs: secs()? },
            ErrorKind::Busy => AppError::Busy { retry_after_secs: secs()? },
            ErrorKind::Unavailable => AppError::Unavailable { message: text(w.message, "missing field `message`")? },
            ErrorKind::Internal => AppError::Internal,
            ErrorKind::Network => AppError::Network { message: text(w.message, "missing field `message`")? },
        })
    }
}

/// How the widget reads an error (see `model::json`): the same flat record as `WireError`.
impl FromJson for AppError {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        let kind = match o.take::<String>("kind")?.as_str() {
            "validation" => ErrorKind::Validation,
            "bad_request" => ErrorKind::BadRequest,
            "unauthorized" => ErrorKind::Unauthorized,
            "forbidden" => ErrorKind::Forbidden,
            "not_found" => ErrorKind::NotFound,
            "rate_limited" => ErrorKind::RateLimited,
            "busy" => ErrorKind::Busy,
            "unavailable" => ErrorKind::Unavailable,
            "internal" => ErrorKind::Internal,
            "network" => ErrorKind::Network,
            _ => return Err(JsonError::new("unknown error kind")),
        };
        let wire = WireError {
            kind,
            field: o.take("field")?,
            message: o.take("message")?,
            what: o.take("what")?,
            retry_after_secs: o.take("retry_after_secs")?,
            rule: o.take("rule")?,
        };
        AppError::try_from(wire).map_err(JsonError::new)
    }
}

/// Decoder messages can embed the whole offending input; one short line is enough for a client.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_widget_reads_every_error_as_serde_writes_it() {
        for e in [
            AppError::validation("title", "too long"),
            AppError::invalid(Rule::TitleTooLong, "The title is limited to 200 characters."),
            AppError::BadRequest { message: "bad".into() },
            AppError::Unauthorized,
            AppError::Forbidden { message: "no".into() },
            AppError::not_found("conversation"),
            AppError::RateLimited { retry_after_secs: 7 },
            AppError::Busy { retry_after_secs: 2 },
            AppError::Unavailable { message: "db".into() },
            AppError::Internal,
            AppError::Network { message: "offline".into() },
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(crate::model::json::from_slice::<AppError>(json.as_bytes()), Ok(e), "{json}");
        }
        for bad in [r#"{"kind":"rate_limited"}"#, r#"{"kind":"teapot"}"#, r#"{"message":"x"}"#, "[]"] {
            assert!(crate::model::json::from_slice::<AppError>(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips_through_json_with_a_kind_tag() {
        let e = AppError::RateLimited { retry_after_secs: 7 };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, r#"{"kind":"rate_limited","retry_after_secs":7}"#);
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e);
    }

    #[test]
    fn every_kind_reads_back_as_it_was_written() {
        for e in [
            AppError::validation("content", "Type a question first."),
            AppError::invalid(Rule::ConversationClosed, "This conversation is closed."),
            AppError::BadRequest { message: "bad".into() },
            AppError::Unauthorized,
            AppError::Forbidden { message: "no".into() },
            AppError::not_found("conversation"),
            AppError::RateLimited { retry_after_secs: 3 },
            AppError::Busy { retry_after_secs: 2 },
            AppError::unavailable("database"),
            AppError::Internal,
            AppError::Network { message: "offline".into() },
        ] {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), e, "{json}");
        }
    }

    #[test]
    fn an_error_missing_its_fields_is_rejected() {
        let err = serde_json::from_str::<AppError>(r#"{"kind":"rate_limited"}"#).unwrap_err();
        assert!(err.to_string().contains("retry_after_secs"), "{err}");
        assert!(serde_json::from_str::<AppError>(r#"{"kind":"teapot"}"#).is_err());
    }

    #[test]
    fn decoding_failures_are_client_errors_without_the_payload() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing field `content`\nat {...}".into()));
        assert_eq!(e.status_code(), 400);
        assert_eq!(e, AppError::BadRequest { message: "missing field `content`".into() });
    }

    #[test]
    fn server_errors_are_opaque() {
        let e = AppError::from_server_fn_error(ServerFnErrorErr::ServerError("relation \"x\" does not exist".into()));
        assert_eq!(e, AppError::Internal);
        assert!(!serde_json::to_string(&e).unwrap().contains("relation"));
    }
}
