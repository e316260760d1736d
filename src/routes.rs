//! The whole HTTP application: the Leptos pages and server functions, the probes, the admin
//! page and the demo host site, behind the HTTP edge's middleware. Assembled here, beside the
//! UI shell it renders, so nothing under `server/` depends on the UI.

use crate::app::shell;
use crate::server::http::{self, admin, agents, health, host, security, share, MAX_BODY_BYTES};
use crate::server::state::AppState;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// Responses smaller than this go uncompressed: they fit in one TCP segment either way.
pub const COMPRESS_ABOVE_BYTES: u16 = 1400;

/// The whole HTTP application around a prepared state (used by `serve` and by the tests).
pub fn router(state: AppState) -> Router {
    // The app's pages (`ui::location` picks the page from the path on both sides), streamed as
    // the router would have; server functions are registered alongside by `leptos_routes`.
    let routes = crate::ui::location::PAGE_ROUTES
        .iter()
        .map(|path| AxumRouteListing::new(path.to_string(), leptos_router::SsrMode::OutOfOrder, [leptos_router::Method::Get], vec![]))
        .collect();
    let context_state = state.clone();
    let provide_state = move || provide_context(context_state.clone());
    let options = state.leptos_options.clone();
    // The demo host site only when asked (`BOOKCHAT_DEMO_SITE`): it republishes the book.
    let demo = if state.config.demo_site {
        host::router(host::HostSite { app: state.clone(), bookchat_origin: String::new() })
    } else {
        Router::new().route("/", get(|| async { "BookChat is running. Embed it with <script src=\"/embed.js\" async></script> on your book's pages." }))
    };
    let headers_state = state.clone();
    let request_timeout = std::time::Duration::from_secs(state.config.request_timeout_secs.max(1));
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(http::readyz))
        .route("/admin", get(admin::page))
        .route("/admin/queries.csv", get(admin::csv))
        .route("/admin/health.csv", get(health::csv))
        .route("/admin/pins", axum::routing::post(health::create))
        .route("/admin/pins/{id}/delete", axum::routing::post(health::delete))
        .route("/share/{id}", get(share::page))
        .route("/llms.txt", get(agents::llms_txt))
        .route("/llms-full.txt", get(agents::llms_full_txt))
        .nest_service("/mcp", crate::server::mcp::service(state.clone()))
        .leptos_routes_with_context(&state, routes, provide_state.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(provide_state, shell))
        .with_state(state)
        .merge(demo)
        .layer(axum::middleware::from_fn_with_state(headers_state.clone(), security::headers))
        .layer(axum::middleware::from_fn_with_state(headers_state, http::api_rate_limit))
        .layer(axum::middleware::map_response(http::server_fn_error_status))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Until the response starts: an answer stream's body goes on (it has its own idle limit).
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, request_timeout))
        // Outermost but compression: every request's logs, its response and a 5xx body carry its id.
        .layer(axum::middleware::from_fn(http::request_id::layer))
        // Compress pages and JSON on the fly; never the answer streams (compressors buffer), nor
        // what fits in one TCP segment anyway (no packet saved, only CPU spent). The static
        // bundle is precompressed at build time at the best level. On the fly, the fastest
        // level: at tower-http's default (brotli 4) compressing a messages page cost the server
        // more CPU than the whole rest of the request (221 vs 106 µs); at the fastest, 40 µs,
        // for a body ~15 % larger (on a phone at 1.6 Mbps, a few ms).
        .layer(
            CompressionLayer::new().br(true).gzip(true).quality(tower_http::CompressionLevel::Fastest).compress_when(
                SizeAbove::new(COMPRESS_ABOVE_BYTES)
                    .and(NotForContentType::GRPC)
                    .and(NotForContentType::IMAGES)
                    .and(NotForContentType::SSE)
                    .and(NotForContentType::const_new("application/octet-stream"))
                    .and(NotForContentType::const_new("text/plain")),
            ),
        )
}

