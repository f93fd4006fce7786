//! Sprig's defaults and JSON functions.
//!
//! Source: ESO's vendored Sprig (`runtime/template/v2/sprig/defaults.go`).
//! The JSON functions are Go's `encoding/json` (v1, as Go 1.26 builds ESO
//! by default): `fromJson` is `json.Unmarshal` into `interface{}` (its
//! syntax check first, with the scanner's error texts; numbers become
//! float64; strings are made valid UTF-8), `toJson` is `json.Marshal`
//! byte for byte (`encode.go`: sorted keys, HTML escaping, Go's float
//! format), `toPrettyJson` `json.MarshalIndent(v, "", "  ")`, and
//! `toRawJson` an `Encoder` without HTML escaping, its newline trimmed.
//! Both directions are iterative, so nesting depth costs no stack.

use std::collections::BTreeMap;

use crate::func::{Env, FuncError, Param, Registry};
use crate::json::{self, JsonStyle, decode_rune};
use crate::value::Value;

use super::numeric::{first_and_rest, fixed, wrong_type};

pub(super) fn register(r: &mut Registry) {
    r.add("default", &[Param::Any], Some(Param::Any), dfault);
    r.add("empty", &[Param::Any], None, empty_fn);
    r.add("coalesce", &[], Some(Param::Any), coalesce);
    r.add("all", &[], Some(Param::Any), all);
    r.add("any", &[], Some(Param::Any), any);
    r.add("fromJson", &[Param::Str], None, from_json);
    r.add("mustFromJson", &[Param::Str], None, must_from_json);
    r.add("toJson", &[Param::Any], None, to_json);
    r.add("mustToJson", &[Param::Any], None, must_to_json);
    r.add("toPrettyJson", &[Param::Any], None, to_pretty_json);
    r.add("mustToPrettyJson", &[Param::Any], None, must_to_pretty_json);
    r.add("toRawJson", &[Param::Any], None, to_raw_json);
    r.add("mustToRawJson", &[Param::Any], None, to_raw_json);
    r.add(
        "ternary",
        &[Param::Any, Param::Any, Param::Bool],
        None,
        ternary,
    );
}

/// Sprig's `empty`: nil, `false`, zero numbers and empty strings, lists
/// and maps. A `time.Time` (a struct) is never empty to Sprig, even the
/// zero time — unlike [`Value::is_empty`] — so this is `!is_true()`.
/// mergo's `isEmptyValue` (which `merge` uses) gives the same answers.
pub(super) fn empty(v: &Value) -> bool {
    !v.is_true()
}

/// `default(d interface{}, given ...interface{})`: `given[0]` unless it
/// is missing or empty, else `d`.
fn dfault(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (d, given) = first_and_rest(args)?;
    match given.into_iter().next() {
        Some(g) if !empty(&g) => Ok(g),
        _ => Ok(d),
    }
}

fn empty_fn(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::Bool(empty(&v)))
}

/// `coalesce(v ...interface{})`: the first non-empty value, else nil.
fn coalesce(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(args.into_iter().find(|v| !empty(v)).unwrap_or_default())
}

fn all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Bool(args.into_iter().all(|v| !empty(&v))))
}

fn any(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Bool(args.into_iter().any(|v| !empty(&v))))
}

/// `ternary(vt, vf interface{}, v bool)`.
fn ternary(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [vt, vf, v] = fixed(args)?;
    match v {
        Value::Bool(true) => Ok(vt),
        Value::Bool(false) => Ok(vf),
        other => Err(wrong_type("bool", &other)),
    }
}

fn str_arg(v: &Value) -> Result<&[u8], FuncError> {
    match v {
        Value::Str(s) => Ok(s.as_bytes()),
        other => Err(wrong_type("string", other)),
    }
}

/// `fromJson(v string)`: the decoded value, nil when the text is not
/// JSON (Sprig drops the error: ESO's "fromJson error" renders nothing).
/// A number beyond float64 is nil in its place, as Go leaves it.
fn from_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(match json_unmarshal(str_arg(&v)?) {
        Ok(v) => v,
        Err(UnmarshalError::Syntax(_)) => Value::Nil,
        Err(UnmarshalError::Number { partial, .. }) => partial,
    })
}

/// `mustFromJson(v string)`: as `fromJson`, with Go's error.
fn must_from_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    json_unmarshal(str_arg(&v)?).map_err(|e| match e {
        UnmarshalError::Syntax(msg) => FuncError::new(msg),
        UnmarshalError::Number { msg, .. } => FuncError::new(msg),
    })
}

/// `toJson(v)`: `json.Marshal`; `""` when it fails (a NaN or infinite
/// float, a time outside years 0-9999), as Sprig drops the error.
fn to_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::str(
        json::marshal(&v, JsonStyle::Compact { escape_html: true }).unwrap_or_default(),
    ))
}

