//! The browser side of every server function call: attaches the reader's session token.
//! The token lives in the widget's own storage (see `ui::session`); cookies alone would fail in
//! third-party iframes, where browsers partition or block them.

use server_fn::client::{browser::BrowserClient, Client};
use server_fn::error::FromServerFnError;
use server_fn::request::browser::BrowserRequest;
use server_fn::response::browser::BrowserResponse;
use std::cell::RefCell;
use std::future::Future;

/// Header carrying the session secret (mirrors `server::chat::auth::SESSION_HEADER`).
pub const SESSION_HEADER: &str = "X-BookChat-Session";

thread_local! {
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Set (or clear) the token sent with every call from this page.
pub fn set_session_token(token: Option<String>) {
    TOKEN.with(|t| *t.borrow_mut() = token);
}

pub fn session_token() -> Option<String> {
    TOKEN.with(|t| t.borrow().clone())
}

pub struct BookChatClient;

impl<E, IS, OS> Client<E, IS, OS> for BookChatClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        if let Some(token) = session_token() {
            req.headers().append(SESSION_HEADER, &token);
        }
        <BrowserClient as Client<E, IS, OS>>::send(req)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<server_fn::Bytes, server_fn::Bytes>> + Send + 'static,
                impl futures::Sink<server_fn::Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}
