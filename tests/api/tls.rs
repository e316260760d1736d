//! TLS to Postgres through rustls, as with Neon: `sslmode=require` encrypts, `verify-full`
//! checks the certificate chain and the host name. Runs against the TLS-only cluster that
//! scripts/test starts (BOOKCHAT_TLS_TEST_URL, with its own CA in BOOKCHAT_TLS_CA).

use bookchat::server::config::DbConfig;

fn cfg() -> DbConfig {
    DbConfig {
        database_url: String::new(),
        database_read_url: None,
        database_max_connections: 2,
        database_acquire_timeout_secs: 5,
        database_disable_statement_cache: true,
        database_direct_url: None,
    }
}

fn setup() -> Option<(String, String)> {
    match (std::env::var("BOOKCHAT_TLS_TEST_URL"), std::env::var("BOOKCHAT_TLS_CA")) {
        (Ok(url), Ok(ca)) => Some((url, ca)),
        _ => {
            assert!(std::env::var("BOOKCHAT_REQUIRE_TLS_TEST").is_err(), "the TLS cluster is not configured");
            eprintln!("skipping: no TLS test cluster (run through scripts/test)");
            None
        }
    }
}

async fn uses_tls(url: &str) -> Result<bool, sqlx::Error> {
    let pool = bookchat::server::db::connect(&cfg(), url).await?;
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&pool).await
}

#[tokio::test]
async fn connections_are_encrypted_and_verified() {
    let Some((url, ca)) = setup() else { return };
    assert!(uses_tls(&format!("{url}?sslmode=require")).await.unwrap(), "sslmode=require encrypts");
    assert!(uses_tls(&format!("{url}?sslmode=verify-full&sslrootcert={ca}")).await.unwrap());
    // Without our CA the chain cannot be verified (only the public webpki roots are trusted).
    assert!(uses_tls(&format!("{url}?sslmode=verify-full")).await.is_err());
    // The server refuses plaintext altogether.
    assert!(uses_tls(&format!("{url}?sslmode=disable")).await.is_err());
}