fn must_to_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::str(json::marshal(
        &v,
        JsonStyle::Compact { escape_html: true },
    )?))
}

fn to_pretty_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::str(
        json::marshal(&v, JsonStyle::Pretty).unwrap_or_default(),
    ))
}

fn must_to_pretty_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::str(json::marshal(&v, JsonStyle::Pretty)?))
}

/// `toRawJson` and `mustToRawJson`: the plain form panics where the must
/// form errors, so both give the error.
fn to_raw_json(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    Ok(Value::str(json::marshal(
        &v,
        JsonStyle::Compact { escape_html: false },
    )?))
}

// ---------------------------------------------------------------------
// Unmarshal
// ---------------------------------------------------------------------

/// Why `json.Unmarshal` failed.
#[derive(Debug)]
pub(super) enum UnmarshalError {
    /// Not JSON: Go's `SyntaxError` text; nothing is decoded.
    Syntax(String),
    /// A number beyond float64 (`UnmarshalTypeError`): Go decodes the rest,
    /// leaving nil in its place.
    Number {
        /// Go's text.
        msg: String,
        /// What Go decoded nonetheless.
        partial: Value,
    },
}

/// Go's `encoding/json` scanner's `quoteChar`: a byte in single quotes as
/// `strconv.Quote` writes it (the byte taken as a rune, so 0xff is `'ÿ'`).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        0x07 => "'\\a'".into(),
        0x08 => "'\\b'".into(),
        0x0c => "'\\f'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x0b => "'\\v'".into(),
        b'\\' => "'\\\\'".into(),
        c if c < 0x20 || c == 0x7f => format!("'\\x{c:02x}'"),
        // C1 controls, no-break space and soft hyphen: not printable.
        0x80..=0xa0 | 0xad => format!("'\\u{c:04x}'"),
        c => format!("'{}'", char::from(c)),
    }
}

/// The scanner's states (Go's `encoding/json/scanner.go`, one per step
/// function).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scan {
    BeginValueOrEmpty,
    BeginValue,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    InStringEscU(u8),
    Neg,
    One,
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    Literal(&'static [u8], u8, &'static str),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Parse {
    ObjectKey,
    ObjectValue,
    ArrayValue,
}

/// Go's `maxNestingDepth`.
const MAX_NESTING_DEPTH: usize = 10_000;

