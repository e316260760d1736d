//! Reading JSON in the widget without serde's decoders.
//!
//! serde's derive with serde_json compiles a complete decoder for every type it reads — its own
//! field matching, its own copy of the string, number and whitespace handling — and in the
//! widget's WebAssembly those decoders were about a fifth of the bundle (~40 KB brotli). Here
//! one small parser turns the text into a tree ([`Json`]) and each type picks its fields out of
//! it with a few shared, non-generic helpers. The server still writes with serde; tests decode
//! what serde writes for every API type and compare (see the tests at the end of `model`).

use std::fmt;

/// A parsed JSON value. Numbers keep their text, so an `i64` id reads back exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON object's members, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Vec<(String, Json)>);

/// Why a document could not be read: a syntax error, or a value of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(String);

impl JsonError {
    pub fn new(message: impl Into<String>) -> JsonError {
        JsonError(message.into())
    }

    fn expected(what: &str) -> JsonError {
        JsonError(format!("expected {what}"))
    }

    /// The error, saying which field it was found in.
    fn in_field(self, name: &str) -> JsonError {
        JsonError(format!("{name}: {}", self.0))
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// Read a value of type `T` from JSON text.
pub fn from_slice<T: FromJson>(bytes: &[u8]) -> Result<T, JsonError> {
    T::from_json(parse(bytes)?)
}

/// A type that can be read from a parsed JSON value.
pub trait FromJson: Sized {
    fn from_json(value: Json) -> Result<Self, JsonError>;

    /// The value of an absent field, for types that have one (`Option`: `None`, as serde reads
    /// a missing optional field).
    fn absent() -> Option<Self> {
        None
    }
}

impl Object {
    /// Take a field's value out of the object, read as `T`.
    pub fn take<T: FromJson>(&mut self, name: &str) -> Result<T, JsonError> {
        match self.remove(name) {
            Some(v) => T::from_json(v).map_err(|e| e.in_field(name)),
            None => T::absent().ok_or_else(|| JsonError(format!("missing field `{name}`"))),
        }
    }

    /// The field's raw value, removed (the untyped half of `take`: one copy, not one per type).
    fn remove(&mut self, name: &str) -> Option<Json> {
        let i = self.0.iter().position(|(k, _)| k == name)?;
        Some(self.0.swap_remove(i).1)
    }

    /// Take a field's value, or `T::default()` when it is absent (serde's `#[serde(default)]`).
    pub fn take_or_default<T: FromJson + Default>(&mut self, name: &str) -> Result<T, JsonError> {
        match self.0.iter().any(|(k, _)| k == name) {
            true => self.take(name),
            false => Ok(T::default()),
        }
    }
}

impl Json {
    pub fn into_object(self) -> Result<Object, JsonError> {
        match self {
            Json::Object(o) => Ok(o),
            _ => Err(JsonError::expected("an object")),
        }
    }

    fn into_number(self) -> Result<String, JsonError> {
        match self {
            Json::Number(n) => Ok(n),
            _ => Err(JsonError::expected("a number")),
        }
    }
}

impl FromJson for Json {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        Ok(value)
    }
}

impl FromJson for String {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        match value {
            Json::String(s) => Ok(s),
            _ => Err(JsonError::expected("a string")),
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        match value {
            Json::Bool(b) => Ok(b),
            _ => Err(JsonError::expected("true or false")),
        }
    }
}

/// An integer read from the number's text: a fraction or an exponent is refused, as serde does.
/// Every integer type goes through `i64` (one parser in the WebAssembly, not six); the API has
/// no unsigned value beyond `i64::MAX` (counts, seconds, offsets).
fn integer(value: Json) -> Result<i64, JsonError> {
    value.into_number()?.parse().map_err(|_| JsonError::expected("an integer"))
}

impl FromJson for i64 {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        integer(value)
    }
}

