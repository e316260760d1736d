//! The data MDX components carry in their props (`<HardwareTable requirements={[{…}, …]} />`):
//! a tolerant parser for the JavaScript literals found there — objects, arrays, strings,
//! template literals, numbers — so the text a reader sees on the page is indexed and quoted too.
//! Anything that is not a literal (a call, an arrow function, JSX) parses as [`JsValue::Other`]
//! and is skipped, never guessed at.

#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<JsValue>),
    Obj(Vec<(String, JsValue)>),
    Other,
}

impl JsValue {
    /// The value as one line of text, if it is a scalar.
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            JsValue::Str(s) => Some(s.clone()),
            JsValue::Num(n) => Some(n.clone()),
            JsValue::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Parse one JavaScript expression that is (mostly) a literal. `None` only when the text is
/// not an expression at all.
pub fn parse(src: &str) -> Option<JsValue> {
    let mut p = Parser { s: src.as_bytes(), src, i: 0 };
    p.ws();
    if p.i >= p.s.len() {
        return None;
    }
    let v = p.value();
    Some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skip whitespace and comments.
    fn ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'/') => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                Some(b'/') if self.s.get(self.i + 1) == Some(&b'*') => {
                    self.i += 2;
                    while self.i < self.s.len() && !(self.s[self.i] == b'*' && self.s.get(self.i + 1) == Some(&b'/')) {
                        self.i += 1;
                    }
                    self.i = (self.i + 2).min(self.s.len());
                }
                _ => return,
            }
        }
    }

    fn value(&mut self) -> JsValue {
        self.ws();
        let start = self.i;
        let v = match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(q @ (b'"' | b'\'')) => JsValue::Str(self.string(q)),
            Some(b'`') => JsValue::Str(self.template()),
            Some(c) if c.is_ascii_digit() || c == b'-' || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let word = self.ident();
                match word.as_str() {
                    "true" => JsValue::Bool(true),
                    "false" => JsValue::Bool(false),
                    "null" | "undefined" => JsValue::Null,
                    _ => JsValue::Other,
                }
            }
            _ => {
                self.skip_expression();
                // A stray closing bracket where a value should be: step over it.
                if self.i == start && !matches!(self.peek(), None | Some(b',' | b'}' | b']')) {
                    self.i += 1;
                }
                return JsValue::Other;
            }
        };
        self.ws();
        // Whatever follows a literal before the next separator (a call, an operator, an arrow
        // body) makes the whole value something other than a literal.
        if !matches!(self.peek(), None | Some(b',' | b'}' | b']' | b')')) {
            self.skip_expression();
            return JsValue::Other;
        }
        v
    }

    /// Skip to the next `,` or closing bracket at this nesting depth.
    fn skip_expression(&mut self) {
        let mut depth = 0i32;
        while let Some(c) = self.peek() {
            match c {
                b'"' | b'\'' => {
                    self.string(c);
                    continue;
                }
                b'`' => {
                    self.template();
                    continue;
                }
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' if depth == 0 => return,
                b'}' | b']' | b')' => depth -= 1,
                b',' if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }

    fn ident(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$') {
            self.i += 1;
        }
        self.src[start..self.i].to_owned()
    }

    fn number(&mut self) -> JsValue {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'_')) {
            self.i += 1;
        }
        let text = &self.src[start..self.i];
        if text.chars().any(|c| c.is_ascii_digit()) {
            JsValue::Num(text.replace('_', ""))
        } else {
            JsValue::Other
        }
    }

    fn object(&mut self) -> JsValue {
        self.i += 1;
        let mut fields = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return JsValue::Obj(fields),
                Some(b'}') => {
                    self.i += 1;
                    return JsValue::Obj(fields);
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = match self.peek() {
                Some(q @ (b'"' | b'\'')) => Some(self.string(q)),
                Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' => Some(self.ident()),
                _ => None,
            };
            self.ws();
            match (key, self.peek()) {
                (Some(k), Some(b':')) => {
                    self.i += 1;
                    let v = self.value();
                    fields.push((k, v));
                }
                // Shorthand `{a}`, methods, spreads, computed keys: not data.
                _ => self.skip_expression(),
            }
        }
    }

    fn array(&mut self) -> JsValue {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return JsValue::Arr(items),
                Some(b']') => {
                    self.i += 1;
                    return JsValue::Arr(items);
                }
                Some(b',') => self.i += 1,
                _ => items.push(self.value()),
            }
        }
    }

    /// A quoted string with its escapes decoded.
    fn string(&mut self, quote: u8) -> String {
        self.i += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == quote {
                self.i += 1;
                break;
            }
            if c == b'\\' {
                self.escape(&mut out);
            } else {
                self.push_char(&mut out);
            }
        }
        out
    }

    /// A template literal; `${…}` substitutions are not literal text and are left out.
    fn template(&mut self) -> String {
        self.i += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            match c {
                b'`' => {
                    self.i += 1;
                    break;
                }
                b'\\' => self.escape(&mut out),
                b'$' if self.s.get(self.i + 1) == Some(&b'{') => {
                    self.i += 2;
                    self.skip_expression();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    }
                }
                _ => self.push_char(&mut out),
            }
        }
        out
    }

    fn push_char(&mut self, out: &mut String) {
        let ch = self.src[self.i..].chars().next().unwrap_or('\u{fffd}');
        out.push(ch);
        self.i += ch.len_utf8().max(1);
    }

    fn escape(&mut self, out: &mut String) {
        self.i += 1;
        let Some(c) = self.peek() else { return };
        match c {
            b'n' => out.push('\n'),
            b't' => out.push('\t'),
            b'r' => {}
            b'\n' => {} // line continuation
            b'u' | b'x' => {
                let len = if c == b'u' { 4 } else { 2 };
                let hex = self.src.get(self.i + 1..self.i + 1 + len).unwrap_or("");
                if let Some(ch) = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                    self.i += len;
                }
            }
            _ => {
                self.push_char(out);
                return;
            }
        }
        self.i += 1;
    }
}

