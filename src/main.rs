//! The `bookchat` binary: serves the app by default; subcommands ingest the book, migrate,
//! evaluate retrieval and run maintenance jobs (see `bookchat --help`).

#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    bookchat::server::cli::main(bookchat::routes::router).await
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The browser build has no binary; see `hydrate()` in lib.rs.
}
