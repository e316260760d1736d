#![recursion_limit = "256"]
//! BookChat: an embeddable "ask the book" chat widget. One crate, two builds: `ssr` (the axum
//! server, database and answerer) and `hydrate` (the WebAssembly widget in the browser).

pub mod api;
pub mod app;
pub mod error;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    ui::early::capture();
    leptos::mount::hydrate_body(app::App);
    ui::early::hydrated();
}
