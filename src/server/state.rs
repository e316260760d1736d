//! The one application state: built once at start-up (or by a test around its own pool) and
//! provided to axum handlers, server functions and SSR alike.

use super::config::AppConfig;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::PgPool;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    /// Serves history and list reads; the primary unless a read replica is configured.
    #[from_ref(skip)]
    pub read_pool: PgPool,
    pub config: Arc<AppConfig>,
}
