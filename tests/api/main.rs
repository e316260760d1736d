//! Integration tests: the real axum app (server functions, middleware) on a loopback port,
//! against a real Postgres. `#[sqlx::test]` gives every test its own fresh, migrated database.

mod fake_llm;
mod helpers;

mod a11y;
mod agents;
mod abuse;
mod admin;
mod answers;
mod book;

mod conversations;
mod fencing;
mod hardening;
mod health;
mod held;
mod i18n;
mod identity;
mod isolation;
mod pagination;
mod schema;
mod scope;
mod send;
mod session;
mod shares;
mod shutdown;
mod tls;
mod direct;
