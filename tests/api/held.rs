//! Connections held between history reads (`db::held`): reused without going back to the pool,
//! never reused after a failed or cancelled statement, bounded, and given back on shutdown.

use crate::helpers::TestApp;
use bookchat::server::db::held::HeldConnections;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::time::Duration;

async fn backend_pid(held: &HeldConnections) -> i32 {
    let mut lent = held.lend().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(lent.conn().unwrap()).await.unwrap();
    lent.done();
    pid
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_connection_that_completed_its_statement_is_reused(pool: PgPool) {
    let held = HeldConnections::new(pool.clone(), 2);
    let first = backend_pid(&held).await;
    assert_eq!(held.idle_count(), 1);
    for _ in 0..5 {
        assert_eq!(backend_pid(&held).await, first, "the same connection serves the next read");
    }
    // Idle past the check interval: checked, still the same healthy connection.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(backend_pid(&held).await, first);
    // Unused for a while: given back to the pool by the server's upkeep.
    held.give_back_idle(Duration::from_secs(60));
    assert_eq!(held.idle_count(), 1, "used a moment ago: kept");
    tokio::time::sleep(Duration::from_millis(50)).await;
    held.give_back_idle(Duration::from_millis(20));
    assert_eq!(held.idle_count(), 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_failed_or_cancelled_statement_gives_its_connection_back(pool: PgPool) {
    let held = HeldConnections::new(pool.clone(), 2);
    // An error: the connection is not kept.
    {
        let mut lent = held.lend().await.unwrap();
        let r = sqlx::query("SELECT * FROM no_such_table").execute(lent.conn().unwrap()).await;
        assert!(r.is_err());
    }
    assert_eq!(held.idle_count(), 0);
    // Cancelled mid-statement (the request went away): not kept either, and the next read works.
    let cancelled = tokio::time::timeout(Duration::from_millis(200), async {
        let mut lent = held.lend().await.unwrap();
        sqlx::query("SELECT pg_sleep(5)").execute(lent.conn().unwrap()).await.unwrap();
        lent.done();
    })
    .await;
    assert!(cancelled.is_err());
    assert_eq!(held.idle_count(), 0);
    let mut lent = held.lend().await.unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(lent.conn().unwrap()).await.unwrap();
    assert_eq!(one, 1);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn at_most_capacity_connections_are_held_and_none_after_give_back(pool: PgPool) {
    let held = HeldConnections::new(pool.clone(), 1);
    let first = held.lend().await.unwrap();
    // Beyond the capacity a read does not wait: it borrows from the pool, which keeps it after.
    let second = tokio::time::timeout(Duration::from_secs(5), held.lend()).await.expect("not held up").unwrap();
    second.done();
    assert_eq!(held.idle_count(), 0);
    first.done();
    assert_eq!(held.idle_count(), 1);

    held.give_back_all();
    assert_eq!(held.idle_count(), 0);
    backend_pid(&held).await;
    assert_eq!(held.idle_count(), 0, "nothing is held once given back");
    // The pool gets every connection back and closes.
    tokio::time::timeout(Duration::from_secs(10), pool.close()).await.expect("the pool closes");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_held_connection_lost_meanwhile_does_not_fail_the_read(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let token = app.guest().await.token;
    let (s, b) = app.call(Some(&token), "conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(app.state.held.idle_count() > 0, "the read's connection is held");
    // The database drops every other connection (as a restart does), and the next read comes
    // at once (too soon for the held connection to be checked first).
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .execute(&pool)
        .await
        .unwrap();
    let (s, b) = app.call(Some(&token), "conversations/list", json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_send_and_its_answer_keep_their_connections_and_survive_losing_them(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let token = app.guest().await.token;
    let send = |client_id: uuid::Uuid| app.call(Some(&token), "chat/send", json!({"client_id": client_id, "content": "What is an IMU?"}));
    let (s, b) = send(uuid::Uuid::new_v4()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["answer"]["status"], "complete", "{b}");
    // The send's statements and the answer's ran on held connections, kept for the next ones
    // (from the pool, each statement would cost a check round trip more).
    assert!(app.state.held.idle_count() > 0, "the send's connection is held");
    assert_eq!(app.state.answer_held.idle_count(), 1, "the answer's connection is held");
    // The database drops every connection (as a restart does): the next send, at once, still
    // stores its question exactly once and gets its answer.
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        .execute(&pool)
        .await
        .unwrap();
    let client_id = uuid::Uuid::new_v4();
    let (s, b) = send(client_id).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["answer"]["status"], "complete", "{b}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE client_id = $1").bind(client_id).fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 1);
}