/// "expectedOutput" → "Expected output", "max_speed" → "Max speed": prop and field names as
/// the words a reader would see.
pub fn humanize_key(key: &str) -> String {
    let mut words = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if c == '_' || c == '-' {
            words.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        words.extend(c.to_lowercase());
    }
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_literals_with_js_syntax_parse() {
        let v = parse(
            "[\n  { id: 'gpu', spec: \"RTX 4070 Ti (12GB VRAM)\", vram: 12, ok: true, // note\n    nested: { a: `x\\`y` }, },\n  /* c */ { id: 'cpu', spec: 'i7', vram: null },\n]",
        )
        .unwrap();
        let JsValue::Arr(items) = v else { panic!("{v:?}") };
        assert_eq!(items.len(), 2);
        let JsValue::Obj(f) = &items[0] else { panic!() };
        assert_eq!(f[1], ("spec".into(), JsValue::Str("RTX 4070 Ti (12GB VRAM)".into())));
        assert_eq!(f[2], ("vram".into(), JsValue::Num("12".into())));
        assert_eq!(f[3], ("ok".into(), JsValue::Bool(true)));
        assert_eq!(f[4], ("nested".into(), JsValue::Obj(vec![("a".into(), JsValue::Str("x`y".into()))])));
    }

    #[test]
    fn non_literals_are_other_and_do_not_derail_the_rest() {
        let v = parse("{ f: () => { return 1 }, g: call(1, [2]), h: 'kept', i: a + b, ...spread, j: `t ${x} u` }").unwrap();
        assert_eq!(
            v,
            JsValue::Obj(vec![
                ("f".into(), JsValue::Other),
                ("g".into(), JsValue::Other),
                ("h".into(), JsValue::Str("kept".into())),
                ("i".into(), JsValue::Other),
                ("j".into(), JsValue::Str("t  u".into())),
            ])
        );
    }

    #[test]
    fn escapes_and_unicode_survive() {
        assert_eq!(parse(r#"'it\'s \u00e9 ✅ \\ ok'"#), Some(JsValue::Str("it's é ✅ \\ ok".into())));
        assert_eq!(parse("'unterminated"), Some(JsValue::Str("unterminated".into())));
        assert_eq!(parse(""), None);
    }

    #[test]
    fn keys_read_as_words() {
        assert_eq!(humanize_key("expectedOutput"), "Expected output");
        assert_eq!(humanize_key("max_speed"), "Max speed");
        assert_eq!(humanize_key("vramGB"), "Vram gb");
    }
}
