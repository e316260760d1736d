//! What an operator watches, as Prometheus metrics: recorded through the `metrics` facade
//! wherever the work happens (a no-op until a recorder is installed), rendered by
//! `metrics-exporter-prometheus`, and served on their own listen address
//! (`BOOKCHAT_METRICS_ADDR`) — never on the public port.

use crate::server::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Requests by route and status (counter), their latency (histogram, seconds).
pub const HTTP_REQUESTS: &str = "bookchat_http_requests_total";
pub const HTTP_DURATION: &str = "bookchat_http_request_duration_seconds";
/// Answers being generated now; questions refused because every answer slot was taken.
pub const ANSWERS_IN_PROGRESS: &str = "bookchat_answers_in_progress";
pub const ANSWERS_BUSY: &str = "bookchat_answers_refused_busy_total";
/// Finished answers by outcome (complete, refused — "not in the book" —, failed, stopped).
pub const ANSWERS: &str = "bookchat_answers_total";
pub const ANSWER_DURATION: &str = "bookchat_answer_duration_seconds";
pub const ANSWER_FIRST_TOKEN: &str = "bookchat_answer_first_token_seconds";
pub const RETRIEVAL_DURATION: &str = "bookchat_retrieval_duration_seconds";
/// Calls refused by a rate limit, by which limit.
pub const RATE_LIMITED: &str = "bookchat_rate_limited_total";
/// Open client connections and answer streams.
pub const OPEN_CONNECTIONS: &str = "bookchat_open_connections";
pub const OPEN_STREAMS: &str = "bookchat_open_streams";
/// Database pools, by pool (main, reads, answers) and state (size, idle), read at each scrape.
pub const DB_POOL: &str = "bookchat_db_pool_connections";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Install the process's recorder (once; later calls return the same handle). `None` if another
/// recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new();
            // Latencies from a few milliseconds (a history read) to a minute (an answer).
            let buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
            let builder = builder.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets).unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to the response's head, by route");
    describe_gauge!(ANSWERS_IN_PROGRESS, "Answers being generated on this instance");
    describe_counter!(ANSWERS_BUSY, "Questions refused with 503 busy: every answer slot (or the client's share) was taken");
    describe_counter!(ANSWERS, "Finished answers by outcome: complete, refused (not in the book), failed, stopped");
    describe_histogram!(ANSWER_DURATION, Unit::Seconds, "Time to write an answer, by provider");
    describe_histogram!(ANSWER_FIRST_TOKEN, Unit::Seconds, "Time to a language model's first token");
    describe_histogram!(RETRIEVAL_DURATION, Unit::Seconds, "Time to rank the book's sections for a question (embedding included)");
    describe_counter!(RATE_LIMITED, "Calls refused by a rate limit, by limit");
    describe_gauge!(OPEN_CONNECTIONS, "Open client connections");
    describe_gauge!(OPEN_STREAMS, "Open answer streams");
    describe_gauge!(DB_POOL, "Database pool connections, by pool and state (size, idle)");
}

/// The API's endpoints, as route labels.
const API_ROUTES: &[&str] = &[
    "/api/session/start", "/api/session/identify", "/api/session/end", "/api/chat/send", "/api/chat/stream", "/api/chat/stop",
    "/api/chat/regenerate", "/api/chat/feedback", "/api/chat/suggestions", "/api/conversations/list", "/api/conversations/messages",
    "/api/conversations/rename", "/api/conversations/status", "/api/conversations/delete", "/api/conversations/delete-all", "/api/conversations/search",
    "/api/conversations/export", "/api/conversations/share", "/api/conversations/unshare", "/api/shared/continue", "/api/me/delete",
];

/// A route label with bounded values (whatever paths clients invent): the API endpoint, or the
/// kind of page.
pub fn route_label(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        return API_ROUTES.iter().find(|r| **r == path).copied().unwrap_or("/api/other");
    }
    match path {
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/widget" => "/widget",
        "/" => "/",
        p if p.starts_with("/conversations") => "/conversations",
        p if p.starts_with("/share/") => "/share",
        p if p.starts_with("/admin") => "/admin",
        p if p.starts_with("/docs") => "/docs",
        p if p.starts_with("/pkg/") || p.ends_with(".js") || p.ends_with(".css") => "static",
        _ => "other",
    }
}

/// Count one request.
pub fn request(path: &str, status: u16, seconds: f64) {
    let route = route_label(path);
    metrics::counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route).record(seconds);
}

/// The metrics listener's router: `GET /metrics`, the pools read at each scrape.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state((state, handle))
}

async fn scrape(State((state, handle)): State<(AppState, PrometheusHandle)>) -> String {
    for (name, pool) in [("main", &state.pool), ("reads", &state.read_pool), ("answers", &state.answer_pool)] {
        metrics::gauge!(DB_POOL, "pool" => name, "state" => "size").set(f64::from(pool.size()));
        metrics::gauge!(DB_POOL, "pool" => name, "state" => "idle").set(pool.num_idle() as f64);
    }
    handle.render()
}

/// Decrements a gauge when dropped (a connection, a stream, an answer slot).
pub struct GaugeGuard(&'static str);

impl GaugeGuard {
    pub fn new(name: &'static str) -> GaugeGuard {
        metrics::gauge!(name).increment(1.0);
        GaugeGuard(name)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_bounded() {
        assert_eq!(route_label("/api/chat/send"), "/api/chat/send");
        assert_eq!(route_label("/api/anything/else"), "/api/other");
        assert_eq!(route_label("/conversations/5f0e"), "/conversations");
        assert_eq!(route_label("/share/abc"), "/share");
        assert_eq!(route_label("/pkg/bookchat.wasm"), "static");
        assert_eq!(route_label("/wp-login.php"), "other");
    }
}
