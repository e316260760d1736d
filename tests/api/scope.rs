//! "This chapter only": a question searches only the book folder of the page the reader is on,
//! and the conversation remembers it (its questions carry the scope; regenerate keeps it).

use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

const ROS_PAGE: &str = "https://book.example/docs/ros2/ros2-architecture";
const QUESTION: &str = "What is a digital twin?";

fn cited(answer: &Value) -> Vec<String> {
    answer["citations"].as_array().unwrap().iter().map(|c| c["url"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn this_chapter_only_searches_the_chapter_of_the_readers_page(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let send = |conversation: Option<String>, chapter_only: bool, url: Option<&str>| {
        let body = json!({
            "conversation_id": conversation, "client_id": Uuid::new_v4(), "content": QUESTION,
            "context": { "url": url }, "chapter_only": chapter_only,
        });
        let g = &g;
        async move { g.call("chat/send", body).await }
    };

    // The whole book: the simulation chapter answers, even asked from a ROS 2 page.
    let (s, whole) = send(None, false, Some(ROS_PAGE)).await;
    assert_eq!(s, StatusCode::OK, "{whole}");
    assert!(cited(&whole["answer"]).iter().any(|u| u.contains("/docs/simulation/")), "{:?}", cited(&whole["answer"]));
    assert_eq!(whole["question"]["scope"], Value::Null);

    // The same question, this chapter only: nothing outside the ROS 2 folder is searched.
    let conv = id_of(&whole["conversation"]);
    let (s, scoped) = send(Some(conv.clone()), true, Some(ROS_PAGE)).await;
    assert_eq!(s, StatusCode::OK, "{scoped}");
    assert_eq!(scoped["question"]["scope"], "02-ros2");
    assert!(cited(&scoped["answer"]).iter().all(|u| u.contains("/docs/ros2/")), "{:?}", cited(&scoped["answer"]));
    let retrieved: Value = sqlx::query_scalar("SELECT retrieved FROM rag_queries WHERE message_id = $1")
        .bind(scoped["answer"]["id"].as_i64().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    let urls: Vec<&str> = retrieved.as_array().unwrap().iter().map(|r| r["url"].as_str().unwrap()).collect();
    assert!(!urls.is_empty() && urls.iter().all(|u| u.contains("/docs/ros2/")), "{urls:?}");

    // Regenerating the scoped answer keeps its scope.
    let (s, _) = g.call("chat/regenerate", json!({"message_id": scoped["answer"]["id"]})).await;
    assert_eq!(s, StatusCode::OK);
    let events = g.stream(scoped["answer"]["id"].as_i64().unwrap()).await;
    let message = &events.last().unwrap()["message"];
    assert!(cited(message).iter().all(|u| u.contains("/docs/ros2/")), "{:?}", cited(message));

    // Reading the conversation back: each question says how it was asked.
    let (_, page) = g.call("conversations/messages", json!({"conversation_id": conv})).await;
    let scopes: Vec<&Value> = page["messages"].as_array().unwrap().iter().filter(|m| m["role"] == "user").map(|m| &m["scope"]).collect();
    assert_eq!(scopes, vec![&Value::Null, &json!("02-ros2")]);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn this_chapter_only_needs_a_page_of_the_book(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    for context in [json!(null), json!({"url": "https://book.example/blog/news"}), json!({"url": "https://book.example/docs/no/such-page"})] {
        let (s, b) = g
            .call("chat/send", json!({"client_id": Uuid::new_v4(), "content": QUESTION, "context": context, "chapter_only": true}))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{context}: {b}");
        assert_eq!(b["field"], "chapter_only");
        let rule = if context.is_null() { "chapter_needs_page" } else { "page_not_in_chapter" };
        assert_eq!(b["rule"], rule, "{b}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 0, "a refused send stores nothing");
}
