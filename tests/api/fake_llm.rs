//! A fake OpenAI-compatible provider on loopback, speaking the real streaming wire format
//! (`text/event-stream`, `data: {chunk}` lines, `data: [DONE]`). What it does depends on a tag in
//! the question: `[slow]`, `[error]`, `[busy]`, `[drop]`, `[hang]`, `[long]` (50,000 characters,
//! ignoring `max_tokens` as a misbehaving provider would); otherwise it streams a
//! short cited answer quickly. Every request body is recorded for assertions.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct FakeLlm {
    pub requests: Arc<Mutex<Vec<Value>>>,
}

pub const FULL_ANSWER: [&str; 6] = ["The ", "zero-moment ", "point ", "keeps the ", "foot flat ", "[1]."];

fn chunk(text: &str) -> Bytes {
    let v = json!({
        "id": "chatcmpl-test", "object": "chat.completion.chunk", "model": "test-model",
        "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }]
    });
    Bytes::from(format!("data: {v}\n\n"))
}

async fn completions(State(fake): State<FakeLlm>, Json(body): Json<Value>) -> Response {
    fake.requests.lock().unwrap().push(body.clone());
    let last = body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["content"].as_str()).unwrap_or("").to_owned();
    if last.contains("[error]") {
        return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": {"message": "boom"}}))).into_response();
    }
    if last.contains("[busy]") {
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")], "slow down").into_response();
    }
    if last.contains("[hang]") {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    let (delay, drop_after) = if last.contains("[slow]") {
        (Duration::from_millis(250), None)
    } else if last.contains("[drop]") {
        (Duration::from_millis(20), Some(3))
    } else {
        (Duration::from_millis(5), None)
    };
    let (tx, rx) = futures::channel::mpsc::channel::<Result<Bytes, Infallible>>(8);
    tokio::spawn(async move {
        use futures::SinkExt;
        let mut tx = tx;
        // Split a chunk across network writes to exercise line reassembly.
        let role = Bytes::from("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assi");
        let _ = tx.send(Ok(role)).await;
        let _ = tx.send(Ok(Bytes::from("stant\"}}]}\n\n"))).await;
        if last.contains("[long]") {
            for _ in 0..50 {
                if tx.send(Ok(chunk(&"word ".repeat(200)))).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(Ok(Bytes::from("data: [DONE]\n\n"))).await;
            return;
        }
        let n = if last.contains("[slow]") { 40 } else { FULL_ANSWER.len() };
        for i in 0..n {
            if drop_after == Some(i) {
                return; // connection closes without [DONE]
            }
            tokio::time::sleep(delay).await;
            let piece = FULL_ANSWER[i % FULL_ANSWER.len()];
            if tx.send(Ok(chunk(piece))).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Ok(Bytes::from("data: [DONE]\n\n"))).await;
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(rx))
        .unwrap()
}

impl FakeLlm {
    /// Start on a loopback port; returns the base URL to configure (`…/v1`).
    pub async fn start() -> (FakeLlm, String) {
        let fake = FakeLlm::default();
        let app = Router::new().route("/v1/chat/completions", post(completions)).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        (fake, format!("http://{addr}/v1"))
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last(&self) -> Value {
        self.requests.lock().unwrap().last().cloned().unwrap_or(Value::Null)
    }
}
