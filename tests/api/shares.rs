//! Shared links: a read-only page for anyone with the link, scoped to the conversation as it was
//! when shared; only its owner shares or revokes; continuing makes the reader their own copy.

use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

async fn page(app: &TestApp, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = app.get(path, None).await;
    let (status, headers) = (res.status(), res.headers().clone());
    (status, headers, res.text().await.expect("body"))
}

fn share_path(link: &Value) -> String {
    link["path"].as_str().expect("path").to_owned()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_shared_link_shows_the_conversation_as_shared_and_nothing_of_its_owner(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let alice = app.guest().await;
    // Alice is a verified user of the host site, with a name and an e-mail address.
    let user: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO users (external_id, email, display_name) VALUES ('alice-4711', 'alice@example.org', 'Alice Liddell') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("UPDATE chat_sessions SET user_id = $1 WHERE id = $2").bind(user).bind(alice.session_id).execute(&pool).await.unwrap();
    let first = alice.ask(None, "What is ROS 2?").await;
    let conv = id_of(&first["conversation"]);
    alice.ask(Some(&conv), "How do nodes talk to each other?").await;
    let other = alice.ask(None, "Tell me about humanoid balance").await;
    let (s, _) = alice.call("conversations/rename", json!({"conversation_id": id_of(&other["conversation"]), "title": "My private notes"})).await;
    assert_eq!(s, StatusCode::OK);

    let (s, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::OK, "{link}");
    let id = link["id"].as_str().unwrap();
    assert_eq!(id.len(), 22, "128 random bits, URL-safe base64");
    assert!(!conv.contains(id) && !id.contains(&conv[..8]));
    assert_eq!(link["path"], format!("/share/{id}"));
    assert_eq!(link["message_count"], 4);

    let (status, headers, html) = page(&app, &share_path(&link)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-robots-tag"], "noindex, nofollow");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(html.contains(r#"<meta name="robots" content="noindex, nofollow">"#));
    assert!(!html.contains("<script"), "the shared page is plain HTML");
    assert_eq!(html.matches(r#"data-testid="shared-question""#).count(), 2);
    assert_eq!(html.matches(r#"data-testid="shared-answer""#).count(), 2);
    assert!(html.contains("What is ROS 2?") && html.contains("How do nodes talk to each other?"));
    // The answers as stored, with their citations.
    let answer_cite = first["answer"]["citations"][0]["url"].as_str().expect("the answer cites the book");
    assert!(html.contains(&answer_cite.replace('&', "&amp;")), "citation link kept");
    assert!(html.contains(&format!("/conversations?continue={id}")));
    for private in ["alice-4711", "alice@example.org", "Alice Liddell", "My private notes", "humanoid balance", &conv, &alice.session_id.to_string(), &alice.token] {
        assert!(!html.contains(private), "the shared page shows {private:?}");
    }

    // What Alice says after sharing is not shared until she shares again (same link).
    alice.ask(Some(&conv), "What is a topic?").await;
    let (_, _, html) = page(&app, &share_path(&link)).await;
    assert!(!html.contains("What is a topic?"));
    let (s, again) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["id"], link["id"], "sharing again keeps the link");
    assert_eq!(again["message_count"], 6);
    let (_, _, html) = page(&app, &share_path(&link)).await;
    assert!(html.contains("What is a topic?"));
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn only_the_owner_shares_or_revokes_and_revoking_ends_the_link(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let alice = app.guest().await;
    let conv = id_of(&alice.ask(None, "What is ROS 2?").await["conversation"]);
    let mallory = app.guest().await;
    for endpoint in ["conversations/share", "conversations/unshare"] {
        let (s, b) = mallory.call(endpoint, json!({"conversation_id": conv})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{endpoint}: {b}");
    }
    let shares: i64 = sqlx::query_scalar("SELECT count(*) FROM conversation_shares").fetch_one(&pool).await.unwrap();
    assert_eq!(shares, 0, "mallory created no link");

    let (_, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    let path = share_path(&link);
    let (s, _) = mallory.call("conversations/unshare", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, &path).await.0, StatusCode::OK, "mallory could not revoke it");

    let (s, _) = alice.call("conversations/unshare", json!({"conversation_id": conv})).await;
    assert_eq!(s, StatusCode::OK);
    let (status, headers, html) = page(&app, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "revoked at once");
    assert_eq!(headers["x-robots-tag"], "noindex, nofollow");
    assert!(html.contains("stopped sharing") && !html.contains("What is ROS 2?"));
    let (s, _) = mallory.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "a revoked link cannot be continued");
    // Revoking again is fine; sharing again makes a new link, the old one stays dead.
    assert_eq!(alice.call("conversations/unshare", json!({"conversation_id": conv})).await.0, StatusCode::OK);
    let (_, fresh) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    assert_ne!(fresh["id"], link["id"]);
    assert_eq!(page(&app, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, &share_path(&fresh)).await.0, StatusCode::OK);
    // Deleting the conversation ends its link too.
    assert_eq!(alice.call("conversations/delete", json!({"conversation_id": conv})).await.0, StatusCode::OK);
    assert_eq!(page(&app, &share_path(&fresh)).await.0, StatusCode::NOT_FOUND);
    // Ids that were never issued: not found, whatever their shape.
    for bad in ["/share/AAAAAAAAAAAAAAAAAAAAAA", "/share/short", "/share/%27%3B--", &format!("/share/{conv}")] {
        assert_eq!(page(&app, bad).await.0, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn continuing_a_shared_conversation_makes_the_reader_a_copy(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let alice = app.guest().await;
    let first = alice.ask(None, "What is ROS 2?").await;
    let conv = id_of(&first["conversation"]);
    alice.ask(Some(&conv), "How do nodes talk to each other?").await;
    let (s, _) = alice.call("chat/feedback", json!({"message_id": first["answer"]["id"], "rating": -1, "comment": "too short"})).await;
    assert_eq!(s, StatusCode::OK);
    let (_, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;

    let bob = app.guest().await;
    let (s, copy) = bob.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::OK, "{copy}");
    let copy_id = id_of(&copy);
    assert_ne!(copy_id, conv);
    assert_eq!(copy["title"], first["conversation"]["title"]);
    assert_eq!(copy["message_count"], 4);
    assert_eq!(bob.list(None, 10, false).await["items"][0]["id"], copy_id.as_str());

    let (_, theirs) = alice.call("conversations/messages", json!({"conversation_id": conv})).await;
    let (s, mine) = bob.call("conversations/messages", json!({"conversation_id": copy_id})).await;
    assert_eq!(s, StatusCode::OK);
    let strip = |v: &Value| -> Vec<Value> {
        v["messages"].as_array().unwrap().iter().map(|m| json!([m["role"], m["content"], m["html"], m["citations"], m["status"]])).collect()
    };
    assert_eq!(strip(&mine), strip(&theirs), "same messages in the same order");
    let mine = mine["messages"].as_array().unwrap();
    assert!(mine.windows(2).all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
    assert_eq!(mine[0]["feedback"], Value::Null, "alice's rating stays hers");
    // Each answer still replies to its question: regenerating the copy's answer works.
    let (s, b) = bob.call("chat/regenerate", json!({"message_id": mine[1]["id"]})).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // Bob continues his copy; Alice's conversation does not change.
    bob.ask(Some(&copy_id), "What is a topic?").await;
    let count: i32 = sqlx::query_scalar("SELECT message_count FROM conversations WHERE id = $1::uuid").bind(&conv).fetch_one(&pool).await.unwrap();
    assert_eq!(count, 4);
    let alice_list = alice.list(None, 10, false).await;
    assert_eq!(alice_list["items"].as_array().unwrap().len(), 1);
    assert_eq!(alice_list["items"][0]["id"], conv.as_str());
    // Malformed ids are not found, not an error.
    let (s, _) = bob.call("shared/continue", json!({"share_id": "../../etc"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn guessing_shared_links_is_rate_limited(pool: PgPool) {
    let app = TestApp::spawn_with(pool, false, |c| c.limits.per_ip = 6).await; // burst 2
    let statuses: Vec<StatusCode> = futures::future::join_all((0..6).map(|i| {
        let path = format!("/share/{}", format!("{i:0>22}"));
        let app = &app;
        async move { app.get(&path, None).await.status() }
    }))
    .await;
    assert!(statuses.contains(&StatusCode::NOT_FOUND), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_share_reveals_no_query_string_and_continues_only_on_a_page_of_the_book(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let alice = app.guest().await;
    // The host's URL carries a learning platform's launch token and the reader's e-mail.
    let page_url = "https://book.example/docs/ros2/ros2-architecture?lti_launch=SECRET-TOKEN&email=alice@example.org#qos";
    let (s, sent) = alice
        .call("chat/send", json!({"client_id": uuid::Uuid::new_v4(), "content": "What is ROS 2?", "context": {"url": page_url, "title": "ROS 2"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    let conv = id_of(&sent["conversation"]);
    let stored: Value = sqlx::query_scalar("SELECT metadata FROM messages WHERE role = 'user' AND conversation_id = $1::uuid")
        .bind(&conv)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored["page_url"], "https://book.example/docs/ros2/ros2-architecture", "only origin and path are kept");
    let (_, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    let (_, _, html) = page(&app, &share_path(&link)).await;
    for private in ["SECRET-TOKEN", "alice@example.org", "lti_launch"] {
        assert!(!html.contains(private), "the shared page shows {private:?}");
    }
    assert!(html.contains(r#"href="https://book.example/docs/ros2/ros2-architecture#bookchat-share="#), "continue on the book's page: {html}");

    // A reader's copy keeps nothing of where the sharer was reading.
    let bob = app.guest().await;
    let (_, copy) = bob.call("shared/continue", json!({"share_id": link["id"]})).await;
    let copied: Vec<Value> = sqlx::query_scalar("SELECT metadata FROM messages WHERE conversation_id = $1::uuid AND metadata IS NOT NULL")
        .bind(id_of(&copy))
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(copied.iter().all(|m| m.get("page_url").is_none() && m.get("page_title").is_none()), "{copied:?}");

    // A sharer cannot point "Continue on the book's page" at any path of an allowed origin.
    let (_, sent) = alice
        .call("chat/send", json!({"client_id": uuid::Uuid::new_v4(), "content": "What is ROS 2?", "context": {"url": "https://book.example/account/delete"}}))
        .await;
    let (_, link) = alice.call("conversations/share", json!({"conversation_id": id_of(&sent["conversation"])})).await;
    let (_, _, html) = page(&app, &share_path(&link)).await;
    assert!(!html.contains("continue-on-book"), "{html}");
    assert!(!html.contains("/account/delete"));
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn continuing_the_same_link_again_opens_the_copy_counts_as_a_question_and_has_a_size_limit(pool: PgPool) {
    let app = TestApp::spawn_with(pool.clone(), true, |c| {
        c.limits.questions_per_session = 6; // burst 2
    })
    .await;
    let alice = app.guest().await;
    let first = alice.ask(None, "What is ROS 2?").await;
    let conv = id_of(&first["conversation"]);
    let (_, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;

    let bob = app.guest().await;
    let (s, one) = bob.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::OK, "{one}");
    let (s, two) = bob.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::OK, "{two}");
    assert_eq!(one["id"], two["id"], "the same link continued again opens the same copy");
    let copies: i64 = sqlx::query_scalar("SELECT count(*) FROM conversations WHERE copied_from IS NOT NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(copies, 1);
    // Each continue counts against the reader's question allowance.
    let (s, b) = bob.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    // The copied turns are marked: they never reach a model as the reader's own.
    let marked: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE conversation_id = $1::uuid AND (metadata->>'copied')::boolean")
        .bind(one["id"].as_str().unwrap())
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(marked, 2);

    // A conversation longer than a reader may copy is refused with a clear message.
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content, status)
         SELECT gen_random_uuid(), $1::uuid, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, 'turn ' || g, 'complete'
           FROM generate_series(1, 250) g",
    )
    .bind(&conv)
    .execute(&pool)
    .await
    .unwrap();
    let (_, link) = alice.call("conversations/share", json!({"conversation_id": conv})).await;
    let carol = app.guest().await;
    let (s, e) = carol.call("shared/continue", json!({"share_id": link["id"]})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["message"].as_str().unwrap().contains("too long to continue"), "{e}");
}
