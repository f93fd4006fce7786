//! Sprig's string functions as ESO ships them (`runtime/template/v2/sprig`:
//! the `genericMap` entries of `functions.go`, bodies in `strings.go`, and
//! `sortAlpha` in `list.go`), with the Go library code they call written
//! again: Go's `strings` and `strconv.Quote`, Masterminds/goutils v1.1.1
//! (`Abbreviate`, `Wrap`, `SwapCase`, `Initials`, `Uncapitalize`,
//! `DeleteWhiteSpace`) and huandu/xstrings v1.5.0 (`ToSnakeCase`,
//! `ToKebabCase`, `ToPascalCase`): the versions ESO's `runtime/go.mod` pins.
//!
//! A Go string is bytes. Functions that Go writes over bytes (`nospace`,
//! `initials`, `wrap`, `trunc`, `substr`) work on bytes here too, and
//! those that decode runes read an invalid byte as U+FFFD of width one and
//! write it back as U+FFFD, as Go's `range` and `strings.Map` do.
//!
//! The conversions of `interface{}` arguments that other Sprig modules
//! share live here: [`strval`] and [`strslice`].

use std::cmp::Ordering;
use std::sync::OnceLock;

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::{Str, Value};

/// The largest value, in bytes, a function here builds. Go has no such
/// bound; this renderer has one so that `repeat` or `wrapWith` with a huge
/// count fails instead of exhausting memory (one template's output is
/// bounded far below this anyway).
pub(super) const MAX_RESULT: usize = 16 << 20;

/// The error for a result over [`MAX_RESULT`].
pub(super) fn too_large() -> FuncError {
    FuncError::new(format!(
        "the result would exceed {MAX_RESULT} bytes, this renderer's limit for one value"
    ))
}

pub(super) fn register(r: &mut Registry) {
    use Param::{Any, Int, Str as S};
    r.add("hello", &[], None, hello);
    r.add("abbrev", &[Int, S], None, abbrev);
    r.add("abbrevboth", &[Int, Int, S], None, abbrevboth);
    r.add("trunc", &[Int, S], None, trunc);
    r.add("trim", &[S], None, trim);
    r.add("upper", &[S], None, upper);
    r.add("lower", &[S], None, lower);
    r.add("title", &[S], None, title);
    r.add("untitle", &[S], None, untitle);
    r.add("substr", &[Int, Int, S], None, substr);
    r.add("repeat", &[Int, S], None, repeat);
    r.add("trimall", &[S, S], None, trim_all);
    r.add("trimAll", &[S, S], None, trim_all);
    r.add("trimSuffix", &[S, S], None, trim_suffix);
    r.add("trimPrefix", &[S, S], None, trim_prefix);
    r.add("nospace", &[S], None, nospace);
    r.add("initials", &[S], None, initials);
    r.add("swapcase", &[S], None, swapcase);
    r.add("snakecase", &[S], None, snakecase);
    r.add("camelcase", &[S], None, camelcase);
    r.add("kebabcase", &[S], None, kebabcase);
    r.add("wrap", &[Int, S], None, wrap);
    r.add("wrapWith", &[Int, S, S], None, wrap_with);
    r.add("contains", &[S, S], None, contains);
    r.add("hasPrefix", &[S, S], None, has_prefix);
    r.add("hasSuffix", &[S, S], None, has_suffix);
    r.add("quote", &[], Some(Any), quote);
    r.add("squote", &[], Some(Any), squote);
    r.add("cat", &[], Some(Any), cat);
    r.add("indent", &[Int, S], None, indent);
    r.add("nindent", &[Int, S], None, nindent);
    r.add("replace", &[S, S, S], None, replace);
    r.add("plural", &[S, S, Int], None, plural);
    r.add("toString", &[Any], None, to_string);
    r.add("split", &[S, S], None, split);
    r.add("splitList", &[S, S], None, split_list);
    r.add("splitn", &[S, Int, S], None, splitn);
    r.add("toStrings", &[Any], None, to_strings);
    r.add("join", &[S, Any], None, join);
    r.add("sortAlpha", &[Any], None, sort_alpha);
    r.add("fail", &[S], None, fail);
}

// ---------------------------------------------------------------------
// Shared conversions and argument access.

/// Sprig's `strval`: a string as it is, anything else as Go's `%v` (a
/// `time.Time` is a `fmt.Stringer` whose `String` is its `%v`).
pub(super) fn strval(v: &Value) -> Str {
    match v {
        Value::Str(s) => s.clone(),
        other => Str::from(other.to_go_string()),
    }
}

/// Sprig's `strslice`: a list's non-nil elements through [`strval`], nil
/// as no strings, anything else as the one string [`strval`] makes of it.
pub(super) fn strslice(v: &Value) -> Vec<Str> {
    match v {
        Value::List(items) => items
            .iter()
            .filter(|item| !matches!(item, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// A `[]string` result.
pub(super) fn str_list(items: Vec<Str>) -> Value {
    Value::list(items.into_iter().map(Value::Str).collect())
}

/// Argument `i` as the string the engine checked it to be.
pub(super) fn str_arg(args: &[Value], i: usize) -> Result<&[u8], FuncError> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s.as_bytes()),
        _ => Err(not_declared(i, "string")),
    }
}

/// Argument `i` as the integer the engine checked it to be.
pub(super) fn int_arg(args: &[Value], i: usize) -> Result<i64, FuncError> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        _ => Err(not_declared(i, "int")),
    }
}

/// The engine hands each body arguments of the declared kinds; this is
/// the error should it ever not.
fn not_declared(i: usize, kind: &str) -> FuncError {
    FuncError::new(format!(
        "internal error: argument {} is not the declared {kind}",
        i + 1
    ))
}

fn text(s: impl Into<Str>) -> Result<Value, FuncError> {
    Ok(Value::Str(s.into()))
}

// ---------------------------------------------------------------------
// Go's runes and its `unicode` package.

/// Go's decoding of a string (`for _, r := range s`): runes with their
/// width in bytes, each byte of an invalid sequence U+FFFD of width one.
pub(super) fn runes(s: &[u8]) -> impl Iterator<Item = (char, usize)> + '_ {
    s.utf8_chunks().flat_map(|chunk| {
        chunk.valid().chars().map(|c| (c, c.len_utf8())).chain(
            chunk
                .invalid()
                .iter()
                .map(|_| (char::REPLACEMENT_CHARACTER, 1)),
        )
    })
}

/// Go's `utf8.DecodeRune`: the first rune and its width; U+FFFD of width
/// one for an invalid byte, of width zero for no bytes.
pub(super) fn decode_rune(s: &[u8]) -> (char, usize) {
    runes(s).next().unwrap_or((char::REPLACEMENT_CHARACTER, 0))
}