/// Narrower integers: a value out of the type's range is refused.
macro_rules! integers {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(value: Json) -> Result<Self, JsonError> {
                <$t>::try_from(integer(value)?).map_err(|_| JsonError::expected(concat!("an integer in the range of ", stringify!($t))))
            }
        }
    )*};
}
integers!(i16, i32, u32, u64, usize);

impl FromJson for f32 {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        value.into_number()?.parse().map_err(|_| JsonError::expected("a number"))
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        match value {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        match value {
            Json::Array(items) => items.into_iter().map(T::from_json).collect(),
            _ => Err(JsonError::expected("an array")),
        }
    }
}

impl FromJson for uuid::Uuid {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        uuid::Uuid::parse_str(&String::from_json(value)?).map_err(|_| JsonError::expected("a UUID"))
    }
}

/// `FromJson` for a struct read field by field under the field's own name (no renames).
/// Listing the fields builds the struct literal, so a field added to the type and not here
/// does not compile.
macro_rules! from_json_fields {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl $crate::model::json::FromJson for $ty {
            fn from_json(value: $crate::model::json::Json) -> Result<Self, $crate::model::json::JsonError> {
                #[allow(unused_mut)]
                let mut o = value.into_object()?;
                Ok($ty { $($field: o.take(stringify!($field))?),* })
            }
        }
    };
}
pub(crate) use from_json_fields;

/// Nesting deeper than this is refused rather than risking the stack (the API's documents nest
/// four levels; a host page's message is a handful).
const MAX_DEPTH: usize = 64;