struct Scanner {
    step: Scan,
    parse: Vec<Parse>,
    end_top: bool,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn scan_error(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            step: Scan::BeginValue,
            parse: Vec::new(),
            end_top: false,
        }
    }

    fn push_parse(&mut self, c: u8, p: Parse) -> Result<(), String> {
        self.parse.push(p);
        if self.parse.len() <= MAX_NESTING_DEPTH {
            Ok(())
        } else {
            Err(scan_error(c, "exceeded max depth"))
        }
    }

    fn pop_parse(&mut self) {
        self.parse.pop();
        if self.parse.is_empty() {
            self.step = Scan::EndTop;
            self.end_top = true;
        } else {
            self.step = Scan::EndValue;
        }
    }

    /// One byte through the current state.
    fn step(&mut self, c: u8) -> Result<(), String> {
        match self.step {
            Scan::BeginValueOrEmpty => {
                if is_space(c) {
                    return Ok(());
                }
                if c == b']' {
                    return self.end_value(c);
                }
                self.begin_value(c)
            }
            Scan::BeginValue => self.begin_value(c),
            Scan::BeginStringOrEmpty => {
                if is_space(c) {
                    return Ok(());
                }
                if c == b'}' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    return self.end_value(c);
                }
                self.begin_string(c)
            }
            Scan::BeginString => self.begin_string(c),
            Scan::EndValue => self.end_value(c),
            Scan::EndTop => {
                if is_space(c) {
                    Ok(())
                } else {
                    Err(scan_error(c, "after top-level value"))
                }
            }
            Scan::InString => {
                match c {
                    b'"' => self.step = Scan::EndValue,
                    b'\\' => self.step = Scan::InStringEsc,
                    c if c < 0x20 => return Err(scan_error(c, "in string literal")),
                    _ => {}
                }
                Ok(())
            }
            Scan::InStringEsc => {
                match c {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {
                        self.step = Scan::InString
                    }
                    b'u' => self.step = Scan::InStringEscU(0),
                    _ => return Err(scan_error(c, "in string escape code")),
                }
                Ok(())
            }
            Scan::InStringEscU(n) => {
                if !c.is_ascii_hexdigit() {
                    return Err(scan_error(c, "in \\u hexadecimal character escape"));
                }
                self.step = if n == 3 {
                    Scan::InString
                } else {
                    Scan::InStringEscU(n + 1)
                };
                Ok(())
            }
            Scan::Neg => {
                match c {
                    b'0' => self.step = Scan::Zero,
                    b'1'..=b'9' => self.step = Scan::One,
                    _ => return Err(scan_error(c, "in numeric literal")),
                }
                Ok(())
            }
            Scan::One => {
                if c.is_ascii_digit() {
                    return Ok(());
                }
                self.zero(c)
            }
            Scan::Zero => self.zero(c),
            Scan::Dot => {
                if c.is_ascii_digit() {
                    self.step = Scan::Dot0;
                    return Ok(());
                }
                Err(scan_error(c, "after decimal point in numeric literal"))
            }
            Scan::Dot0 => {
                if c.is_ascii_digit() {
                    return Ok(());
                }
                if c == b'e' || c == b'E' {
                    self.step = Scan::E;
                    return Ok(());
                }
                self.end_value(c)
            }
            Scan::E => {
                if c == b'+' || c == b'-' {
                    self.step = Scan::ESign;
                    return Ok(());
                }
                self.e_sign(c)
            }
            Scan::ESign => self.e_sign(c),
            Scan::E0 => {
                if c.is_ascii_digit() {
                    return Ok(());
                }
                self.end_value(c)
            }
            Scan::Literal(word, at, context) => {
                let want = word.get(usize::from(at)).copied();
                if want != Some(c) {
                    let expecting = want.map_or(String::new(), |w| {
                        format!(" (expecting '{}')", char::from(w))
                    });
                    return Err(scan_error(c, &format!("in literal {context}{expecting}")));
                }
                self.step = if usize::from(at) + 1 == word.len() {
                    Scan::EndValue
                } else {
                    Scan::Literal(word, at + 1, context)
                };
                Ok(())
            }
        }
    }

    fn begin_value(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        match c {
            b'{' => {
                self.step = Scan::BeginStringOrEmpty;
                self.push_parse(c, Parse::ObjectKey)
            }
            b'[' => {
                self.step = Scan::BeginValueOrEmpty;
                self.push_parse(c, Parse::ArrayValue)
            }
            b'"' => {
                self.step = Scan::InString;
                Ok(())
            }
            b'-' => {
                self.step = Scan::Neg;
                Ok(())
            }
            b'0' => {
                self.step = Scan::Zero;
                Ok(())
            }
            b't' => {
                self.step = Scan::Literal(b"true", 1, "true");
                Ok(())
            }
            b'f' => {
                self.step = Scan::Literal(b"false", 1, "false");
                Ok(())
            }
            b'n' => {
                self.step = Scan::Literal(b"null", 1, "null");
                Ok(())
            }
            b'1'..=b'9' => {
                self.step = Scan::One;
                Ok(())
            }
            _ => Err(scan_error(c, "looking for beginning of value")),
        }
    }

    fn begin_string(&mut self, c: u8) -> Result<(), String> {
        if is_space(c) {
            return Ok(());
        }
        if c == b'"' {
            self.step = Scan::InString;
            return Ok(());
        }
        Err(scan_error(c, "looking for beginning of object key string"))
    }

    fn zero(&mut self, c: u8) -> Result<(), String> {
        match c {
            b'.' => {
                self.step = Scan::Dot;
                Ok(())
            }
            b'e' | b'E' => {
                self.step = Scan::E;
                Ok(())
            }
            _ => self.end_value(c),
        }
    }

    fn e_sign(&mut self, c: u8) -> Result<(), String> {
        if c.is_ascii_digit() {
            self.step = Scan::E0;
            return Ok(());
        }
        Err(scan_error(c, "in exponent of numeric literal"))
    }

    fn end_value(&mut self, c: u8) -> Result<(), String> {
        let Some(&ps) = self.parse.last() else {
            self.step = Scan::EndTop;
            self.end_top = true;
            return self.step(c);
        };
        if is_space(c) {
            self.step = Scan::EndValue;
            return Ok(());
        }
        match ps {
            Parse::ObjectKey => {
                if c == b':' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectValue;
                    }
                    self.step = Scan::BeginValue;
                    return Ok(());
                }
                Err(scan_error(c, "after object key"))
            }
            Parse::ObjectValue => {
                if c == b',' {
                    if let Some(last) = self.parse.last_mut() {
                        *last = Parse::ObjectKey;
                    }
                    self.step = Scan::BeginString;
                    return Ok(());
                }
                if c == b'}' {
                    self.pop_parse();
                    return Ok(());
                }
                Err(scan_error(c, "after object key:value pair"))
            }
            Parse::ArrayValue => {
                if c == b',' {
                    self.step = Scan::BeginValue;
                    return Ok(());
                }
                if c == b']' {
                    self.pop_parse();
                    return Ok(());
                }
                Err(scan_error(c, "after array element"))
            }
        }
    }

    /// The end of input (Go's `scanner.eof`): a value still open is
    /// stepped with a space, so `"-"` fails on it, and otherwise
    /// "unexpected end of JSON input".
    fn eof(&mut self) -> Result<(), String> {
        if self.end_top {
            return Ok(());
        }
        self.step(b' ')?;
        if self.end_top {
            return Ok(());
        }
        Err("unexpected end of JSON input".into())
    }
}