/// Appends `c` as UTF-8 (Go's `WriteRune`).
pub(super) fn push_rune(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// Go's `strings.Map` over runes: an invalid byte becomes U+FFFD.
fn map_runes(s: &[u8], mut f: impl FnMut(char) -> char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for (c, _) in runes(s) {
        push_rune(&mut out, f(c));
    }
    out
}

/// A Unicode category, as Go's `unicode` tables hold it, read once from
/// `regex-syntax`'s tables.
struct Category {
    class: &'static str,
    /// Used only should the class not load.
    approx: fn(char) -> bool,
    ranges: OnceLock<Vec<(char, char)>>,
}

impl Category {
    const fn new(class: &'static str, approx: fn(char) -> bool) -> Self {
        Category {
            class,
            approx,
            ranges: OnceLock::new(),
        }
    }

    fn contains(&self, c: char) -> bool {
        let ranges = self.ranges.get_or_init(|| unicode_ranges(self.class));
        if ranges.is_empty() {
            return (self.approx)(c);
        }
        ranges
            .binary_search_by(|&(lo, hi)| {
                if hi < c {
                    Ordering::Less
                } else if lo > c {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            })
            .is_ok()
    }
}

/// The ranges of a Unicode class written in regex syntax.
fn unicode_ranges(class: &str) -> Vec<(char, char)> {
    use regex_syntax::hir::{Class, HirKind};
    match regex_syntax::Parser::new().parse(class) {
        Ok(hir) => match hir.kind() {
            HirKind::Class(Class::Unicode(c)) => {
                c.ranges().iter().map(|r| (r.start(), r.end())).collect()
            }
            _ => Vec::new(),
        },
        Err(_) => Vec::new(),
    }
}

fn never(_: char) -> bool {
    false
}

static UPPER: Category = Category::new(r"\p{Lu}", char::is_uppercase);
static LOWER: Category = Category::new(r"\p{Ll}", char::is_lowercase);
static TITLE: Category = Category::new(r"\p{Lt}", never);
static LETTER: Category = Category::new(r"\p{L}", char::is_alphabetic);
static DIGIT: Category = Category::new(r"\p{Nd}", char::is_numeric);
static NUMBER: Category = Category::new(r"\p{N}", char::is_numeric);
static PUNCT: Category = Category::new(r"\p{P}", |c| c.is_ascii_punctuation());
static GRAPHIC: Category = Category::new(r"[\p{L}\p{M}\p{N}\p{P}\p{S}]", |c| !c.is_control());

/// `unicode.IsUpper` (category Lu).
pub(super) fn is_upper(c: char) -> bool {
    UPPER.contains(c)
}

/// `unicode.IsLower` (category Ll).
pub(super) fn is_lower(c: char) -> bool {
    LOWER.contains(c)
}

/// `unicode.IsTitle` (category Lt).
fn is_title(c: char) -> bool {
    TITLE.contains(c)
}

/// `unicode.IsLetter` (category L).
pub(super) fn is_letter(c: char) -> bool {
    LETTER.contains(c)
}

/// `unicode.IsDigit` (category Nd).
pub(super) fn is_digit(c: char) -> bool {
    DIGIT.contains(c)
}

/// `unicode.IsNumber` (category N).
fn is_number(c: char) -> bool {
    NUMBER.contains(c)
}

/// `unicode.IsPunct` (category P).
fn is_punct(c: char) -> bool {
    PUNCT.contains(c)
}

/// `unicode.IsSpace`: Go's Latin-1 spaces and the White_Space property
/// beyond, the set Rust's `char::is_whitespace` holds.
pub(super) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and
/// the ASCII space.
pub(super) fn is_print(c: char) -> bool {
    c == ' ' || GRAPHIC.contains(c)
}

/// One rune of a full case mapping, or `c` when the mapping is several
/// runes (Go's simple mappings map those to themselves but for the
/// exceptions the callers handle).
fn single(mut mapped: impl Iterator<Item = char>, c: char) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

/// `unicode.ToUpper`: Unicode's simple uppercase mapping (`ß` stays `ß`).
pub(super) fn to_upper(c: char) -> char {
    let n = u32::from(c);
    // Greek with ypogegrammeni: the full mapping is two runes, the simple
    // one the titlecase letter eight code points on.
    let simple = match n {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => Some(n + 8),
        0x1FB3 | 0x1FC3 | 0x1FF3 => Some(n + 9),
        _ => None,
    };
    match simple.and_then(char::from_u32) {
        Some(u) => u,
        None => single(c.to_uppercase(), c),
    }
}

/// `unicode.ToLower`: Unicode's simple lowercase mapping (`İ` is `i`).
pub(super) fn to_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    single(c.to_lowercase(), c)
}

/// `unicode.ToTitle`: the uppercase mapping but for the Latin digraphs,
/// whose titlecase is their own letter, and Georgian Mkhedruli, which has
/// no titlecase.
pub(super) fn to_title(c: char) -> char {
    match u32::from(c) {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        0x10D0..=0x10FA | 0x10FD..=0x10FF => c,
        _ => to_upper(c),
    }
}

// ---------------------------------------------------------------------
// Go's `strings` and `strconv` functions the bodies use.

/// `strings.Index`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// `strconv.Quote`: Go's double-quoted string literal, escaping what is not
/// printable and each byte of an invalid sequence as `\xHH`.
pub(super) fn go_quote(s: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |out: &mut Vec<u8>, n: u32, digits: u32| {
        for shift in (0..digits).rev() {
            let nibble = (n >> (shift * 4)) & 0xF;
            out.push(HEX.get(nibble as usize).copied().unwrap_or(b'0'));
        }
    };
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        let (c, width) = decode_rune(rest);
        let (head, tail) = rest.split_at(width.clamp(1, rest.len()));
        rest = tail;
        if width == 1 && c == char::REPLACEMENT_CHARACTER {
            out.extend_from_slice(b"\\x");
            hex(&mut out, u32::from(head.first().copied().unwrap_or(0)), 2);
            continue;
        }
        match c {
            '"' | '\\' => {
                out.push(b'\\');
                push_rune(&mut out, c);
            }
            _ if is_print(c) => push_rune(&mut out, c),
            '\u{7}' => out.extend_from_slice(b"\\a"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{b}' => out.extend_from_slice(b"\\v"),
            _ if c < ' ' || c == '\u{7f}' => {
                out.extend_from_slice(b"\\x");
                hex(&mut out, u32::from(c), 2);
            }
            _ if u32::from(c) < 0x10000 => {
                out.extend_from_slice(b"\\u");
                hex(&mut out, u32::from(c), 4);
            }
            _ => {
                out.extend_from_slice(b"\\U");
                hex(&mut out, u32::from(c), 8);
            }
        }
    }
    out.push(b'"');
    out
}

/// `strings.Repeat`, with its panics' texts (`safeCall` makes them the
/// call's error).
pub(super) fn go_repeat(s: &[u8], count: i64) -> Result<Vec<u8>, FuncError> {
    if count < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let count = usize::try_from(count).map_err(|_| too_large())?;
    match s.len().checked_mul(count) {
        None => Err(FuncError::new("strings: Repeat output length overflow")),
        Some(n) if n > MAX_RESULT => Err(too_large()),
        Some(_) => Ok(s.repeat(count)),
    }
}

/// `strings.Replace(s, old, new, -1)`: an empty `old` inserts `new` before
/// each rune and at the end.
pub(super) fn go_replace_all(s: &[u8], old: &[u8], new: &[u8]) -> Result<Vec<u8>, FuncError> {
    if old == new {
        return Ok(s.to_vec());
    }
    let mut out = Vec::with_capacity(s.len());
    let push = |out: &mut Vec<u8>, part: &[u8]| {
        if out.len() + part.len() > MAX_RESULT {
            return Err(too_large());
        }
        out.extend_from_slice(part);
        Ok(())
    };
    if old.is_empty() {
        push(&mut out, new)?;
        let mut rest = s;
        while !rest.is_empty() {
            let (_, width) = decode_rune(rest);
            let (rune, tail) = rest.split_at(width.clamp(1, rest.len()));
            push(&mut out, rune)?;
            push(&mut out, new)?;
            rest = tail;
        }
        return Ok(out);
    }
    let mut rest = s;
    while let Some(i) = find(rest, old) {
        let (before, tail) = rest.split_at(i);
        push(&mut out, before)?;
        push(&mut out, new)?;
        rest = tail.get(old.len()..).unwrap_or_default();
    }
    push(&mut out, rest)?;
    Ok(out)
}

/// `strings.SplitN` (`n < 0` is `strings.Split`): an empty separator
/// splits after each rune.
fn go_split(s: &[u8], sep: &[u8], n: i64) -> Vec<Str> {
    if n == 0 {
        return Vec::new();
    }
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut parts = Vec::new();
    let mut rest = s;
    if sep.is_empty() {
        // Go's explode: at most n parts, the last one the remainder; an
        // invalid byte before it becomes U+FFFD.
        let limit = limit.min(runes(s).count());
        while !rest.is_empty() {
            if parts.len() + 1 == limit {
                parts.push(Str::from(rest));
                return parts;
            }
            let (c, width) = decode_rune(rest);
            let (rune, tail) = rest.split_at(width.clamp(1, rest.len()));
            if c == char::REPLACEMENT_CHARACTER {
                parts.push(Str::from("\u{FFFD}"));
            } else {
                parts.push(Str::from(rune));
            }
            rest = tail;
        }
        return parts;
    }
    while parts.len() + 1 < limit {
        let Some(i) = find(rest, sep) else { break };
        let (before, tail) = rest.split_at(i);
        parts.push(Str::from(before));
        rest = tail.get(sep.len()..).unwrap_or_default();
    }
    parts.push(Str::from(rest));
    parts
}

/// `strings.Trim(s, cutset)` from the front and/or the back: runes of
/// `s` that are in `cutset` (an invalid byte is U+FFFD on both sides).
fn go_trim(s: &[u8], cutset: &[u8], front: bool, back: bool) -> Vec<u8> {
    let set: Vec<char> = runes(cutset).map(|(c, _)| c).collect();
    let all: Vec<(char, usize)> = runes(s).collect();
    let mut start = 0usize;
    let mut first = 0usize;
    if front {
        for &(c, w) in &all {
            if !set.contains(&c) {
                break;
            }
            start += w;
            first += 1;
        }
    }
    let mut end = s.len();
    if back {
        for &(c, w) in all.iter().skip(first).rev() {
            if !set.contains(&c) {
                break;
            }
            end -= w;
        }
    }
    s.get(start..end.max(start)).unwrap_or_default().to_vec()
}

/// `strings.TrimSpace`.
fn go_trim_space(s: &[u8]) -> &[u8] {
    let all: Vec<(char, usize)> = runes(s).collect();
    let start: usize = all
        .iter()
        .take_while(|(c, _)| is_space(*c))
        .map(|(_, w)| w)
        .sum();
    let trailing: usize = all
        .iter()
        .rev()
        .take_while(|(c, _)| is_space(*c))
        .map(|(_, w)| w)
        .sum();
    let end = s.len().saturating_sub(trailing).max(start);
    s.get(start..end).unwrap_or_default()
}

/// Go's runtime error for `s[lo:hi]` out of range, as `safeCall` reports
/// the panic (`runtime error: slice bounds out of range [...]`).
fn slice(s: &[u8], lo: Option<i64>, hi: Option<i64>) -> Result<&[u8], FuncError> {
    let len = s.len() as i64;
    let bad = |what: String| {
        Err(FuncError::new(format!(
            "runtime error: slice bounds out of range {what}"
        )))
    };
    let h = hi.unwrap_or(len);
    if let Some(h) = hi {
        if h < 0 {
            return bad(format!("[:{h}]"));
        }
        if h > len {
            return bad(format!("[:{h}] with length {len}"));
        }
    }
    let l = lo.unwrap_or(0);
    if l < 0 {
        return bad(format!("[{l}:]"));
    }
    if l > h {
        return bad(format!("[{l}:{h}]"));
    }
    let (Ok(l), Ok(h)) = (usize::try_from(l), usize::try_from(h)) else {
        return bad(format!("[{l}:{h}]"));
    };
    s.get(l..h)
        .ok_or_else(|| FuncError::new("runtime error: slice bounds out of range"))
}

// ---------------------------------------------------------------------
// The functions.

fn hello(_: &mut Env<'_>, _: Vec<Value>) -> Result<Value, FuncError> {
    text("Hello!")
}

/// goutils' `AbbreviateFull`, its errors an empty string (Sprig drops
/// them). Byte offsets, as goutils slices.
fn abbreviate_full(s: &[u8], offset: i64, max_width: i64) -> Vec<u8> {
    const MARKER: &[u8] = b"...";
    let len = s.len() as i64;
    if s.is_empty() || max_width < 4 {
        return Vec::new();
    }
    if len <= max_width {
        return s.to_vec();
    }
    let mut offset = offset.min(len);
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    let part = |lo: i64, hi: i64| -> &[u8] {
        match (usize::try_from(lo), usize::try_from(hi)) {
            (Ok(lo), Ok(hi)) => s.get(lo..hi).unwrap_or_default(),
            _ => &[],
        }
    };
    if offset <= 4 {
        return [part(0, max_width - 3), MARKER].concat();
    }
    if max_width < 7 {
        return Vec::new();
    }
    if offset + max_width - 3 < len {
        let inner = abbreviate_full(part(offset, len), 0, max_width - 3);
        return [MARKER, &inner].concat();
    }
    [MARKER, part(len - (max_width - 3), len)].concat()
}

fn abbrev(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let width = int_arg(&args, 0)?;
    let s = str_arg(&args, 1)?;
    if width < 4 {
        return text(s);
    }
    text(abbreviate_full(s, 0, width))
}

fn abbrevboth(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let left = int_arg(&args, 0)?;
    let right = int_arg(&args, 1)?;
    let s = str_arg(&args, 2)?;
    if right < 4 || left > 0 && right < 7 {
        return text(s);
    }
    text(abbreviate_full(s, left, right))
}

fn trunc(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let c = int_arg(&args, 0)?;
    let s = str_arg(&args, 1)?;
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return text(slice(s, Some(len + c), None)?);
    }
    if c >= 0 && len > c {
        return text(slice(s, None, Some(c))?);
    }
    text(s)
}

