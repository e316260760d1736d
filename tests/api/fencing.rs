//! Answers across instances and failures: one generation writes, a stop reaches the generator
//! wherever it runs, a panicking job ends its answer, a runaway model is cut and still stored.

use crate::fake_llm::{FakeLlm, FULL_ANSWER};
use crate::helpers::TestApp;
use bookchat::model::MessageStatus;
use bookchat::server::db::messages::{self, Metadata};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

async fn llm_instance(pool: PgPool, url: &str, with_book: bool) -> TestApp {
    let url = url.to_owned();
    TestApp::spawn_with(pool, with_book, move |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 5;
    })
    .await
}

async fn status_of(pool: &PgPool, id: i64) -> (String, String) {
    sqlx::query_as("SELECT status, content FROM messages WHERE id = $1").bind(id).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_runaway_answer_is_cut_with_a_note_and_stored(pool: PgPool) {
    let (fake, url) = FakeLlm::start().await;
    let app = llm_instance(pool.clone(), &url, true).await;
    let g = app.guest().await;
    let r = g.ask(None, "What is the zero moment point? [long]").await;
    let a = &r["answer"];
    assert_eq!(a["status"], "complete", "{}", a["error"]);
    let content = a["content"].as_str().unwrap();
    assert!(content.ends_with(bookchat::server::answer::job::CUT_NOTE), "{}", &content[content.len() - 80..]);
    assert!(content.chars().count() <= 32_000);
    let stored: (String, String) = status_of(&pool, a["id"].as_i64().unwrap()).await;
    assert_eq!(stored.1, content);
    assert_eq!(fake.requests.lock().unwrap()[0]["max_tokens"], 512, "the provider is told the limit");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn across_two_instances_stop_reaches_the_generator_and_only_the_newest_generation_writes(pool: PgPool) {
    let (_fake, url) = FakeLlm::start().await;
    let a = llm_instance(pool.clone(), &url, true).await;
    let b = llm_instance(pool.clone(), &url, false).await;
    let reader = a.guest().await;
    let on_b = |endpoint: &'static str, body: serde_json::Value| b.call(Some(&reader.token), endpoint, body);

    // Instance A generates a slow answer; the reader's Stop lands on instance B.
    let r = reader.ask_streaming(None, "What is the zero moment point? [slow]").await;
    let id = r["answer"]["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(a.state.hub.subscribe(id).is_some(), "A is generating it");
    let (s, stopped) = on_b("chat/stop", json!({"message_id": id})).await;
    assert_eq!(s, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    // A's generator hears of it at once (not at its next flush, not at the end).
    for _ in 0..20 {
        if a.state.hub.subscribe(id).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(a.state.hub.subscribe(id).is_none(), "the generator on A stopped");

    // Regenerate through B: a new generation, and A's old one can no longer write.
    let (s, m) = on_b("chat/regenerate", json!({"message_id": id})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert!(!messages::flush_partial(&pool, id, 0, "stale words from the old generation").await.unwrap());
    assert!(!messages::finish_answer(&pool, id, 0, "stale", "<p>stale</p>", MessageStatus::Complete, &Metadata::default()).await.unwrap());
    let events = reader.stream(id).await;
    let done = events.last().unwrap();
    assert_eq!(done["message"]["status"], "complete", "{done}");
    let text = done["message"]["content"].as_str().unwrap();
    assert!(text.starts_with(FULL_ANSWER[0]) && !text.contains("stale"), "{text}");
    let generation: i32 = sqlx::query_scalar("SELECT generation FROM messages WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(generation, 1);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_panicking_job_ends_its_followers_with_a_failed_answer(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, "What is an IMU?").await;
    let conversation: Uuid = r["conversation"]["id"].as_str().unwrap().parse().unwrap();
    let q = messages::insert_question(&pool, conversation, Uuid::new_v4(), "And a gyroscope?", &Metadata::default()).await.unwrap().unwrap();
    let answer = messages::insert_answer(&pool, conversation, q.id, "", MessageStatus::Streaming, &Metadata::default()).await.unwrap().unwrap();
    let slot = app.state.hub.reserve(None).unwrap();
    app.state.hub.start_task(slot, pool.clone(), answer.id, 0, |job| async move {
        job.publish("half an ans");
        tokio::time::sleep(Duration::from_millis(300)).await;
        panic!("a bug in the generator");
    });
    let follow = tokio::time::timeout(Duration::from_secs(10), g.stream(answer.id)).await.expect("the stream ends, never hangs");
    let done = follow.last().unwrap();
    assert_eq!(done["t"], "done");
    assert_eq!(done["message"]["status"], "failed", "{done}");
    assert_eq!(done["message"]["content"], "half an ans");
    assert!(app.state.hub.reserve(None).is_ok(), "the slot was given back");
}
