//! Everything that only runs on the server, in folders that say what they are: the HTTP edge
//! (`http`), the chat use cases (`chat`: questions, answers' streams, identity, privacy), the
//! answerer (`answer`), the book (`book`), the data layer holding all SQL (`db`), the command
//! line (`cli`), configuration and the one application state.

pub mod answer;
pub mod book;
pub mod chat;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod mcp;
pub mod metrics;
pub mod state;