fn trim(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(go_trim_space(str_arg(&args, 0)?))
}

fn upper(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(map_runes(str_arg(&args, 0)?, to_upper))
}

fn lower(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(map_runes(str_arg(&args, 0)?, to_lower))
}

/// `strings.Title`'s word boundaries: ASCII letters, digits and `_` join
/// a word, other letters and digits too, spaces and anything else part it.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if is_letter(c) || is_digit(c) {
        return false;
    }
    is_space(c)
}

fn title(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut prev = ' ';
    text(map_runes(str_arg(&args, 0)?, |c| {
        let mapped = if is_separator(prev) { to_title(c) } else { c };
        prev = c;
        mapped
    }))
}

/// goutils' `Uncapitalize`: the first rune of each space-separated word
/// in lower case.
fn untitle(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut next = true;
    text(map_runes(str_arg(&args, 0)?, |c| {
        if is_space(c) {
            next = true;
            c
        } else if next {
            next = false;
            to_lower(c)
        } else {
            c
        }
    }))
}

/// Sprig's `substring`, Go's slice panics its errors.
fn substr(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let start = int_arg(&args, 0)?;
    let end = int_arg(&args, 1)?;
    let s = str_arg(&args, 2)?;
    if start < 0 {
        return text(slice(s, None, Some(end))?);
    }
    if end < 0 || end > s.len() as i64 {
        return text(slice(s, Some(start), None)?);
    }
    text(slice(s, Some(start), Some(end))?)
}

fn repeat(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let count = int_arg(&args, 0)?;
    text(go_repeat(str_arg(&args, 1)?, count)?)
}

/// `trimAll cutset s` is `strings.Trim(s, cutset)`.
fn trim_all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let cutset = str_arg(&args, 0)?;
    text(go_trim(str_arg(&args, 1)?, cutset, true, true))
}

fn trim_suffix(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let suffix = str_arg(&args, 0)?;
    let s = str_arg(&args, 1)?;
    text(s.strip_suffix(suffix).unwrap_or(s))
}

fn trim_prefix(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let prefix = str_arg(&args, 0)?;
    let s = str_arg(&args, 1)?;
    text(s.strip_prefix(prefix).unwrap_or(s))
}

/// goutils' `DeleteWhiteSpace` reads each byte as the Latin-1 rune of that
/// value: it drops the ASCII spaces and the bytes 0x85 and 0xA0, and when
/// it dropped any it writes every other byte of 0x80 and above as that
/// rune's UTF-8, so non-ASCII text comes out changed, as in Go.
fn nospace(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = str_arg(&args, 0)?;
    let latin1_space =
        |b: u8| matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' | 0x85 | 0xa0);
    if !s.iter().any(|&b| latin1_space(b)) {
        return text(s);
    }
    let mut out = Vec::with_capacity(s.len());
    for &b in s.iter().filter(|&&b| !latin1_space(b)) {
        push_rune(&mut out, char::from(b));
    }
    text(out)
}

/// goutils' `Initials`: the first byte of each space-separated word, read
/// (as goutils reads it) as the Latin-1 rune of that value.
fn initials(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = str_arg(&args, 0)?;
    let mut out = Vec::new();
    let mut gap = true;
    for &b in s {
        let c = char::from(b);
        if is_space(c) {
            gap = true;
        } else if gap {
            push_rune(&mut out, c);
            gap = false;
        }
    }
    text(out)
}