/// Go's `checkValid`: the whole text through the scanner.
fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut scan = Scanner::new();
    for &c in data {
        scan.step(c)?;
    }
    scan.eof()
}

/// Four hex digits after `\u` (Go's `getu4`), if `s` starts with them.
fn getu4(s: &[u8]) -> Option<u32> {
    match s {
        [b'\\', b'u', hex @ ..] => {
            let digits = std::str::from_utf8(hex.get(..4)?).ok()?;
            u32::from_str_radix(digits, 16).ok()
        }
        _ => None,
    }
}

/// The text of a JSON string's body (between its quotes, already
/// checked), as Go's `unquote` makes it: escapes resolved, surrogate
/// pairs joined, a lone surrogate and each invalid byte U+FFFD.
fn unquote(mut s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    while let Some(&c) = s.first() {
        if c == b'\\' {
            let esc = s.get(1).copied().unwrap_or(b'\\');
            let simple = match esc {
                b'"' | b'\\' | b'/' | b'\'' => Some(char::from(esc)),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                _ => None,
            };
            if let Some(ch) = simple {
                out.push(ch);
                s = s.get(2..).unwrap_or_default();
                continue;
            }
            let Some(rr) = getu4(s) else {
                // Unreachable after check_valid; Go stops decoding here.
                break;
            };
            s = s.get(6..).unwrap_or_default();
            if (0xd800..0xe000).contains(&rr) {
                let pair = getu4(s)
                    .filter(|r2| (0xd800..0xdc00).contains(&rr) && (0xdc00..0xe000).contains(r2));
                if let Some(r2) = pair {
                    let joined = 0x10000 + ((rr - 0xd800) << 10) + (r2 - 0xdc00);
                    out.push(char::from_u32(joined).unwrap_or('\u{fffd}'));
                    s = s.get(6..).unwrap_or_default();
                    continue;
                }
                out.push('\u{fffd}');
                continue;
            }
            out.push(char::from_u32(rr).unwrap_or('\u{fffd}'));
            continue;
        }
        let (ch, size) = decode_rune(s);
        out.push(ch.unwrap_or('\u{fffd}'));
        s = s.get(size.max(1)..).unwrap_or_default();
    }
    out
}

enum Frame {
    List(Vec<Value>),
    Map(BTreeMap<String, Value>, Option<String>),
}

