//! A streaming client for OpenAI-compatible chat completions (`POST {base}/chat/completions`
//! with `stream: true`, answered as server-sent events: `data: {json}` lines, then
//! `data: [DONE]`). Every failure becomes an [`LlmError`] with a sentence fit for the reader.

use crate::server::config::LlmConfig;
use futures::StreamExt;
use serde::Serialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Serialize)]
pub struct ChatMessage {
    pub role: &'static str,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmError {
    /// No first token, or no next token, within the timeout.
    Timeout,
    /// The provider rate limited us (HTTP 429).
    RateLimited,
    /// The provider rejected our key (HTTP 401/403): a configuration problem.
    Unauthorized,
    /// Any other non-success status.
    Status(u16),
    /// Could not connect, or the connection dropped before `[DONE]`.
    Disconnected,
    /// The provider spoke something other than the chat-completions stream format.
    Protocol,
}

impl LlmError {
    /// What the reader is told; the question itself is always kept.
    pub fn user_message(&self) -> &'static str {
        match self {
            LlmError::Timeout => "The answer service took too long to respond. Your question is saved — try regenerating.",
            LlmError::RateLimited => "The answer service is busy right now. Your question is saved — try again in a moment.",
            LlmError::Unauthorized | LlmError::Protocol => {
                "The answer service is not available. Your question is saved — please try again later."
            }
            LlmError::Status(_) => "The answer service had a problem. Your question is saved — try regenerating.",
            LlmError::Disconnected => "The connection to the answer service dropped. The partial answer is kept — try regenerating.",
        }
    }
}

/// How a stream ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Done,
    Cancelled,
}

/// Stream a completion, calling `on_delta` with each piece of text. Returns when the provider
/// sends `[DONE]`, when `cancel` fires, or with the error that ended it.
pub async fn stream_chat(
    http: &reqwest::Client,
    cfg: &LlmConfig,
    messages: &[ChatMessage],
    cancel: &CancellationToken,
    mut on_delta: impl FnMut(&str),
) -> Result<Finish, LlmError> {
    let base = cfg.base_url.as_deref().unwrap_or_default().trim_end_matches('/');
    let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
    let mut req = http
        .post(format!("{base}/chat/completions"))
        .json(&serde_json::json!({
            "model": cfg.model,
            "messages": messages,
            "stream": true,
            "temperature": 0.2,
            "max_tokens": cfg.max_tokens.max(1),
        }))
        .header("accept", "text/event-stream");
    if let Some(key) = &cfg.api_key {
        req = req.bearer_auth(key.expose());
    }
    let res = tokio::select! {
        _ = cancel.cancelled() => return Ok(Finish::Cancelled),
        r = tokio::time::timeout(timeout, req.send()) => match r {
            Err(_) => return Err(LlmError::Timeout),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "language model request failed");
                return Err(if e.is_timeout() { LlmError::Timeout } else { LlmError::Disconnected });
            }
            Ok(Ok(res)) => res,
        },
    };
    match res.status().as_u16() {
        200..=299 => {}
        429 => return Err(LlmError::RateLimited),
        401 | 403 => {
            tracing::error!("language model provider rejected the API key");
            return Err(LlmError::Unauthorized);
        }
        s => {
            tracing::warn!(status = s, "language model provider error");
            return Err(LlmError::Status(s));
        }
    }
    let mut body = res.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = cancel.cancelled() => return Ok(Finish::Cancelled),
            c = tokio::time::timeout(timeout, body.next()) => match c {
                Err(_) => return Err(LlmError::Timeout),
                Ok(None) => return Err(LlmError::Disconnected), // ended without [DONE]
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "language model stream broke");
                    return Err(LlmError::Disconnected);
                }
                Ok(Some(Ok(bytes))) => bytes,
            },
        };
        buf.extend_from_slice(&chunk);
        // SSE events are lines; a network chunk may end mid-line, so keep the tail.
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            let Some(data) = line.strip_prefix("data:") else { continue };
            let data = data.trim();
            if data == "[DONE]" {
                return Ok(Finish::Done);
            }
            let v: serde_json::Value = serde_json::from_str(data).map_err(|_| LlmError::Protocol)?;
            if v.get("error").is_some() {
                tracing::warn!("language model sent an error event");
                return Err(LlmError::Status(502));
            }
            if let Some(text) = v["choices"][0]["delta"]["content"].as_str() {
                if !text.is_empty() {
                    on_delta(text);
                }
            }
        }
    }
}