/// goutils' `SwapCase`: upper and title case to lower, lower case to title
/// case at the start of a word and to upper case inside it.
fn swapcase(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut whitespace = true;
    text(map_runes(str_arg(&args, 0)?, |c| {
        if is_upper(c) || is_title(c) {
            whitespace = false;
            to_lower(c)
        } else if is_lower(c) {
            if whitespace {
                whitespace = false;
                to_title(c)
            } else {
                to_upper(c)
            }
        } else {
            whitespace = is_space(c);
            c
        }
    }))
}

// huandu/xstrings v1.5.0 (`convert.go`).

/// xstrings' `isConnector`.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

/// xstrings' `isAlphabet`: a letter, but not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    if !is_letter(c) {
        return false;
    }
    !matches!(u32::from(c), 0x4E00..=0x9FCC | 0x3400..=0x4D85 | 0x20000..=0x2B81D)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextValidRune`: the first rune that is not U+FFFD and the
/// bytes up to its end, or `prev` and all the bytes when there is none.
fn next_valid_rune(s: &[u8], prev: char) -> (char, usize) {
    let mut size = 0;
    for (c, width) in runes(s) {
        size += width;
        if c != char::REPLACEMENT_CHARACTER {
            return (c, size);
        }
    }
    (prev, size)
}

/// xstrings' `nextWord`: the kind of the word at the start of `s` and its
/// length; the rest of `s` follows it.
fn next_word(s: &[u8]) -> (Word, usize) {
    if s.is_empty() {
        return (Word::Invalid, 0);
    }
    let rest = |offset: usize| s.get(offset..).unwrap_or_default();
    let (mut r, size) = next_valid_rune(s, char::REPLACEMENT_CHARACTER);
    let mut offset = size;
    if r == char::REPLACEMENT_CHARACTER {
        return (Word::Invalid, offset);
    }
    // Extends the word while `keep` holds for the next valid rune.
    let extend = |offset: &mut usize, r: &mut char, keep: &dyn Fn(char) -> bool| {
        while !rest(*offset).is_empty() {
            let (next, size) = next_valid_rune(rest(*offset), *r);
            *r = next;
            if !keep(next) {
                break;
            }
            *offset += size;
        }
    };
    let kind = if is_connector(r) {
        extend(&mut offset, &mut r, &is_connector);
        Word::Connector
    } else if is_punct(r) {
        extend(&mut offset, &mut r, &is_punct);
        Word::Punct
    } else if is_upper(r) {
        if !rest(offset).is_empty() {
            let (next, size) = next_valid_rune(rest(offset), r);
            r = next;
            if is_upper(r) {
                let mut prev_size = size;
                offset += size;
                while !rest(offset).is_empty() {
                    let (next, size) = next_valid_rune(rest(offset), r);
                    r = next;
                    if !is_upper(r) {
                        break;
                    }
                    prev_size = size;
                    offset += size;
                }
                // "HTTPStatus" is "HTTP" and "Status".
                if !rest(offset).is_empty() && is_alphabet(r) {
                    offset -= prev_size;
                }
            } else if is_alphabet(r) {
                offset += size;
                extend(&mut offset, &mut r, &|c| is_alphabet(c) && !is_upper(c));
            }
        }
        Word::Upper
    } else if is_alphabet(r) {
        extend(&mut offset, &mut r, &|c| is_alphabet(c) && !is_upper(c));
        Word::Alphabet
    } else if is_number(r) {
        extend(&mut offset, &mut r, &is_number);
        Word::Number
    } else {
        while !rest(offset).is_empty() {
            let (next, size) = next_valid_rune(rest(offset), r);
            r = next;
            if size == 0 || is_connector(r) || is_alphabet(r) || is_number(r) || is_punct(r) {
                break;
            }
            offset += size;
        }
        Word::Other
    };
    (kind, offset)
}

/// xstrings' `toLower`: upper-case and connector words are rewritten rune
/// by rune, the others copied.
fn word_to_lower(out: &mut Vec<u8>, kind: Word, word: &[u8], connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.extend_from_slice(word);
        return;
    }
    for (c, _) in runes(word) {
        if is_connector(c) {
            push_rune(out, connector);
        } else if is_upper(c) {
            push_rune(out, to_lower(c));
        } else {
            push_rune(out, c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`ToSnakeCase`, `ToKebabCase`).
fn camel_to_lower(s: &[u8], connector: char) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + s.len() / 4);
    if s.is_empty() {
        return out;
    }
    let split = |s: &'_ [u8]| -> (Word, Vec<u8>, Vec<u8>) {
        let (kind, len) = next_word(s);
        let (word, rest) = s.split_at(len.min(s.len()));
        (kind, word.to_vec(), rest.to_vec())
    };
    let mut conn = Vec::new();
    push_rune(&mut conn, connector);
    let (mut kind, mut word, mut rest) = split(s);
    while !rest.is_empty() {
        if kind != Word::Connector {
            word_to_lower(&mut out, kind, &word, connector);
        }
        let prev = kind;
        let last = word;
        (kind, word, rest) = split(&rest);
        match prev {
            Word::Number => {
                while kind == Word::Alphabet || kind == Word::Number {
                    word_to_lower(&mut out, kind, &word, connector);
                    (kind, word, rest) = split(&rest);
                }
                if kind != Word::Invalid && kind != Word::Punct && kind != Word::Connector {
                    out.extend_from_slice(&conn);
                }
            }
            Word::Connector => word_to_lower(&mut out, prev, &last, connector),
            Word::Punct => {}
            _ => {
                if kind != Word::Number {
                    if kind != Word::Connector && kind != Word::Punct {
                        out.extend_from_slice(&conn);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let number = word;
                (kind, word, rest) = split(&rest);
                // A number is part of the word before it ("Bld4Floor")...
                if kind != Word::Alphabet {
                    word_to_lower(&mut out, Word::Number, &number, connector);
                    if kind != Word::Connector && kind != Word::Punct {
                        out.extend_from_slice(&conn);
                    }
                    continue;
                }
                // ...unless lower-case letters follow it ("HTTP2xx").
                out.extend_from_slice(&conn);
                word_to_lower(&mut out, Word::Number, &number, connector);
                while kind == Word::Alphabet || kind == Word::Number {
                    word_to_lower(&mut out, kind, &word, connector);
                    (kind, word, rest) = split(&rest);
                }
                if kind != Word::Invalid && kind != Word::Connector && kind != Word::Punct {
                    out.extend_from_slice(&conn);
                }
            }
        }
    }
    word_to_lower(&mut out, kind, &word, connector);
    out
}

fn snakecase(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(camel_to_lower(str_arg(&args, 0)?, '_'))
}

fn kebabcase(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(camel_to_lower(str_arg(&args, 0)?, '-'))
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`): connectors dropped, the
/// rune after each in upper case, the rest of an upper-case word lowered.
fn camelcase(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = str_arg(&args, 0)?;
    let mut out = Vec::with_capacity(s.len());
    let mut it = runes(s).peekable();
    let mut first_upper = false;
    let mut r0 = char::REPLACEMENT_CHARACTER;
    let mut size = 0;
    // Leading connectors stay.
    for (c, width) in it.by_ref() {
        r0 = c;
        size = width;
        if !is_connector(c) {
            first_upper = is_upper(c);
            r0 = to_upper(c);
            break;
        }
        push_rune(&mut out, c);
    }
    if it.peek().is_none() {
        if size != 0 {
            push_rune(&mut out, r0);
        }
        return text(out);
    }
    for (c, _) in it {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            push_rune(&mut out, r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = is_upper(r0);
            r0 = to_upper(r0);
        } else {
            if first_upper {
                if is_upper(r0) {
                    r0 = to_lower(r0);
                } else {
                    first_upper = false;
                }
            }
            push_rune(&mut out, r1);
        }
    }
    push_rune(&mut out, r0);
    text(out)
}