/// `json.Unmarshal(data, &v)` with `v` an `interface{}`: objects are
/// maps (a repeated key's last value wins), arrays lists, numbers
/// float64.
pub(super) fn json_unmarshal(data: &[u8]) -> Result<Value, UnmarshalError> {
    check_valid(data).map_err(UnmarshalError::Syntax)?;
    let mut stack: Vec<Frame> = Vec::new();
    let mut result = Value::Nil;
    let mut number_error: Option<String> = None;
    let mut i = 0;
    while let Some(&c) = data.get(i) {
        let value = match c {
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' => {
                i += 1;
                continue;
            }
            b'{' => {
                stack.push(Frame::Map(BTreeMap::new(), None));
                i += 1;
                continue;
            }
            b'[' => {
                stack.push(Frame::List(Vec::new()));
                i += 1;
                continue;
            }
            b'}' | b']' => {
                i += 1;
                match stack.pop() {
                    Some(Frame::List(items)) => Value::list(items),
                    Some(Frame::Map(m, _)) => Value::map(m),
                    None => break,
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while let Some(&b) = data.get(j) {
                    match b {
                        b'"' => break,
                        b'\\' => j += 2,
                        _ => j += 1,
                    }
                }
                let text = unquote(data.get(start..j).unwrap_or_default());
                i = j + 1;
                if let Some(Frame::Map(_, key @ None)) = stack.last_mut() {
                    *key = Some(text);
                    continue;
                }
                Value::str(text)
            }
            b't' => {
                i += 4;
                Value::Bool(true)
            }
            b'f' => {
                i += 5;
                Value::Bool(false)
            }
            b'n' => {
                i += 4;
                Value::Nil
            }
            _ => {
                let start = i;
                while data
                    .get(i)
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                {
                    i += 1;
                }
                let literal = String::from_utf8_lossy(data.get(start..i).unwrap_or_default());
                match literal.parse::<f64>() {
                    Ok(f) if f.is_finite() => Value::Float(f),
                    _ => {
                        number_error.get_or_insert_with(|| {
                            format!(
                                "json: cannot unmarshal number {literal} into Go value of type float64"
                            )
                        });
                        Value::Nil
                    }
                }
            }
        };
        match stack.last_mut() {
            None => result = value,
            Some(Frame::List(items)) => items.push(value),
            Some(Frame::Map(m, key)) => {
                m.insert(key.take().unwrap_or_default(), value);
            }
        }
    }
    match number_error {
        None => Ok(result),
        Some(msg) => Err(UnmarshalError::Number {
            msg,
            partial: result,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::func::Registry;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        let mut zeros = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut zeros,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    /// What `{{ ... }}` prints for the value (nil: `<no value>`).
    fn out(v: &Value) -> String {
        match v {
            Value::Nil => "<no value>".into(),
            v => String::from_utf8(v.to_go_string()).unwrap(),
        }
    }

    fn ok(name: &str, args: Vec<Value>) -> String {
        out(&call(name, args).unwrap())
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn i(x: i64) -> Value {
        Value::Int(x)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn default() {
        // sprig defaults_test.go TestDefault (`{{"" | default "foo"}}` etc.)
        assert_eq!(ok("default", vec![s("foo"), s("")]), "foo");
        assert_eq!(ok("default", vec![s("foo"), i(234)]), "234");
        assert_eq!(ok("default", vec![s("foo"), Value::Float(2.34)]), "2.34");
        assert_eq!(ok("default", vec![s("123"), Value::Nil]), "123");
        assert_eq!(ok("default", vec![s("123")]), "123");
    }

    #[test]
    fn empty() {
        // sprig defaults_test.go TestEmpty
        for (v, want) in [
            (i(1), "false"),
            (i(0), "true"),
            (s(""), "true"),
            (Value::Float(0.0), "true"),
            (Value::Bool(false), "true"),
            // `.top.NoSuchThing`, `.bottom.NoSuchThing`
            (Value::Nil, "true"),
        ] {
            assert_eq!(ok("empty", vec![v.clone()]), want, "{v:?}");
        }
        // A time.Time is a struct: never empty to Sprig.
        assert_eq!(
            ok("empty", vec![Value::Time(crate::value::go_zero_time())]),
            "false"
        );
        assert_eq!(ok("empty", vec![Value::list(vec![])]), "true");
        assert_eq!(ok("empty", vec![map(&[])]), "true");
        assert_eq!(ok("empty", vec![Value::Float(f64::NAN)]), "false");
    }

    #[test]
    fn coalesce() {
        // sprig defaults_test.go TestCoalesce
        let two = || i(2);
        for (args, want) in [
            (vec![i(1)], "1"),
            (vec![s(""), i(0), Value::Nil, two()], "2"),
            (vec![s(""), two(), i(0), i(0), i(0)], "2"),
            (vec![s(""), two(), i(3), i(4), i(5)], "2"),
            (vec![], "<no value>"),
            (
                vec![Value::Nil, Value::Nil, Value::Nil, s("airplane")],
                "airplane",
            ),
        ] {
            assert_eq!(ok("coalesce", args), want);
        }
    }

    #[test]
    fn all() {
        // sprig defaults_test.go TestAll
        for (args, want) in [
            (vec![i(1)], "true"),
            (vec![s(""), i(0), Value::Nil, i(2)], "false"),
            (vec![s(""), i(2), i(0), i(0), i(0)], "false"),
            (vec![s(""), i(2), i(3), i(4), i(5)], "false"),
            (vec![], "true"),
            (
                vec![Value::Nil, Value::Nil, Value::Nil, s("airplane")],
                "false",
            ),
        ] {
            assert_eq!(ok("all", args), want);
        }
    }

    #[test]
    fn any() {
        // sprig defaults_test.go TestAny
        for (args, want) in [
            (vec![i(1)], "true"),
            (vec![s(""), i(0), Value::Nil, i(2)], "true"),
            (vec![s(""), i(2), i(3), i(4), i(5)], "true"),
            (vec![s(""), i(0), i(0), i(0), i(0)], "false"),
            (vec![], "false"),
            (
                vec![Value::Nil, Value::Nil, Value::Nil, s("airplane")],
                "true",
            ),
        ] {
            assert_eq!(ok("any", args), want);
        }
    }

    #[test]
    fn from_json() {
        // sprig defaults_test.go TestFromJson
        let v = call("fromJson", vec![s(r#"{"foo": 55}"#)]).unwrap();
        assert_eq!(out(&v), "map[foo:55]");
        let Value::Map(m) = v else { panic!() };
        assert_eq!(out(&m["foo"]), "55");
    }

    #[test]
    fn to_json() {
        // sprig defaults_test.go TestToJson
        let top = map(&[
            ("bool", Value::Bool(true)),
            ("string", s("test")),
            ("number", i(42)),
        ]);
        assert_eq!(
            ok("toJson", vec![top.clone()]),
            r#"{"bool":true,"number":42,"string":"test"}"#
        );
        assert_eq!(
            ok("mustToJson", vec![top]),
            r#"{"bool":true,"number":42,"string":"test"}"#
        );
    }

    #[test]
    fn to_pretty_json() {
        // sprig defaults_test.go TestToPrettyJson
        let top = map(&[
            ("bool", Value::Bool(true)),
            ("string", s("test")),
            ("number", i(42)),
        ]);
        let want = "{\n  \"bool\": true,\n  \"number\": 42,\n  \"string\": \"test\"\n}";
        assert_eq!(ok("toPrettyJson", vec![top.clone()]), want);
        assert_eq!(ok("mustToPrettyJson", vec![top]), want);
        // Nested, with empty containers kept compact (Go's Indent).
        let nested = map(&[
            (
                "a",
                Value::list(vec![i(1), map(&[("b", Value::list(vec![]))])]),
            ),
            ("c", map(&[])),
        ]);
        assert_eq!(
            ok("toPrettyJson", vec![nested]),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"
        );
    }

    #[test]
    fn to_raw_json() {
        // sprig defaults_test.go TestToRawJson
        let top = map(&[
            ("bool", Value::Bool(true)),
            ("string", s("test")),
            ("number", i(42)),
            ("html", s("<HEAD>")),
        ]);
        let want = r#"{"bool":true,"html":"<HEAD>","number":42,"string":"test"}"#;
        assert_eq!(ok("toRawJson", vec![top.clone()]), want);
        assert_eq!(ok("mustToRawJson", vec![top.clone()]), want);
        // json.Marshal escapes what the raw encoder leaves.
        assert_eq!(
            ok("toJson", vec![top]),
            r#"{"bool":true,"html":"\u003cHEAD\u003e","number":42,"string":"test"}"#
        );
    }

    #[test]
    fn ternary() {
        // sprig defaults_test.go TestTernary
        assert_eq!(
            ok("ternary", vec![s("foo"), s("bar"), Value::Bool(true)]),
            "foo"
        );
        assert_eq!(
            ok("ternary", vec![s("foo"), s("bar"), Value::Bool(false)]),
            "bar"
        );
    }

    #[test]
    fn eso_from_json_func() {
        // ESO runtime/template/v2/template_test.go "fromJson func":
        // `{{ $var := .secret | fromJson }}{{ $var.foo }}`
        let v = call("fromJson", vec![s(r#"{"foo": "bar"}"#)]).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(out(&m["foo"]), "bar");
    }

    #[test]
    fn eso_from_and_to_json_func() {
        // ESO template_test.go "from & toJson func":
        // `{{ $var := .secret | fromJson }}{{ $var.foo | toJson }}`
        let v = call("fromJson", vec![s(r#"{"foo": {"baz":"bang"}}"#)]).unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(ok("toJson", vec![m["foo"].clone()]), r#"{"baz":"bang"}"#);
    }

    #[test]
    fn eso_from_json_error() {
        // ESO template_test.go "fromJson error": silent, renders nothing.
        let bad = s("{ # no json # }");
        assert_eq!(ok("fromJson", vec![bad.clone()]), "<no value>");
        assert_eq!(
            call("mustFromJson", vec![bad]).unwrap_err().0,
            "invalid character '#' looking for beginning of object key string"
        );
    }

    #[test]
    fn unmarshal_errors_are_gos() {
        for (text, want) in [
            ("", "unexpected end of JSON input"),
            ("   ", "unexpected end of JSON input"),
            ("{", "unexpected end of JSON input"),
            ("[1,", "unexpected end of JSON input"),
            ("\"abc", "unexpected end of JSON input"),
            ("-", "invalid character ' ' in numeric literal"),
            (
                "1.",
                "invalid character ' ' after decimal point in numeric literal",
            ),
            ("1e", "invalid character ' ' in exponent of numeric literal"),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "nul",
                "invalid character ' ' in literal null (expecting 'l')",
            ),
            (
                "fx",
                "invalid character 'x' in literal false (expecting 'a')",
            ),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("[1 2]", "invalid character '2' after array element"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            (
                "{1:2}",
                "invalid character '1' looking for beginning of object key string",
            ),
            ("1 2", "invalid character '2' after top-level value"),
            ("\"a\tb\"", "invalid character '\\t' in string literal"),
            ("\"\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("01", "invalid character '1' after top-level value"),
            (
                "[\u{1}]",
                "invalid character '\\x01' looking for beginning of value",
            ),
            (
                "'a'",
                "invalid character '\\'' looking for beginning of value",
            ),
            ("[}", "invalid character '}' looking for beginning of value"),
        ] {
            match json_unmarshal(text.as_bytes()) {
                Err(UnmarshalError::Syntax(msg)) => assert_eq!(msg, want, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        match json_unmarshal(b"\xff") {
            Err(UnmarshalError::Syntax(msg)) => {
                assert_eq!(
                    msg,
                    "invalid character '\u{ff}' looking for beginning of value"
                )
            }
            other => panic!("{other:?}"),
        }
        match json_unmarshal(b"\xc2") {
            Err(UnmarshalError::Syntax(msg)) => {
                assert_eq!(
                    msg,
                    "invalid character '\u{c2}' looking for beginning of value"
                )
            }
            other => panic!("{other:?}"),
        }
        match json_unmarshal(b"\x85") {
            Err(UnmarshalError::Syntax(msg)) => {
                assert_eq!(
                    msg,
                    "invalid character '\\u0085' looking for beginning of value"
                )
            }
            other => panic!("{other:?}"),
        }
        // Go's maxNestingDepth.
        let deep = "[".repeat(10_001);
        match json_unmarshal(deep.as_bytes()) {
            Err(UnmarshalError::Syntax(msg)) => {
                assert_eq!(msg, "invalid character '[' exceeded max depth")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unmarshal_values_are_gos() {
        let v = json_unmarshal(
            br#" {"b": [1, 2.5, -0.1e1, true, false, null], "a": "x\"\\\/\b\f\n\r\t\u00e9", "a": "dup"} "#,
        )
        .unwrap();
        assert_eq!(out(&v), "map[a:dup b:[1 2.5 -1 true false <nil>]]");
        // Surrogate pairs joined; a lone surrogate and invalid bytes become
        // U+FFFD, one per byte.
        let v = json_unmarshal(b"\"\\ud83d\\ude00 \\ud800x \\udc00 \xe2\x82 \xff\"").unwrap();
        assert_eq!(
            out(&v),
            "\u{1f600} \u{fffd}x \u{fffd} \u{fffd}\u{fffd} \u{fffd}"
        );
        let v = json_unmarshal(br#""\u00e9\n""#).unwrap();
        assert_eq!(out(&v), "\u{e9}\n");
        // Keys too.
        let v = json_unmarshal(b"{\"k\xff\": 1}").unwrap();
        assert_eq!(out(&v), "map[k\u{fffd}:1]");
        // Escapes in keys are resolved, and a key with a quote.
        let v = json_unmarshal(br#"{"a\"b": 1}"#).unwrap();
        assert_eq!(out(&v), "map[a\"b:1]");
    }

    #[test]
    fn unmarshal_number_out_of_range() {
        match json_unmarshal(br#"{"a": 1e400, "b": 2}"#) {
            Err(UnmarshalError::Number { msg, partial }) => {
                assert_eq!(
                    msg,
                    "json: cannot unmarshal number 1e400 into Go value of type float64"
                );
                assert_eq!(out(&partial), "map[a:<nil> b:2]");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ok("fromJson", vec![s("[1e400, 1]")]), "[<nil> 1]");
        assert_eq!(
            call("mustFromJson", vec![s("-1e400")]).unwrap_err().0,
            "json: cannot unmarshal number -1e400 into Go value of type float64"
        );
        assert_eq!(ok("fromJson", vec![s("1e-400")]), "0");
    }

    #[test]
    fn marshal_strings_are_gos() {
        // (input, json.Marshal, Encoder without HTML escaping)
        let cases: [(&[u8], &[u8], &[u8]); 6] = [
            (b"<a & b>", br#""\u003ca \u0026 b\u003e""#, br#""<a & b>""#),
            (
                b"\x08\x0c\n\r\t\x01\x1f\x7f",
                b"\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"",
                b"\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"",
            ),
            (b"q\"\\/", br#""q\"\\/""#, br#""q\"\\/""#),
            (
                "\u{2028}\u{2029}\u{e9}".as_bytes(),
                "\"\\u2028\\u2029\u{e9}\"".as_bytes(),
                "\"\\u2028\\u2029\u{e9}\"".as_bytes(),
            ),
            (
                b"a\xffb\xe2\x82",
                br#""a\ufffdb\ufffd\ufffd""#,
                br#""a\ufffdb\ufffd\ufffd""#,
            ),
            (
                "\u{fffd}".as_bytes(),
                "\"\u{fffd}\"".as_bytes(),
                "\"\u{fffd}\"".as_bytes(),
            ),
        ];
        for (input, html, raw) in cases {
            let v = Value::str(input);
            let got = json::marshal(&v, JsonStyle::Compact { escape_html: true }).unwrap();
            assert_eq!(got, html, "{input:?}");
            let got = json::marshal(&v, JsonStyle::Compact { escape_html: false }).unwrap();
            assert_eq!(got, raw, "{input:?}");
        }
    }

    #[test]
    fn marshal_floats_are_gos() {
        // Go 1.22's json.Marshal(float64(x)).
        for (f, want) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (3.5, "3.5"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e21, "1.5e+21"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (1e-10, "1e-10"),
            (-2.5e-300, "-2.5e-300"),
            (1234567.0, "1234567"),
        ] {
            let got =
                json::marshal(&Value::Float(f), JsonStyle::Compact { escape_html: true }).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want, "{f}");
        }
        for (f, want) in [
            (f64::NAN, "json: unsupported value: NaN"),
            (f64::INFINITY, "json: unsupported value: +Inf"),
            (f64::NEG_INFINITY, "json: unsupported value: -Inf"),
        ] {
            assert_eq!(
                call("mustToJson", vec![Value::Float(f)]).unwrap_err().0,
                want
            );
            assert_eq!(
                call("mustToPrettyJson", vec![Value::Float(f)])
                    .unwrap_err()
                    .0,
                want
            );
            assert_eq!(
                call("toRawJson", vec![Value::Float(f)]).unwrap_err().0,
                want
            );
            assert_eq!(
                call("mustToRawJson", vec![Value::Float(f)]).unwrap_err().0,
                want
            );
            // toJson and toPrettyJson drop the error.
            assert_eq!(ok("toJson", vec![Value::Float(f)]), "");
            assert_eq!(ok("toPrettyJson", vec![Value::Float(f)]), "");
        }
    }

    #[test]
    fn marshal_times_are_gos() {
        use time::macros::datetime;
        for (t, want) in [
            (
                datetime!(2024-03-01 12:34:56 UTC),
                r#""2024-03-01T12:34:56Z""#,
            ),
            (
                datetime!(2024-03-01 12:34:56.120 +05:30),
                r#""2024-03-01T12:34:56.12+05:30""#,
            ),
            (
                datetime!(0001-01-01 00:00:00.000000001 -08:00),
                r#""0001-01-01T00:00:00.000000001-08:00""#,
            ),
        ] {
            assert_eq!(ok("toJson", vec![Value::Time(t)]), want);
        }
        assert_eq!(
            call(
                "mustToJson",
                vec![Value::Time(datetime!(-0001-01-01 00:00 UTC))]
            )
            .unwrap_err()
            .0,
            "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of range [0,9999]"
        );
        assert_eq!(
            call(
                "mustToJson",
                vec![Value::Time(datetime!(2024-01-01 00:00 +24:00))]
            )
            .unwrap_err()
            .0,
            "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: timezone hour outside of range [0,23]"
        );
    }

    #[test]
    fn marshal_nesting_and_nil() {
        let v = map(&[
            ("z", Value::Nil),
            (
                "a",
                Value::list(vec![Value::list(vec![]), map(&[]), Value::Bool(false)]),
            ),
        ]);
        assert_eq!(ok("toJson", vec![v]), r#"{"a":[[],{},false],"z":null}"#);
        assert_eq!(ok("toJson", vec![Value::Nil]), "null");
        // Keys escaped like strings.
        assert_eq!(
            ok("toJson", vec![map(&[("<k>", i(1))])]),
            r#"{"\u003ck\u003e":1}"#
        );
        assert_eq!(ok("toRawJson", vec![map(&[("<k>", i(1))])]), r#"{"<k>":1}"#);
        // Round trip.
        let text = r#"{"a":[1,2.5,"x",null,true],"b":{"c":{}}}"#;
        let v = call("fromJson", vec![s(text)]).unwrap();
        assert_eq!(ok("toJson", vec![v]), text);
    }

    #[test]
    fn deep_nesting_costs_no_stack() {
        let depth = 10_000;
        let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let v = json_unmarshal(text.as_bytes()).unwrap();
        let back = json::marshal(&v, JsonStyle::Compact { escape_html: true }).unwrap();
        assert_eq!(back, text.as_bytes());
        // Unnest before dropping (Value's drop recurses).
        let mut v = v;
        while let Value::List(l) = v {
            v = std::sync::Arc::try_unwrap(l)
                .ok()
                .and_then(|mut l| l.pop())
                .unwrap_or_default();
        }
    }
}
