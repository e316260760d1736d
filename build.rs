//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not know the folder is
//! an input: without this, a new migration is silently left out of an incremental build (the
//! tests then run against the old schema).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
