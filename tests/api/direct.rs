//! `DATABASE_DIRECT_URL`: what needs a session of its own (migrations and their lock, LISTEN for
//! Stop across instances, the retention job's advisory lock) goes there, not through
//! `DATABASE_URL` — which may be a transaction-mode pooler (Neon's `-pooler` host).

use serde_json::Value;
use sqlx::PgPool;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[sqlx::test(migrations = false)]
async fn migrations_and_listening_use_the_direct_url(pool: PgPool) {
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (prefix, _) = base.rsplit_once('/').expect("a database URL");
    let direct = format!("{prefix}/{db}");

    // Migrations need only the direct URL: with DATABASE_URL unreachable they still run.
    let out = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("migrate")
        .env("DATABASE_URL", format!("postgres://postgres@127.0.0.1:1/{db}"))
        .env("DATABASE_DIRECT_URL", &direct)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert_eq!(applied, bookchat::server::db::latest_migration());

    // A server with both: its LISTEN for Stops from other instances is on a direct connection,
    // and nothing else listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("serve")
        .env("DATABASE_URL", &direct)
        // Another spelling of the same database stands in for the pooler's host.
        .env("DATABASE_DIRECT_URL", format!("{direct}?sslmode=disable"))
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_OUTPUT_NAME", "bookchat")
        .env("BOOKCHAT_BOOK_DIR", "")
        .env("BOOKCHAT_SHUTDOWN_READY_DELAY_SECS", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("http://127.0.0.1:{port}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listening = || async {
        sqlx::query_as::<_, (String,)>("SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
            .fetch_all(&pool)
            .await
            .unwrap()
    };
    let mut found = listening().await;
    for _ in 0..50 {
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        found = listening().await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found, vec![("bookchat-direct".to_owned(),)], "the listener's connection");

    // The retention job with both URLs: its lock, held elsewhere, makes it skip.
    let mut holder = pool.acquire().await.unwrap();
    let lock = bookchat::server::db::privacy::RETENTION_LOCK;
    let _: bool = sqlx::query_scalar("SELECT pg_advisory_lock($1) IS NOT NULL").bind(lock).fetch_one(&mut *holder).await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bookchat"))
        .arg("retention")
        .env("DATABASE_URL", &direct)
        .env("DATABASE_DIRECT_URL", format!("{direct}?sslmode=disable"))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run retention");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["skipped"], true, "{report}");
}
