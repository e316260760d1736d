//! Components of the hydrated app: the chat widget, the history browser and their full pages.

pub mod browser;
pub mod chat;
pub mod common;
pub mod early;
pub mod history;
pub mod i18n;
pub mod location;
pub mod pages;
pub mod state;
pub mod widget;