/// goutils' `WrapCustom`: lines of at most `width` bytes broken at spaces,
/// leading spaces of a new line dropped; a longer word is cut when
/// `long_words`, else left whole.
fn wrap_custom(
    s: &[u8],
    width: i64,
    newline: &[u8],
    long_words: bool,
) -> Result<Vec<u8>, FuncError> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let len = s.len();
    // Past the string's length the width changes nothing.
    let width = usize::try_from(width.max(1)).unwrap_or(usize::MAX).min(len);
    let mut out = Vec::with_capacity(len);
    let push = |out: &mut Vec<u8>, parts: &[&[u8]]| {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        if out.len() + n > MAX_RESULT {
            return Err(too_large());
        }
        for part in parts {
            out.extend_from_slice(part);
        }
        Ok(())
    };
    let at = |lo: usize, hi: usize| s.get(lo..hi).unwrap_or_default();
    let mut offset = 0;
    while len - offset > width {
        if s.get(offset) == Some(&b' ') {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        if let Some(space) = at(offset, end).iter().rposition(|&b| b == b' ') {
            let space = space + offset;
            push(&mut out, &[at(offset, space), newline])?;
            offset = space + 1;
        } else if long_words {
            push(&mut out, &[at(offset, offset + width), newline])?;
            offset += width;
        } else {
            let end = width + offset;
            match at(end, len).iter().position(|&b| b == b' ') {
                None => {
                    push(&mut out, &[at(offset, len)])?;
                    offset = len;
                }
                Some(i) => {
                    let space = i + end;
                    push(&mut out, &[at(offset, space), newline])?;
                    offset = space + 1;
                }
            }
        }
    }
    push(&mut out, &[at(offset, len)])?;
    Ok(out)
}

fn wrap(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let width = int_arg(&args, 0)?;
    text(wrap_custom(str_arg(&args, 1)?, width, b"", false)?)
}

fn wrap_with(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let width = int_arg(&args, 0)?;
    let sep = str_arg(&args, 1)?;
    text(wrap_custom(str_arg(&args, 2)?, width, sep, true)?)
}

/// `contains substr s` is `strings.Contains(s, substr)`.
fn contains(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let needle = str_arg(&args, 0)?;
    Ok(Value::Bool(find(str_arg(&args, 1)?, needle).is_some()))
}

fn has_prefix(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let prefix = str_arg(&args, 0)?;
    Ok(Value::Bool(str_arg(&args, 1)?.starts_with(prefix)))
}

fn has_suffix(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let suffix = str_arg(&args, 0)?;
    Ok(Value::Bool(str_arg(&args, 1)?.ends_with(suffix)))
}

/// Joins the non-nil arguments, each written by `each`, with spaces.
fn join_non_nil(args: &[Value], each: impl Fn(&Value) -> Vec<u8>) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(each)
        .collect();
    parts.join(&b' ')
}

/// Each non-nil argument through `strval` and `%q`, joined by spaces.
fn quote(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(join_non_nil(&args, |v| go_quote(strval(v).as_bytes())))
}

/// Each non-nil argument as `'%v'`, joined by spaces.
fn squote(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(join_non_nil(&args, |v| {
        [b"'".as_slice(), &v.to_go_string(), b"'"].concat()
    }))
}

/// The non-nil arguments as `%v`, joined by spaces.
fn cat(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    text(join_non_nil(&args, Value::to_go_string))
}

fn indent_bytes(spaces: i64, v: &[u8]) -> Result<Vec<u8>, FuncError> {
    let pad = go_repeat(b" ", spaces)?;
    let newline_pad = [b"\n".as_slice(), &pad].concat();
    let body = go_replace_all(v, b"\n", &newline_pad)?;
    if pad.len() + body.len() > MAX_RESULT {
        return Err(too_large());
    }
    Ok([pad, body].concat())
}

fn indent(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let spaces = int_arg(&args, 0)?;
    text(indent_bytes(spaces, str_arg(&args, 1)?)?)
}

fn nindent(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let spaces = int_arg(&args, 0)?;
    let body = indent_bytes(spaces, str_arg(&args, 1)?)?;
    text([b"\n".as_slice(), &body].concat())
}

/// `replace old new s` is `strings.Replace(s, old, new, -1)`.
fn replace(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let old = str_arg(&args, 0)?;
    let new = str_arg(&args, 1)?;
    text(go_replace_all(str_arg(&args, 2)?, old, new)?)
}

fn plural(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let one = str_arg(&args, 0)?;
    let many = str_arg(&args, 1)?;
    text(if int_arg(&args, 2)? == 1 { one } else { many })
}

fn to_string(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Str(strval(args.first().unwrap_or(&Value::Nil))))
}

/// The parts as Sprig's `map[string]string` keyed `_0`, `_1`, ….
fn parts_map(parts: Vec<Str>) -> Value {
    Value::map(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, part)| (format!("_{i}"), Value::Str(part)))
            .collect(),
    )
}

/// `split sep s` is `strings.Split(s, sep)` as a map.
fn split(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let sep = str_arg(&args, 0)?;
    Ok(parts_map(go_split(str_arg(&args, 1)?, sep, -1)))
}

/// `splitList sep s` is `strings.Split(s, sep)`.
fn split_list(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let sep = str_arg(&args, 0)?;
    Ok(str_list(go_split(str_arg(&args, 1)?, sep, -1)))
}

/// `splitn sep n s` is `strings.SplitN(s, sep, n)` as a map.
fn splitn(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let sep = str_arg(&args, 0)?;
    let n = int_arg(&args, 1)?;
    Ok(parts_map(go_split(str_arg(&args, 2)?, sep, n)))
}

fn to_strings(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(str_list(strslice(args.first().unwrap_or(&Value::Nil))))
}

/// `join sep v` is `strings.Join(strslice(v), sep)`.
fn join(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let sep = str_arg(&args, 0)?;
    let parts = strslice(args.get(1).unwrap_or(&Value::Nil));
    let total = parts.iter().map(Str::len).sum::<usize>()
        + sep.len().saturating_mul(parts.len().saturating_sub(1));
    if total > MAX_RESULT {
        return Err(too_large());
    }
    let parts: Vec<&[u8]> = parts.iter().map(Str::as_bytes).collect();
    text(parts.join(sep))
}

/// A list's strings sorted bytewise (`sort.Strings`); anything else as the
/// one string `strval` makes of it.
fn sort_alpha(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let v = args.first().unwrap_or(&Value::Nil);
    if !matches!(v, Value::List(_)) {
        return Ok(str_list(vec![strval(v)]));
    }
    let mut items = strslice(v);
    items.sort();
    Ok(str_list(items))
}

/// `fail msg`: an error with the template's own text.
fn fail(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Err(FuncError::new(String::from_utf8_lossy(str_arg(&args, 0)?)))
}

/// Calling bodies directly in tests, as the engine would after checking
/// the arguments: a clock at the epoch, zeros for randomness.
#[cfg(test)]
pub(super) mod test_support {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use crate::func::{Env, FuncError, Registry};
    use crate::value::Value;