/// Parse a whole JSON document (RFC 8259): one value, surrounded only by whitespace.
pub fn parse(bytes: &[u8]) -> Result<Json, JsonError> {
    // Valid UTF-8 up front: string contents can then be copied by byte ranges.
    let text = std::str::from_utf8(bytes).map_err(|_| JsonError::new("the text is not UTF-8"))?;
    let mut p = Parser { s: text, b: bytes, i: 0 };
    let v = p.value(0)?;
    p.ws();
    match p.i == bytes.len() {
        true => Ok(v),
        false => Err(p.error("trailing characters")),
    }
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> JsonError {
        JsonError(format!("{what} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Consume `c` after optional whitespace.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn word(&mut self, w: &str, v: Json) -> Result<Json, JsonError> {
        match self.s[self.i..].starts_with(w) {
            true => {
                self.i += w.len();
                Ok(v)
            }
            false => Err(self.error("unexpected token")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected `:`"));
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `}`"));
                        }
                    }
                }
                Ok(Json::Object(Object(members)))
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected `,` or `]`"));
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.word("true", Json::Bool(true)),
            Some(b'f') => self.word("false", Json::Bool(false)),
            Some(b'n') => self.word("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("unexpected character")),
            None => Err(self.error("unexpected end")),
        }
    }

    /// A number as RFC 8259 writes it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.b.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        self.i += usize::from(self.b[self.i] == b'-');
        let int = digits(self);
        let mut ok = int == 1 || (int > 1 && self.b[self.i - int] != b'0');
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            ok &= digits(self) > 0;
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            self.i += usize::from(matches!(self.b.get(self.i), Some(b'+' | b'-')));
            ok &= digits(self) > 0;
        }
        match ok {
            true => Ok(Json::Number(self.s[start..self.i].to_owned())),
            false => Err(self.error("invalid number")),
        }
    }

    /// A string literal, at its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while self.b.get(self.i).is_some_and(|&c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.i += 1;
            }
            out.push_str(&self.s[run..self.i]);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.b.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    self.i += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.error("control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// `\uXXXX` (at the `u`), joining a surrogate pair; leaves `i` on the escape's last digit.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let hex = |p: &Self, at: usize| {
            p.s.get(at..at + 4).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit())).and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        let hi = hex(self, self.i + 1).ok_or_else(|| self.error("invalid \\u escape"))?;
        self.i += 4;
        let code = match hi {
            0xD800..=0xDBFF => {
                let lo = match self.s.get(self.i + 1..self.i + 3) {
                    Some("\\u") => hex(self, self.i + 3).filter(|lo| (0xDC00..=0xDFFF).contains(lo)),
                    _ => None,
                };
                let lo = lo.ok_or_else(|| self.error("lone surrogate in \\u escape"))?;
                self.i += 6;
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in \\u escape")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(members: &[(&str, Json)]) -> Json {
        Json::Object(Object(members.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()))
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = parse(br#" {"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "d"}, "e": []} "#).unwrap();
        let num = |s: &str| Json::Number(s.into());
        assert_eq!(
            v,
            obj(&[
                ("a", Json::Array(vec![num("1"), num("-2.5e3"), num("0"), Json::Bool(true), Json::Bool(false), Json::Null])),
                ("b", obj(&[("c", Json::String("d".into()))])),
                ("e", Json::Array(vec![])),
            ])
        );
    }

    #[test]
    fn strings_decode_their_escapes_as_serde_json_does() {
        for s in ["plain", "quote \" backslash \\ slash /", "\n\r\t\u{8}\u{c}", "ünïcödé اردو 😀", "\u{0}\u{1f}\u{7f}", "\u{2028}\u{2029}", ""] {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(parse(json.as_bytes()).unwrap(), Json::String(s.into()), "{json}");
        }
        assert_eq!(parse(br#""\u00e9\ud83d\ude00\/""#).unwrap(), Json::String("é😀/".into()));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for bad in [
            "", " ", "{", "[1,]", "[1 2]", r#"{"a" 1}"#, r#"{"a":1,}"#, "{a:1}", "01", "1.", ".5", "-", "1e", "+1", "tru",
            "nul", r#""open"#, "\"tab\there\"", r#""\x""#, r#""\u12""#, r#""\ud83d""#, r#""\ude00""#, r#""\ud83d\u0041""#,
            "1 2", "[] x", "NaN", "'a'",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(parse(b"\"\xff\"").is_err(), "not UTF-8");
        let deep = "[".repeat(MAX_DEPTH + 2) + &"]".repeat(MAX_DEPTH + 2);
        assert!(parse(deep.as_bytes()).is_err(), "too deep");
        let fine = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(fine.as_bytes()).is_ok());
    }

    #[test]
    fn values_are_read_with_serde_s_rules() {
        assert_eq!(from_slice::<i64>(b"-9223372036854775808"), Ok(i64::MIN));
        assert!(from_slice::<i64>(b"9223372036854775808").is_err(), "out of range");
        assert!(from_slice::<i64>(b"1.0").is_err(), "no fractions for integers");
        assert!(from_slice::<u64>(b"-1").is_err());
        assert!(from_slice::<i16>(b"40000").is_err());
        assert_eq!(from_slice::<f32>(b"0.25"), Ok(0.25));
        assert_eq!(from_slice::<Option<String>>(b"null"), Ok(None));
        assert_eq!(from_slice::<Vec<Option<bool>>>(b"[true,null]"), Ok(vec![Some(true), None]));
        assert!(from_slice::<String>(b"1").is_err());
        assert!(from_slice::<uuid::Uuid>(br#""not-a-uuid""#).is_err());

        let mut o = parse(br#"{"a": "x", "n": null}"#).unwrap().into_object().unwrap();
        assert_eq!(o.take::<Option<String>>("missing"), Ok(None), "an absent optional field is None");
        assert_eq!(o.take::<Option<String>>("n"), Ok(None));
        assert_eq!(o.take_or_default::<bool>("flag"), Ok(false));
        let err = o.take::<String>("gone").unwrap_err();
        assert_eq!(err.to_string(), "missing field `gone`");
        let err = o.take::<i64>("a").unwrap_err();
        assert!(err.to_string().starts_with("a: expected"), "{err}");
    }
}
