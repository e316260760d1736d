use crate::helpers::{explain_prepared, id_of, rows_read, TestApp};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;
use std::collections::HashSet;

/// Walk the whole list with small pages: every conversation exactly once, newest first, even
/// when several share the same last-activity timestamp.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn conversation_pages_have_no_gaps_or_repeats(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let g = app.guest().await;
    sqlx::query(
        "INSERT INTO conversations (session_id, title, created_at, last_message_at)
         SELECT $1, 'c' || i, now() - interval '10 days',
                now() - (i / 3) * interval '1 minute'   -- groups of three share a timestamp
           FROM generate_series(1, 47) AS i",
    )
    .bind(g.session_id)
    .execute(&pool)
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = g.list(cursor.as_deref(), 7, false).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|c| (c["last_message_at"].as_str().unwrap().to_owned(), id_of(c))));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    assert_eq!(seen.len(), 47);
    assert_eq!(seen.iter().map(|(_, id)| id).collect::<HashSet<_>>().len(), 47, "no repeats");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, id breaking ties");

    let (s, b) = g.call("conversations/list", json!({"cursor": "garbage"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    for limit in [0, 101] {
        let (s, _) = g.call("conversations/list", json!({"limit": limit})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

/// The newest window first, then older windows by cursor, oldest-first inside each window.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn message_windows_walk_back_without_gaps(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, "What is ROS 2?").await["conversation"]);
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content)
         SELECT gen_random_uuid(), $1, CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END, 'message ' || i
           FROM generate_series(1, 93) AS i",
    )
    .bind(uuid::Uuid::parse_str(&conv).unwrap())
    .execute(&pool)
    .await
    .unwrap();

    let mut all: Vec<i64> = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let (s, page) = g.call("conversations/messages", json!({"conversation_id": conv, "before": before, "limit": 20})).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["conversation"]["message_count"], 95);
        let ids: Vec<i64> = page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first within a window");
        if let Some(&first) = all.first() {
            assert!(ids.last().copied().unwrap() < first, "each window is older than the last");
        }
        let mut next = ids.clone();
        next.append(&mut all);
        all = next;
        match page["older_cursor"].as_i64() {
            Some(c) => before = Some(c),
            None => break,
        }
    }
    let db_ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM messages ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(all, db_ids);
}

/// A page reads only its own conversation's newest rows, when one conversation holds nearly
/// every message in the table, with the generic plan a pooled connection settles on (sqlx
/// prepares each statement once per connection) and with the custom plans it starts with.
/// `n` one-line messages in a conversation, questions and answers in turn.
async fn seed_messages(pool: &PgPool, conversation: uuid::Uuid, n: i32) {
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content)
         SELECT gen_random_uuid(), $1, CASE WHEN i % 2 = 0 THEN 'assistant' ELSE 'user' END, 'message ' || i
           FROM generate_series(1, $2) AS i",
    )
    .bind(conversation)
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// Two plans had read thousands of rows for a page of 30: a small conversation's page walking
/// the whole table backwards by id, filtering out the heavy conversation (before the planner was
/// told that conversations are many and short); and then the heavy conversation's own page,
/// joining all its messages to their feedback before sorting them and keeping 30.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_page_reads_only_its_conversation_when_one_conversation_is_huge(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool.clone()).await;
    let g = app.guest().await;
    let mut convs = Vec::new();
    for (title, n) in [("small, older", 40), ("huge, newer", 3_000)] {
        let conv: uuid::Uuid = sqlx::query_scalar("INSERT INTO conversations (session_id, title) VALUES ($1, $2) RETURNING id")
            .bind(g.session_id)
            .bind(title)
            .fetch_one(&pool)
            .await
            .unwrap();
        seed_messages(&pool, conv, n).await;
        convs.push(conv);
    }
    sqlx::query("ANALYZE messages").execute(&pool).await.unwrap();

    // The generic plan a pooled connection settles on, and the custom plans it starts with;
    // each page, the small conversation's and the huge one's, reads only its own rows.
    let hash = bookchat::server::db::sessions::hash_secret(&g.token);
    for mode in ["force_generic_plan", "force_custom_plan"] {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query(&format!("SET plan_cache_mode = {mode}")).execute(&mut *conn).await.unwrap();
        for conv in &convs {
            bookchat::server::db::messages::window_by_token(&mut *conn, &hash, *conv, None, 30).await.unwrap();
            let plan = explain_prepared(
                &mut conn,
                "m.conversation_id = (SELECT id FROM c)",
                &format!("'\\x{}'::bytea, '{}'::uuid, NULL, 31", hex::encode(&hash), conv),
            )
            .await;
            let read = rows_read(&plan, "messages");
            assert!(read > 0 && read <= 31, "{mode}: a page of 30 read {read} message rows: {plan:#}");
        }
        sqlx::query("RESET plan_cache_mode").execute(&mut *conn).await.unwrap();
    }
}

