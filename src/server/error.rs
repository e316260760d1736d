//! The server-side error. Every use case returns `ServerError`: either an answer meant for the
//! client as it is (`Client`: invalid input, not found, slow down…) or a failure with its cause
//! and the context it happened in. It becomes the wire's `AppError` once, at the API edge
//! (`From<ServerError> for AppError`), which is also where every 500 is logged with its cause —
//! so no path can turn into an opaque 500 without a log line, and no cause reaches the client.

use crate::error::AppError;
use std::fmt;

pub type ServerResult<T> = Result<T, ServerError>;

#[derive(Debug)]
pub enum ServerError {
    /// An outcome the client is told as it is.
    Client(AppError),
    /// A dependency is down or timed out (503, "try again shortly"); logged as a warning.
    Unavailable { context: &'static str, cause: Cause },
    /// A bug or an inconsistency (opaque 500); logged as an error with its cause.
    Internal { context: &'static str, cause: Cause },
}

/// Why something failed, for the log only.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The message a client sees while the database is unreachable.
const UNAVAILABLE: &str = "The chat service is temporarily unavailable. Please try again shortly.";

impl ServerError {
    /// An internal failure described by a message (an invariant that did not hold).
    pub fn internal(context: &'static str, cause: impl Into<Cause>) -> Self {
        ServerError::Internal { context, cause: cause.into() }
    }

    /// Whether this is a "not found" for the client (callers that tell ownership changes apart).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ServerError::Client(AppError::NotFound { .. }))
    }

    /// Name the operation that failed; a client outcome keeps what it says.
    pub fn context(self, context: &'static str) -> Self {
        match self {
            ServerError::Internal { cause, .. } => ServerError::Internal { context, cause },
            ServerError::Unavailable { cause, .. } => ServerError::Unavailable { context, cause },
            client => client,
        }
    }

    /// The wire error, logging what the client will not see. Called once per failure, at the edge.
    pub fn into_app_error(self) -> AppError {
        match self {
            ServerError::Client(e) => e,
            ServerError::Unavailable { context, cause } => {
                tracing::warn!(context, cause = %cause, "dependency unavailable");
                AppError::unavailable(UNAVAILABLE)
            }
            ServerError::Internal { context, cause } => {
                tracing::error!(context, cause = %cause, "internal error");
                AppError::Internal
            }
        }
    }
}

impl ServerError {
    /// "Try again": the database (or a connection to it) is gone for the moment.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ServerError::Unavailable { .. })
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Client(e) => write!(f, "{e}"),
            ServerError::Unavailable { context, cause } => write!(f, "{context}: unavailable: {cause}"),
            ServerError::Internal { context, cause } => write!(f, "{context}: {cause}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<AppError> for ServerError {
    fn from(e: AppError) -> Self {
        ServerError::Client(e)
    }
}

/// At the API edge: the one place a server error becomes the wire error (and is logged).
impl From<ServerError> for AppError {
    fn from(e: ServerError) -> Self {
        e.into_app_error()
    }
}

/// Lost connections, a full pool and a restarting server are "try again"; anything else is a bug.
impl From<sqlx::Error> for ServerError {
    fn from(e: sqlx::Error) -> Self {
        let unavailable = match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => is_connection_loss(db.code().as_deref()),
            _ => false,
        };
        if unavailable {
            ServerError::Unavailable { context: "database", cause: e.into() }
        } else {
            ServerError::Internal { context: "database", cause: e.into() }
        }
    }
}

impl From<tokio::task::JoinError> for ServerError {
    fn from(e: tokio::task::JoinError) -> Self {
        ServerError::internal("background task", e)
    }
}

impl From<serde_json::Error> for ServerError {
    fn from(e: serde_json::Error) -> Self {
        ServerError::internal("json", e)
    }
}

/// SQLSTATE classes that mean "the server went away / is starting / shutting down".
fn is_connection_loss(code: Option<&str>) -> bool {
    matches!(code, Some(c) if c.starts_with("08") || c.starts_with("57P") || c == "53300")
}

/// `.context("…")` on results and `.or_internal("…")` on options that must be there.
pub trait Context<T> {
    fn context(self, context: &'static str) -> ServerResult<T>;
}

impl<T, E: Into<ServerError>> Context<T> for Result<T, E> {
    fn context(self, context: &'static str) -> ServerResult<T> {
        self.map_err(|e| e.into().context(context))
    }
}

pub trait Expected<T> {
    /// A row or value that must exist here (its absence is a bug, not the client's fault).
    fn or_internal(self, context: &'static str) -> ServerResult<T>;
}

impl<T> Expected<T> for Option<T> {
    fn or_internal(self, context: &'static str) -> ServerResult<T> {
        self.ok_or_else(|| ServerError::internal(context, "expected row or value is missing"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_are_opaque_or_unavailable_and_keep_their_cause_for_the_log() {
        let internal = ServerError::from(sqlx::Error::RowNotFound).context("reading a conversation");
        assert!(internal.to_string().contains("reading a conversation"), "{internal}");
        assert_eq!(internal.into_app_error(), AppError::Internal);
        let down = ServerError::from(sqlx::Error::PoolTimedOut);
        assert!(matches!(down.into_app_error(), AppError::Unavailable { .. }));
    }

    /// Everything logged while `f` runs, as text.
    fn logged(f: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().map_err(|_| std::io::ErrorKind::Other)?.extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || sink.clone()).finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes).expect("utf-8 log")
    }

    #[test]
    fn every_internal_error_leaves_one_log_line_with_its_context_and_cause() {
        let log = logged(|| {
            let e = None::<u8>.or_internal("the answer just sent").unwrap_err();
            assert_eq!(AppError::from(e), AppError::Internal);
        });
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains("ERROR") && log.contains("the answer just sent") && log.contains("missing"), "{log}");
        let log = logged(|| {
            let e: ServerError = Err::<(), _>(sqlx::Error::PoolTimedOut).context("listing conversations").unwrap_err();
            assert!(matches!(AppError::from(e), AppError::Unavailable { .. }));
        });
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains("WARN") && log.contains("listing conversations") && log.contains("pool timed out"), "{log}");
        // What the client is told as it is needs no log line.
        let log = logged(|| {
            let _ = AppError::from(ServerError::from(AppError::Unauthorized));
        });
        assert!(log.is_empty(), "{log}");
    }

    #[test]
    fn client_outcomes_pass_through_unchanged() {
        let e = ServerError::from(AppError::not_found("conversation")).context("ignored");
        assert!(e.is_not_found());
        assert_eq!(AppError::from(e), AppError::not_found("conversation"));
    }

    #[test]
    fn a_missing_value_is_an_internal_error_with_its_context() {
        let e = None::<u8>.or_internal("the answer just written").unwrap_err();
        assert!(e.to_string().contains("the answer just written"));
        assert_eq!(e.into_app_error(), AppError::Internal);
    }
}
