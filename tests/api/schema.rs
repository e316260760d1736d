use crate::helpers::TestApp;
use sqlx::PgPool;
use uuid::Uuid;

async fn guest_conversation(pool: &PgPool) -> (Uuid, Uuid) {
    let session: Uuid = sqlx::query_scalar(
        "INSERT INTO chat_sessions (secret_hash, expires_at) VALUES (sha256('s'), now() + interval '1 day') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let conv: Uuid = sqlx::query_scalar("INSERT INTO conversations (session_id, title) VALUES ($1, 't') RETURNING id")
        .bind(session)
        .fetch_one(pool)
        .await
        .unwrap();
    (session, conv)
}

fn constraint_of(e: sqlx::Error) -> String {
    e.as_database_error().and_then(|d| d.constraint()).unwrap_or_default().to_owned()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_database_enforces_the_invariants_too(pool: PgPool) {
    let (session, conv) = guest_conversation(&pool).await;
    let insert = |role: &'static str, content: String, status: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query("INSERT INTO messages (client_id, conversation_id, role, content, status) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::new_v4())
                .bind(conv)
                .bind(role)
                .bind(content)
                .bind(status)
                .execute(&pool)
                .await
        }
    };
    assert!(insert("system", "x".into(), "complete").await.is_err());
    assert_eq!(constraint_of(insert("user", "  ".into(), "complete").await.unwrap_err()), "messages_content_not_blank");
    assert_eq!(constraint_of(insert("user", "hi".into(), "streaming").await.unwrap_err()), "messages_user_always_complete");
    assert!(insert("user", "x".repeat(32_001), "complete").await.is_err());
    // An answer still streaming may be empty; a complete one may not.
    assert!(insert("assistant", String::new(), "streaming").await.is_ok());
    assert!(insert("assistant", String::new(), "complete").await.is_err());

    let future = sqlx::query(
        "INSERT INTO messages (client_id, conversation_id, role, content, created_at) VALUES ($1, $2, 'user', 'x', now() + interval '1 hour')",
    )
    .bind(Uuid::new_v4())
    .bind(conv)
    .execute(&pool)
    .await;
    assert_eq!(constraint_of(future.unwrap_err()), "messages_not_in_future");

    let bad_session = sqlx::query("UPDATE chat_sessions SET last_activity_at = created_at - interval '1 day' WHERE id = $1")
        .bind(session)
        .execute(&pool)
        .await;
    assert_eq!(constraint_of(bad_session.unwrap_err()), "chat_sessions_activity_after_creation");

    // A guest conversation cannot be orphaned by deleting its session.
    let orphan = sqlx::query("DELETE FROM chat_sessions WHERE id = $1").bind(session).execute(&pool).await;
    assert_eq!(constraint_of(orphan.unwrap_err()), "conversations_has_owner");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn counters_stay_true_whoever_writes(pool: PgPool) {
    let (session, conv) = guest_conversation(&pool).await;
    for i in 0..5 {
        sqlx::query("INSERT INTO messages (client_id, conversation_id, role, content) VALUES ($1, $2, 'user', $3)")
            .bind(Uuid::new_v4())
            .bind(conv)
            .bind(format!("m{i}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM messages WHERE content IN ('m1', 'm3')").execute(&pool).await.unwrap();
    let (count, real): (i32, i64) = sqlx::query_as(
        "SELECT message_count, (SELECT count(*) FROM messages WHERE conversation_id = $1) FROM conversations WHERE id = $1",
    )
    .bind(conv)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((count, real), (3, 3));
    let (last_message, activity): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "SELECT c.last_message_at, s.last_activity_at FROM conversations c JOIN chat_sessions s ON s.id = c.session_id WHERE c.id = $1",
    )
    .bind(conv)
    .fetch_one(&pool)
    .await
    .unwrap();
    let newest: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT max(created_at) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(last_message, newest);
    assert_eq!(activity, newest, "a message touches the session's last activity");
    let _ = session;
}

#[sqlx::test(migrations = false)]
async fn every_migration_reverts_cleanly_and_reapplies(pool: PgPool) {
    let m = &bookchat::server::db::MIGRATOR;
    m.run(&pool).await.unwrap();
    m.undo(&pool, 0).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 0, "down migrations remove everything");
    m.run(&pool).await.unwrap();
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn reingesting_an_unchanged_book_is_a_no_op(pool: PgPool) {
    let _app = TestApp::spawn(pool.clone()).await;
    let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("book/docs");
    let before: Vec<i64> = sqlx::query_scalar("SELECT id FROM chunks ORDER BY id").fetch_all(&pool).await.unwrap();
    let r = crate::helpers::ingest(&pool, &book, false).await;
    assert_eq!(r.unchanged, r.files);
    assert_eq!((r.inserted, r.updated), (0, 0));
    let after: Vec<i64> = sqlx::query_scalar("SELECT id FROM chunks ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(before, after, "no chunk rewritten");
    // Chunks carry Docusaurus anchors; MDX imports never reach the index.
    let anchors: Vec<String> = sqlx::query_scalar("SELECT anchor FROM chunks WHERE heading = 'The DDS Foundation'").fetch_all(&pool).await.unwrap();
    assert_eq!(anchors, vec!["the-dds-foundation".to_owned()]);
    let imports: i64 = sqlx::query_scalar("SELECT count(*) FROM chunks WHERE body LIKE '%import Tabs%'").fetch_one(&pool).await.unwrap();
    assert_eq!(imports, 0);
}

/// A database migrated by a newer release (a migration this build does not know) still serves
/// through the server's migrator — so the previous release can be rolled back to — while the
/// strict one refuses it; `bookchat migrate --revert` undoes the newest migration with its down
/// file and `bookchat migrate` applies it again.
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_newer_schema_still_serves_and_a_migration_reverts_and_reapplies(pool: PgPool) {
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (29991231000000, 'from a newer release', now(), true, '\\x00'::bytea, 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    // On a connection of its own: a migrator that refuses returns without releasing its advisory
    // lock, which a pooled connection would keep holding (and `migrate` below would wait forever).
    let mut strict = pool.acquire().await.unwrap().detach();
    assert!(bookchat::server::db::MIGRATOR.run(&mut strict).await.is_err(), "the strict migrator refuses it");
    sqlx::Connection::close(strict).await.unwrap();
    bookchat::server::db::migrator().run(&pool).await.expect("the server's migrator accepts a newer schema");
    let app = crate::helpers::TestApp::spawn_with(pool.clone(), false, |c| c.ready_cache_secs = 0).await;
    assert_eq!(app.get("/readyz", None).await.status(), reqwest::StatusCode::OK, "and it serves");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 29991231000000").execute(&pool).await.unwrap();

    // The binary: revert the newest migration, then apply it again.
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bookchat"))
            .args(args)
            .env("DATABASE_URL", format!("{prefix}/{db}"))
            .output()
            .expect("run the binary")
    };
    let newest = bookchat::server::db::latest_migration();
    let out = run(&["migrate", "--revert"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert!(applied < newest, "the newest migration was reverted");
    // With migrations as their own step, a server refuses a database behind it, loudly.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("serve")
        .env("DATABASE_URL", format!("{prefix}/{db}"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("BOOKCHAT_BOOK_DIR", "")
        .env("BOOKCHAT_MIGRATE_ON_START", "false")
        .output()
        .expect("run the binary");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `bookchat migrate` first"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["migrate"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert_eq!(applied, newest);
}