    /// `name`'s body, as `register` adds it, called with `args`.
    pub(crate) fn call(
        register: fn(&mut Registry),
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        let mut zeros = |buf: &mut [u8]| buf.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut zeros,
        };
        let func = r
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not registered"));
        (func.body)(&mut env, args)
    }

    /// A call's error.
    pub(crate) fn err(v: Result<Value, FuncError>) -> FuncError {
        match v {
            Err(e) => e,
            Ok(other) => panic!("not an error: {other:?}"),
        }
    }

    /// A string result's bytes.
    pub(crate) fn bytes(v: Result<Value, FuncError>) -> Vec<u8> {
        match v {
            Ok(Value::Str(s)) => s.as_bytes().to_vec(),
            other => panic!("not a string: {other:?}"),
        }
    }

    /// A `[]string` result.
    pub(crate) fn strings(v: Result<Value, FuncError>) -> Vec<Vec<u8>> {
        match v {
            Ok(Value::List(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Str(s) => s.as_bytes().to_vec(),
                    other => panic!("not a string: {other:?}"),
                })
                .collect(),
            other => panic!("not a list: {other:?}"),
        }
    }

    pub(crate) fn s(text: &str) -> Value {
        Value::str(text)
    }

    pub(crate) fn b(raw: &[u8]) -> Value {
        Value::str(raw)
    }

    pub(crate) fn i(n: i64) -> Value {
        Value::Int(n)
    }

    pub(crate) fn list(items: Vec<Value>) -> Value {
        Value::list(items)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::test_support::{b, bytes, err, i, list, s, strings};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        super::test_support::call(register, name, args)
    }

    fn text(name: &str, args: Vec<Value>) -> String {
        String::from_utf8(bytes(call(name, args))).unwrap()
    }

    fn truth(name: &str, args: Vec<Value>) -> bool {
        match call(name, args) {
            Ok(Value::Bool(b)) => b,
            other => panic!("not a bool: {other:?}"),
        }
    }

    fn map_of(v: Result<Value, FuncError>) -> Vec<(String, Vec<u8>)> {
        match v {
            Ok(Value::Map(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), bytes(Ok(v.clone()))))
                .collect(),
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn declared_as_gos_signatures() {
        let mut r = Registry::new();
        register(&mut r);
        let repeat = r.get("repeat").unwrap();
        assert_eq!(repeat.params, &[Param::Int, Param::Str]);
        let quote = r.get("quote").unwrap();
        assert!(quote.params.is_empty());
        assert_eq!(quote.variadic, Some(Param::Any));
        assert_eq!(r.get("join").unwrap().params, &[Param::Str, Param::Any]);
        assert_eq!(
            r.get("splitn").unwrap().params,
            &[Param::Str, Param::Int, Param::Str]
        );
        for name in [
            "trimall",
            "trimAll",
            "toString",
            "toStrings",
            "sortAlpha",
            "hello",
            "fail",
        ] {
            assert!(r.get(name).is_some(), "{name}");
        }
    }

    // Masterminds/sprig strings_test.go: TestSubstr, TestSubstr_shorterString.
    #[test]
    fn substr() {
        assert_eq!(text("substr", vec![i(0), i(3), s("fooo")]), "foo");
        assert_eq!(text("substr", vec![i(0), i(10), s("foo")]), "foo");
        // Sprig's docs/strings.md.
        assert_eq!(text("substr", vec![i(0), i(5), s("hello world")]), "hello");
        // Go's slice panics, as text/template reports them (go1.19).
        for (start, end, want) in [
            (
                -1,
                10,
                "runtime error: slice bounds out of range [:10] with length 3",
            ),
            (5, 10, "runtime error: slice bounds out of range [5:3]"),
            (2, 1, "runtime error: slice bounds out of range [2:1]"),
            (-1, -1, "runtime error: slice bounds out of range [:-1]"),
        ] {
            assert_eq!(
                err(call("substr", vec![i(start), i(end), s("foo")])),
                FuncError::new(want),
                "{start} {end}"
            );
        }
        assert_eq!(text("substr", vec![i(1), i(-1), s("foo")]), "oo");
    }

    // strings_test.go: TestTrunc; docs/strings.md's trunc examples.
    #[test]
    fn trunc() {
        for (n, input, want) in [
            (3, "foooooo", "foo"),
            (-3, "baaaaaar", "aar"),
            (-999, "baaaaaar", "baaaaaar"),
            (0, "baaaaaz", ""),
            (5, "hello world", "hello"),
            (-5, "hello world", "world"),
        ] {
            assert_eq!(text("trunc", vec![i(n), s(input)]), want, "{n} {input}");
        }
        // Bytes, not runes.
        assert_eq!(bytes(call("trunc", vec![i(1), s("é")])), b"\xc3");
    }

    // strings_test.go: TestQuote, TestSquote.
    #[test]
    fn quote_and_squote() {
        assert_eq!(
            text("quote", vec![s("a"), s("b"), s("c")]),
            r#""a" "b" "c""#
        );
        assert_eq!(
            text("quote", vec![s("\"a\""), s("b"), s("c")]),
            r#""\"a\"" "b" "c""#
        );
        assert_eq!(text("quote", vec![i(1), i(2), i(3)]), r#""1" "2" "3""#);
        assert_eq!(text("quote", vec![Value::Nil]), "");
        assert_eq!(text("squote", vec![s("a"), s("b"), s("c")]), "'a' 'b' 'c'");
        assert_eq!(text("squote", vec![i(1), i(2), i(3)]), "'1' '2' '3'");
        assert_eq!(text("squote", vec![Value::Nil]), "");
        // strconv.Quote's escapes (go1.19).
        assert_eq!(
            bytes(call(
                "quote",
                vec![b(
                    b"a\tb\x00\x7f\xff\xe2\x80\xa8 \xc2\xa0\xf0\x9f\x98\x80\"\\"
                )]
            )),
            b"\"a\\tb\\x00\\x7f\\xff\\u2028 \\u00a0\xf0\x9f\x98\x80\\\"\\\\\""
        );
    }

    // strings_test.go: TestContains.
    #[test]
    fn contains_and_affixes() {
        assert!(truth("contains", vec![s("cat"), s("fair catch")]));
        assert!(truth("hasPrefix", vec![s("cat"), s("catch")]));
        assert!(truth("hasSuffix", vec![s("cat"), s("ducat")]));
        assert!(!truth("contains", vec![s("dog"), s("fair catch")]));
        assert!(!truth("hasPrefix", vec![s("catch"), s("cat")]));
    }

    // strings_test.go: TestTrim; docs/strings.md's trim examples.
    #[test]
    fn trims() {
        assert_eq!(text("trim", vec![s("   5.00   ")]), "5.00");
        assert_eq!(text("trimAll", vec![s("$"), s("$5.00$")]), "5.00");
        assert_eq!(text("trimall", vec![s("$"), s("$5.00$")]), "5.00");
        assert_eq!(text("trimPrefix", vec![s("$"), s("$5.00")]), "5.00");
        assert_eq!(text("trimSuffix", vec![s("$"), s("5.00$")]), "5.00");
        assert_eq!(text("trim", vec![s("   hello    ")]), "hello");
        assert_eq!(text("trimSuffix", vec![s("-"), s("hello-")]), "hello");
        assert_eq!(text("trimPrefix", vec![s("-"), s("-hello")]), "hello");
        // Unicode spaces; U+FFFD in the cutset takes invalid bytes (go1.19).
        assert_eq!(text("trim", vec![s("\u{3000} x \u{a0}")]), "x");
        assert_eq!(text("trimAll", vec![s("\u{fffd}"), b(b"\xffa\xff")]), "a");
    }

    // strings_test.go: TestSplit, TestSplitn.
    #[test]
    fn splits() {
        let parts = map_of(call("split", vec![s("$"), s("foo$bar$baz")]));
        assert_eq!(
            parts,
            vec![
                ("_0".to_string(), b"foo".to_vec()),
                ("_1".to_string(), b"bar".to_vec()),
                ("_2".to_string(), b"baz".to_vec()),
            ]
        );
        let parts = map_of(call("splitn", vec![s("$"), i(2), s("foo$bar$baz")]));
        assert_eq!(
            parts,
            vec![
                ("_0".to_string(), b"foo".to_vec()),
                ("_1".to_string(), b"bar$baz".to_vec()),
            ]
        );
        assert_eq!(
            strings(call("splitList", vec![s(","), s("a,b,,c")])),
            vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec(), b"c".to_vec()]
        );
        assert_eq!(map_of(call("splitn", vec![s("$"), i(0), s("a$b")])), vec![]);
        // An empty separator splits after each rune, an invalid byte before
        // the last part becoming U+FFFD (go1.19).
        assert_eq!(
            map_of(call("split", vec![s(""), b(b"a\xe3\x80b")])),
            vec![
                ("_0".to_string(), b"a".to_vec()),
                ("_1".to_string(), "\u{fffd}".as_bytes().to_vec()),
                ("_2".to_string(), "\u{fffd}".as_bytes().to_vec()),
                ("_3".to_string(), b"b".to_vec()),
            ]
        );
        assert_eq!(
            map_of(call("splitn", vec![s(""), i(2), b(b"\xffab")])),
            vec![
                ("_0".to_string(), "\u{fffd}".as_bytes().to_vec()),
                ("_1".to_string(), b"ab".to_vec()),
            ]
        );
    }

    // strings_test.go: TestToString, TestToStrings.
    #[test]
    fn to_string_and_strings() {
        assert_eq!(call("toString", vec![i(1)]).unwrap().kind_name(), "string");
        assert_eq!(text("toString", vec![i(1)]), "1");
        assert_eq!(text("toString", vec![s("string")]), "string");
        assert_eq!(text("toString", vec![Value::Nil]), "<nil>");
        assert_eq!(text("toString", vec![list(vec![i(1), s("a")])]), "[1 a]");
        let converted = call("toStrings", vec![list(vec![i(1), i(2), i(3)])]).unwrap();
        match converted {
            Value::List(items) => assert_eq!(items[1].kind_name(), "string"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            strings(call("toStrings", vec![list(vec![i(1), Value::Nil, i(2)])])),
            vec![b"1".to_vec(), b"2".to_vec()]
        );
        assert!(strings(call("toStrings", vec![Value::Nil])).is_empty());
        assert_eq!(
            strings(call("toStrings", vec![s("abc")])),
            vec![b"abc".to_vec()]
        );
    }

    // strings_test.go: TestJoin.
    #[test]
    fn join() {
        assert_eq!(
            text("join", vec![s("-"), list(vec![s("a"), s("b"), s("c")])]),
            "a-b-c"
        );
        assert_eq!(
            text("join", vec![s("-"), list(vec![i(1), i(2), i(3)])]),
            "1-2-3"
        );
        assert_eq!(text("join", vec![s("-"), s("abc")]), "abc");
        assert_eq!(
            text("join", vec![s("-"), list(vec![s("1"), Value::Nil, s("2")])]),
            "1-2"
        );
    }

    // strings_test.go: TestSortAlpha.
    #[test]
    fn sort_alpha() {
        let sorted = call("sortAlpha", vec![list(vec![s("c"), s("a"), s("b")])]);
        assert_eq!(
            strings(sorted),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        let sorted = call("sortAlpha", vec![list(vec![i(2), i(1), i(4), i(3)])]);
        assert_eq!(
            strings(sorted),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]
        );
        // Not a list: the one string strval makes of it.
        assert_eq!(
            strings(call("sortAlpha", vec![s("cba")])),
            vec![b"cba".to_vec()]
        );
        assert_eq!(
            strings(call("sortAlpha", vec![Value::Nil])),
            vec![b"<nil>".to_vec()]
        );
    }

    // strings_test.go: TestGoutils.
    #[test]
    fn goutils_functions() {
        assert_eq!(text("abbrev", vec![i(5), s("hello world")]), "he...");
        assert_eq!(
            text("abbrevboth", vec![i(5), i(10), s("1234 5678 9123")]),
            "...5678..."
        );
        assert_eq!(text("nospace", vec![s("h e l l o ")]), "hello");
        assert_eq!(text("untitle", vec![s("First Try")]), "first try");
        assert_eq!(text("initials", vec![s("First Try")]), "FT");
        assert_eq!(text("wrap", vec![i(5), s("Hello World")]), "Hello\nWorld");
        assert_eq!(
            text("wrapWith", vec![i(5), s("\t"), s("Hello World")]),
            "Hello\tWorld"
        );
    }

    // Masterminds/goutils v1.1.1 stringutils_test.go: TestAbbreviate,
    // TestAbbreviateFull, TestDeleteWhiteSpace, as Sprig reaches them.
    #[test]
    fn goutils_abbreviate_and_delete_white_space() {
        for (width, want) in [(6, "abc..."), (7, "abcdefg"), (4, "a...")] {
            assert_eq!(text("abbrev", vec![i(width), s("abcdefg")]), want);
        }
        for (offset, want) in [(-1, "abcdefg..."), (5, "...fghi..."), (12, "...ijklmno")] {
            assert_eq!(
                text("abbrevboth", vec![i(offset), i(10), s("abcdefghijklmno")]),
                want,
                "{offset}"
            );
        }
        assert_eq!(text("nospace", vec![s(" a b c ")]), "abc");
        assert_eq!(text("nospace", vec![s("    ")]), "");
        // Sprig's own guards: too narrow returns the string as it is.
        assert_eq!(text("abbrev", vec![i(3), s("hello world")]), "hello world");
        assert_eq!(
            text("abbrevboth", vec![i(5), i(6), s("1234567890")]),
            "1234567890"
        );
    }

    // goutils v1.1.1 wordutils_test.go: TestWrapNormalWord 1-4,
    // TestNonWrapLongWord, TestWrapLongWord, TestWrapCustomLongWordTrue
    // (TestWrapCustomLongWordFalse has a newline Sprig's wrap cannot pass).
    #[test]
    fn goutils_wrap() {
        for (width, input, want) in [
            (10, "Bob Manuel Bob Manuel", "Bob Manuel\nBob Manuel"),
            (
                20,
                "Here is one line of text that is going to be wrapped after 20 columns.",
                "Here is one line of\ntext that is going\nto be wrapped after\n20 columns.",
            ),
            (
                20,
                "Click here to jump to the commons website - http://commons.apache.org",
                "Click here to jump\nto the commons\nwebsite -\nhttp://commons.apache.org",
            ),
            (
                20,
                "Click here, http://commons.apache.org, to jump to the commons website",
                "Click here,\nhttp://commons.apache.org,\nto jump to the\ncommons website",
            ),
            (
                11,
                "123456789_123456789_123456789_123456789_1234567890",
                "123456789_123456789_123456789_123456789_1234567890",
            ),
        ] {
            assert_eq!(text("wrap", vec![i(width), s(input)]), want, "{input}");
        }
        assert_eq!(
            text(
                "wrapWith",
                vec![
                    i(11),
                    s("\n"),
                    s("123456789_123456789_123456789_123456789_1234567890")
                ]
            ),
            "123456789_1\n23456789_12\n3456789_123\n456789_1234\n567890"
        );
        assert_eq!(
            text("wrapWith", vec![i(10), s("<br\\>"), s("BobManuelBob Bob")]),
            "BobManuelB<br\\>ob Bob"
        );
        // A width below one is one (go1.19).
        assert_eq!(text("wrap", vec![i(0), s("a b c")]), "a\nb\nc");
    }

    // goutils v1.1.1 wordutils_test.go: TestUncapitalize, TestSwapCase,
    // TestInitials (the forms with the default delimiters Sprig uses).
    #[test]
    fn goutils_words() {
        assert_eq!(text("untitle", vec![s("This Is A.Test")]), "this is a.Test");
        assert_eq!(
            text("swapcase", vec![s("This Is A.Test")]),
            "tHIS iS a.tEST"
        );
        assert_eq!(text("initials", vec![s("John Doe.Ray")]), "JD");
    }

    // strings_test.go: TestCat.
    #[test]
    fn cat() {
        assert_eq!(text("cat", vec![s("a"), s("b"), s("c")]), "a b c");
        assert_eq!(text("cat", vec![s("a"), s("b"), Value::Nil]), "a b");
        assert_eq!(
            text("cat", vec![s("hello"), s("beautiful"), s("world")]),
            "hello beautiful world"
        );
        assert_eq!(text("cat", vec![i(1), list(vec![s("x")])]), "1 [x]");
    }

    // strings_test.go: TestIndent, TestNindent.
    #[test]
    fn indent() {
        assert_eq!(
            text("indent", vec![i(4), s("a\nb\nc")]),
            "    a\n    b\n    c"
        );
        assert_eq!(
            text("nindent", vec![i(4), s("a\nb\nc")]),
            "\n    a\n    b\n    c"
        );
        assert_eq!(
            err(call("indent", vec![i(-1), s("a")])),
            FuncError::new("strings: negative Repeat count")
        );
    }

    // strings_test.go: TestReplace; ESO runtime/template/v2/template_test.go:
    // "use replace function".
    #[test]
    fn replace() {
        assert_eq!(
            text("replace", vec![s(" "), s("-"), s("I Am Henry VIII")]),
            "I-Am-Henry-VIII"
        );
        assert_eq!(
            text(
                "replace",
                vec![
                    s("postgres://"),
                    s("db+postgresql://"),
                    s("postgres://user:pass@db.host:5432/dbname")
                ]
            ),
            "db+postgresql://user:pass@db.host:5432/dbname"
        );
        // An empty old string goes before each rune and at the end.
        assert_eq!(text("replace", vec![s(""), s("-"), s("aé")]), "-a-é-");
    }

    // strings_test.go: TestPlural.
    #[test]
    fn plural() {
        assert_eq!(text("plural", vec![s("1 char"), s("chars"), i(3)]), "chars");
        assert_eq!(
            text("plural", vec![s("cheese"), s("%d chars"), i(1)]),
            "cheese"
        );
        assert_eq!(text("plural", vec![s("one"), s("many"), i(0)]), "many");
    }

    // Sprig functions_test.go: TestSnakeCase, TestCamelCase, TestKebabCase;
    // docs/strings.md.
    #[test]
    fn sprig_cases() {
        for (input, snake) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
        ] {
            assert_eq!(text("snakecase", vec![s(input)]), snake);
            assert_eq!(text("kebabcase", vec![s(input)]), snake.replace('_', "-"));
        }
        for (input, camel) in [
            ("http_server", "HttpServer"),
            ("_camel_case", "_CamelCase"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            ("all", "All"),
        ] {
            assert_eq!(text("camelcase", vec![s(input)]), camel);
        }
    }

    // huandu/xstrings v1.5.0 convert_test.go: TestToSnakeCaseAndToKebabCase.
    #[test]
    fn xstrings_snake_and_kebab() {
        let cases = [
            ("HTTPServer", "http_server"),
            ("_camelCase", "_camel_case"),
            ("NoHTTPS", "no_https"),
            ("Wi_thF", "wi_th_f"),
            ("_AnotherTES_TCaseP", "_another_tes_t_case_p"),
            ("ALL", "all"),
            ("_HELLO_WORLD_", "_hello_world_"),
            ("HELLO_WORLD", "hello_world"),
            ("HELLO____WORLD", "hello____world"),
            ("TW", "tw"),
            ("_C", "_c"),
            ("http2xx", "http_2xx"),
            ("HTTP2XX", "http2_xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("HTTP20xStatus", "http_20x_status"),
            ("HTTP-20xStatus", "http_20x_status"),
            ("a", "a"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
            (" _-_ ", "_____"),
            ("a1b2c3d", "a_1b2c3d"),
            ("A//B%%2c", "a//b%%2c"),
            ("HTTP状态码404/502Error", "http_状态码404/502_error"),
            ("中文(字符)", "中文(字符)"),
            ("混合ABCWords与123数字456", "混合_abc_words_与123_数字456"),
            ("  sentence case  ", "__sentence_case__"),
            (
                " Mixed-hyphen case _and SENTENCE_case and UPPER-case",
                "_mixed_hyphen_case__and_sentence_case_and_upper_case",
            ),
            (
                "FROM CamelCase to snake/kebab-case",
                "from_camel_case_to_snake/kebab_case",
            ),
            ("", ""),
            (
                "Abc\u{FFFD}E\u{FFFD}f\u{FFFD}d\u{FFFD}2\u{FFFD}00z\u{FFFD}ZZ\u{FFFD}ZZ",
                "abc_\u{FFFD}e\u{FFFD}f\u{FFFD}d_\u{FFFD}2\u{FFFD}00z_\u{FFFD}zz\u{FFFD}zz",
            ),
            (
                "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
                "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}",
            ),
            ("abc_123_def", "abc_123_def"),
        ];
        for (input, snake) in cases {
            assert_eq!(text("snakecase", vec![s(input)]), snake, "{input}");
            assert_eq!(
                text("kebabcase", vec![s(input)]),
                snake.replace('_', "-"),
                "{input}"
            );
        }
        // An invalid byte is written as U+FFFD in an upper-case word (go1.19).
        assert_eq!(
            bytes(call("snakecase", vec![b(b"x\xffY")])),
            "x_\u{fffd}y".as_bytes()
        );
    }

    // huandu/xstrings v1.5.0 convert_test.go: TestToPascalCase.
    #[test]
    fn xstrings_pascal() {
        for (input, want) in [
            ("http_server", "HttpServer"),
            ("_camel_case", "_CamelCase"),
            ("no_https", "NoHttps"),
            ("_complex__case_", "_Complex_Case_"),
            (" complex -case ", " Complex Case "),
            ("all", "All"),
            ("GOLANG_IS_GREAT", "GolangIsGreat"),
            ("GOLANG", "Golang"),
            ("a", "A"),
            ("好", "好"),
            (
                "FROM CamelCase to snake/kebab-case",
                "FromCamelCaseToSnake/kebabCase",
            ),
            ("", ""),
        ] {
            assert_eq!(text("camelcase", vec![s(input)]), want, "{input}");
        }
        // Only connectors: the last one twice, as xstrings writes it (go1.19).
        assert_eq!(text("camelcase", vec![s("_")]), "__");
        assert_eq!(text("camelcase", vec![s("__")]), "___");
    }

    // docs/strings.md examples; ESO template_test.go: "use upper function".
    #[test]
    fn case_and_repeat() {
        assert_eq!(text("upper", vec![s("hello")]), "HELLO");
        assert_eq!(text("upper", vec![s("username")]), "USERNAME");
        assert_eq!(text("lower", vec![s("HELLO")]), "hello");
        assert_eq!(text("title", vec![s("hello world")]), "Hello World");
        assert_eq!(text("untitle", vec![s("Hello World")]), "hello world");
        assert_eq!(text("repeat", vec![i(3), s("hello")]), "hellohellohello");
        assert_eq!(text("nospace", vec![s("hello w o r l d")]), "helloworld");
        assert_eq!(text("hello", vec![]), "Hello!");
        assert_eq!(
            err(call("repeat", vec![i(-1), s("x")])),
            FuncError::new("strings: negative Repeat count")
        );
        assert_eq!(err(call("repeat", vec![i(1 << 40), s("x")])), too_large());
    }

    // Go's simple case mappings and strings.Title's boundaries (go1.19).
    #[test]
    fn unicode_as_go() {
        assert_eq!(
            bytes(call("upper", vec![b(b"caf\xc3\xa9 \xff")])),
            "CAFÉ \u{fffd}".as_bytes()
        );
        assert_eq!(text("lower", vec![s("İSTANBUL ẞ")]), "istanbul ß");
        assert_eq!(text("upper", vec![s("ß ǆ ᾳ")]), "ß Ǆ ᾼ");
        assert_eq!(
            text("title", vec![s("hello wORLD_x-y ǆemal 3rd é")]),
            "Hello WORLD_x-Y ǅemal 3rd É"
        );
        assert_eq!(text("swapcase", vec![s("ǅemal ßa İx")]), "ǆEMAL ßA iX");
    }

    // goutils reads bytes as Latin-1 runes in DeleteWhiteSpace and Initials
    // (go1.19).
    #[test]
    fn goutils_bytes_as_latin1() {
        assert_eq!(bytes(call("nospace", vec![s("é a")])), b"\xc3\x83\xc2\xa9a");
        assert_eq!(
            bytes(call("nospace", vec![b(b"a\xc2\xa0b")])),
            b"a\xc3\x82b"
        );
        assert_eq!(bytes(call("initials", vec![s("Élan vital")])), b"\xc3\x83v");
    }

    // Sprig flow_control_test.go: TestFail.
    #[test]
    fn fail() {
        assert_eq!(
            err(call("fail", vec![s("This is an error!")])),
            FuncError::new("This is an error!")
        );
    }

    #[test]
    fn strval_and_strslice() {
        assert_eq!(strval(&Value::Float(1.5)).as_bytes(), b"1.5");
        assert_eq!(strval(&Value::Bool(true)).as_bytes(), b"true");
        assert_eq!(
            strslice(&list(vec![i(1), Value::Nil, s("x")])),
            vec![Str::from("1"), Str::from("x")]
        );
        assert_eq!(strslice(&Value::Nil), Vec::<Str>::new());
        assert_eq!(strslice(&i(7)), vec![Str::from("7")]);
    }
}