/// The two history reads decode their rows by column, by hand (each kind of row reads only its
/// own columns); the same statements decoded by sqlx's checked macro must give the same pages,
/// in every case the reads distinguish: answers with citations, HTML and feedback, a quoted
/// question, a failed answer, older pages, another reader's conversation, an unknown secret,
/// a user's and a guest's list, archived or not, and a session with no conversations.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn history_reads_decode_by_hand_what_the_checked_macro_decodes(pool: PgPool) {
    use bookchat::server::db::{conversations, messages, messages::ByToken, sessions::hash_secret};
    let secret = "host-identity-secret-for-tests-0123456789";
    let app = TestApp::spawn_with(pool.clone(), true, |c| c.identity_secret = Some(bookchat::server::config::Secret::new(secret))).await;

    // A guest: a conversation of real answers with citations, HTML, a quote and feedback.
    let guest = app.guest().await;
    let first = guest.ask(None, "What is the zero moment point?").await;
    let conv = first["conversation"]["id"].as_str().unwrap().to_owned();
    let (s, _) = guest
        .call(
            "chat/send",
            json!({"conversation_id": conv, "client_id": uuid::Uuid::new_v4(), "content": "What does this mean?",
                   "context": {"url": "https://book.example/ch1", "title": "Chapter 1", "selection": "the support polygon"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let answer_id = first["answer"]["id"].as_i64().unwrap();
    let (s, _) = guest.call("chat/feedback", json!({"message_id": answer_id, "rating": -1, "comment": "Too short."})).await;
    assert_eq!(s, StatusCode::OK);
    let conv: uuid::Uuid = conv.parse().unwrap();
    // A failed answer and enough messages for older pages.
    sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content, status, metadata)
         VALUES (gen_random_uuid(), $1, 'assistant', '', 'failed', '{\"error\": \"The answerer is unavailable.\"}'),
                -- metadata that does not read as metadata (say, written by another version)
                (gen_random_uuid(), $1, 'assistant', 'An old answer.', 'complete', '{\"citations\": 5, \"refused\": \"no\"}')",
    )
    .bind(conv)
    .execute(&pool)
    .await
    .unwrap();
    seed_messages(&pool, conv, 45).await;
    let guest_hash = hash_secret(&guest.token);

    // The newest page, then older pages down to the first messages.
    let mut before = None;
    let mut seen = 0;
    loop {
        let hand = messages::window_by_token(&pool, &guest_hash, conv, before, 20).await.unwrap();
        let checked = messages::window_by_token_checked(&pool, &guest_hash, conv, before, 20).await.unwrap();
        assert_eq!(hand, checked, "page before {before:?}");
        let ByToken::Found(window) = hand else { panic!("the owner's page was not found") };
        assert_eq!(window.conversation.id, conv);
        seen += window.messages.len();
        if !window.more {
            break;
        }
        before = window.messages.first().map(|m| m.id);
    }
    assert_eq!(seen, 4 + 2 + 45, "every message on exactly one page");
    let ByToken::Found(oldest) = messages::window_by_token(&pool, &guest_hash, conv, before, 20).await.unwrap() else { panic!() };
    let feedback = oldest.messages.iter().find(|m| m.id == answer_id).expect("the first answer");
    assert_eq!((feedback.rating, feedback.feedback_comment.as_deref()), (Some(-1), Some("Too short.")));
    assert!(feedback.html.is_some() && feedback.metadata.is_some(), "an answer's HTML and citations are read");
    assert!(oldest.messages.iter().any(|m| m.metadata().quote.as_deref() == Some("the support polygon")));
    let odd = oldest.messages.iter().find(|m| m.content == "An old answer.").expect("a message whose metadata is unreadable");
    assert_eq!(odd.metadata(), Default::default(), "unreadable metadata reads as none; the message is still read");

    // Someone else's conversation, an unknown secret.
    let other = app.guest().await;
    let other_hash = hash_secret(&other.token);
    for (hash, what) in [(&other_hash, "another reader's conversation"), (&hash_secret("no-such-secret"), "an unknown secret")] {
        let hand = messages::window_by_token(&pool, hash, conv, None, 20).await.unwrap();
        assert_eq!(hand, messages::window_by_token_checked(&pool, hash, conv, None, 20).await.unwrap(), "{what}");
        assert!(matches!(hand, ByToken::NotFound | ByToken::NoSession), "{what}");
    }

    // Lists: a guest's, a user's (the other branch of the statement), archived and not, in
    // pages; a session with no conversations; an unknown secret.
    let mut user = app.guest().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "reader-9", "exp": now + 600}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let (s, _) = user.identify(json!({"user_token": token})).await;
    assert_eq!(s, StatusCode::OK);
    for reader in [&guest, &user] {
        let session: uuid::Uuid = sqlx::query_scalar("SELECT id FROM chat_sessions WHERE secret_hash = $1")
            .bind(hash_secret(&reader.token))
            .fetch_one(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO conversations (session_id, user_id, title, status, created_at, last_message_at)
             SELECT s.id, s.user_id, 'c' || i, CASE WHEN i % 4 = 0 THEN 'archived' ELSE 'open' END,
                    now() - interval '1 day', now() - i * interval '1 minute'
               FROM chat_sessions s, generate_series(1, 17) AS i WHERE s.id = $1",
        )
        .bind(session)
        .execute(&pool)
        .await
        .unwrap();
    }
    for (reader, what) in [(&guest, "guest"), (&user, "user"), (&other, "no conversations")] {
        let hash = hash_secret(&reader.token);
        for archived in [false, true] {
            let mut cursor: Option<String> = None;
            let mut items = 0;
            loop {
                let hand = conversations::list_by_token(&pool, &hash, cursor.as_deref(), 5, archived).await.unwrap();
                let checked = conversations::list_by_token_checked(&pool, &hash, cursor.as_deref(), 5, archived).await.unwrap();
                assert_eq!(hand, checked, "{what}, archived {archived}, cursor {cursor:?}");
                let ByToken::Found(page) = hand else { panic!("{what}: the session was not found") };
                items += page.items.len();
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            let expected = match (what, archived) {
                ("no conversations", _) => 0,
                ("guest", false) => 14,
                (_, false) => 13,
                (_, true) => 4,
            };
            assert_eq!(items, expected, "{what}, archived {archived}");
        }
    }
    let unknown = hash_secret("no-such-secret");
    let hand = conversations::list_by_token(&pool, &unknown, None, 5, false).await.unwrap();
    assert_eq!(hand, conversations::list_by_token_checked(&pool, &unknown, None, 5, false).await.unwrap());
    assert!(matches!(hand, ByToken::NoSession));
}
