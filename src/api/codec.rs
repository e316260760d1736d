//! The encoding of server functions' results: JSON, as before and as documented in
//! docs/API.md. The server writes it with serde; the widget reads it with `model::json`, whose
//! one small parser replaced a serde decoder per result type in the WebAssembly (~40 KB
//! brotli). Arguments stay serde JSON both ways (`input = Json`): the widget only writes them.

use crate::model::json::{self, FromJson, JsonError};
use serde::Serialize;
use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// JSON written by serde, read by [`FromJson`].
pub struct ApiJson;

/// A result sent as JSON in the body of the response to a `POST`.
pub type JsonResult = Post<ApiJson>;

impl ContentType for ApiJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for ApiJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for ApiJson {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: FromJson> Decodes<T> for ApiJson {
    type Error = JsonError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        json::from_slice(&bytes)
    }
}
