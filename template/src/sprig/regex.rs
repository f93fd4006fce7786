//! Sprig's regular-expression functions as ESO ships them
//! (`runtime/template/v2/sprig/regex.go`), over Go's `regexp`.
//!
//! Go's RE2 syntax is close to the `regex` crate's but not the same, so a
//! pattern is parsed as Go's `regexp/syntax` parses it (with its error
//! codes and the part of the pattern each names) and written again in the
//! crate's syntax:
//!
//! - `\d`, `\s`, `\w` and `\b` are ASCII in Go (`\s` without `\v`), Unicode
//!   in the crate: they become explicit ASCII classes.
//! - Go reads `\Q…\E`, octal escapes (`\0`, `\123`) and escaped punctuation
//!   such as `\<` (a literal `<`; the crate reads it as a word boundary),
//!   tolerates `{` that starts no repetition, repeated flags (`(?ii)`) and
//!   `(?)`, and allows two groups of the same name: all rewritten.
//! - Go refuses what the crate allows: nested repetition (`a**`), counts
//!   over 1000 (also in total, as `(a{100}){100}`), flags other than
//!   `imsU`, `\C`, `\Z`, and Unicode classes outside its tables.
//! - Go's `\pC` holds no unassigned code points; the crate's does.
//! - Go matches an invalid byte as U+FFFD: the haystack's invalid bytes
//!   are matched as U+FFFD and what is returned is the original bytes.
//!
//! The compiling, matching and replacing here are also what
//! [`crate::go_regexp`] offers outside templates, so Go's meaning is
//! written once.
//!
//! Matching is leftmost-first in both. What the functions return follows
//! Go's `FindAllString`, `ReplaceAllString` (with `Expand`'s `$1`,
//! `${1}`, `$name`, `${name}` and `$$`), `ReplaceAllLiteralString` and
//! `Split` step by step, empty matches included.
//!
//! Go's texts: the `must` forms fail with `regexp.Compile`'s error
//! (`error parsing regexp: missing closing ]: `[a``); the plain forms
//! other than `regexMatch` call `regexp.MustCompile`, whose panic
//! `text/template` turns into the call's error (`regexp: Compile(`[a`):
//! error parsing regexp: …`); `regexMatch` gives false. Those texts
//! quote the pattern, which is template text, as Go does. Where Go and
//! this differ: nesting deeper than 250 groups is refused (Go allows
//! 1000), and the size limit on a compiled pattern is the crate's.

use std::borrow::Cow;

use super::strings::{
    MAX_RESULT, decode_rune, go_quote, int_arg, is_digit, is_letter, str_arg, str_list, too_large,
};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::{Str, Value};

pub(super) fn register(r: &mut Registry) {
    use Param::{Int, Str as S};
    r.add("regexMatch", &[S, S], None, regex_match);
    r.add("mustRegexMatch", &[S, S], None, must_regex_match);
    r.add("regexFindAll", &[S, S, Int], None, regex_find_all);
    r.add("mustRegexFindAll", &[S, S, Int], None, must_regex_find_all);
    r.add("regexFind", &[S, S], None, regex_find);
    r.add("mustRegexFind", &[S, S], None, must_regex_find);
    r.add("regexReplaceAll", &[S, S, S], None, regex_replace_all);
    r.add(
        "mustRegexReplaceAll",
        &[S, S, S],
        None,
        must_regex_replace_all,
    );
    r.add(
        "regexReplaceAllLiteral",
        &[S, S, S],
        None,
        regex_replace_all_literal,
    );
    r.add(
        "mustRegexReplaceAllLiteral",
        &[S, S, S],
        None,
        must_regex_replace_all_literal,
    );
    r.add("regexSplit", &[S, S, Int], None, regex_split);
    r.add("mustRegexSplit", &[S, S, Int], None, must_regex_split);
    r.add("regexQuoteMeta", &[S], None, regex_quote_meta);
}

// ---------------------------------------------------------------------
// The functions.

/// `regexp.MatchString`, false on a bad pattern.
fn regex_match(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let matched = match compile(str_arg(&args, 0)?) {
        Ok(re) => re.is_match(str_arg(&args, 1)?),
        Err(_) => false,
    };
    Ok(Value::Bool(matched))
}

fn must_regex_match(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let re = compile_or_error(str_arg(&args, 0)?)?;
    Ok(Value::Bool(re.is_match(str_arg(&args, 1)?)))
}

fn find_all(re: &GoRegexp, args: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    let hay = Haystack::new(s);
    let found = re
        .all_matches(&hay, n)
        .into_iter()
        .map(|(lo, hi)| Str::from(hay.slice(lo, hi)))
        .collect();
    Ok(str_list(found))
}

fn regex_find_all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    find_all(&must_compile(str_arg(&args, 0)?)?, &args)
}

fn must_regex_find_all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    find_all(&compile_or_error(str_arg(&args, 0)?)?, &args)
}

fn find(re: &GoRegexp, args: &[Value]) -> Result<Value, FuncError> {
    let hay = Haystack::new(str_arg(args, 1)?);
    let found = re
        .re
        .find(&hay.text)
        .map(|m| hay.slice(m.start(), m.end()))
        .unwrap_or_default();
    Ok(Value::str(found))
}

fn regex_find(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    find(&must_compile(str_arg(&args, 0)?)?, &args)
}

fn must_regex_find(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    find(&compile_or_error(str_arg(&args, 0)?)?, &args)
}

fn replace(re: &GoRegexp, args: &[Value], literal: bool) -> Result<Value, FuncError> {
    let hay = Haystack::new(str_arg(args, 1)?);
    let repl = str_arg(args, 2)?;
    Ok(Value::str(re.replace_all(&hay, repl, literal)?))
}

fn regex_replace_all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    replace(&must_compile(str_arg(&args, 0)?)?, &args, false)
}

fn must_regex_replace_all(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    replace(&compile_or_error(str_arg(&args, 0)?)?, &args, false)
}

fn regex_replace_all_literal(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    replace(&must_compile(str_arg(&args, 0)?)?, &args, true)
}

fn must_regex_replace_all_literal(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    replace(&compile_or_error(str_arg(&args, 0)?)?, &args, true)
}

/// `Regexp.Split`.
fn split(re: &GoRegexp, args: &[Value]) -> Result<Value, FuncError> {
    let s = str_arg(args, 1)?;
    let n = int_arg(args, 2)?;
    if n == 0 {
        return Ok(str_list(Vec::new()));
    }
    if !re.empty_pattern && s.is_empty() {
        return Ok(str_list(vec![Str::default()]));
    }
    let hay = Haystack::new(s);
    let limit = usize::try_from(n).unwrap_or(usize::MAX);
    let mut parts = Vec::new();
    let (mut begin, mut end) = (0, 0);
    for (lo, hi) in re.all_matches(&hay, n) {
        if parts.len() + 1 == limit {
            break;
        }
        end = lo;
        if hi != 0 {
            parts.push(Str::from(hay.slice(begin, end)));
        }
        begin = hi;
    }
    if end != hay.text.len() {
        parts.push(Str::from(hay.slice(begin, hay.text.len())));
    }
    Ok(str_list(parts))
}

fn regex_split(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    split(&must_compile(str_arg(&args, 0)?)?, &args)
}

fn must_regex_split(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    split(&compile_or_error(str_arg(&args, 0)?)?, &args)
}

/// `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
fn regex_quote_meta(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = str_arg(&args, 0)?;
    let mut out = Vec::with_capacity(s.len() * 2);
    for &b in s {
        if br"\.+*?()|[]{}^$".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    Ok(Value::str(out))
}

// ---------------------------------------------------------------------
// Compiling.

/// Why Go's `regexp.Compile` refused a pattern: `regexp/syntax`'s error
/// code and the part of the pattern it names, shown as Go's
/// `syntax.Error.Error()` shows them (`error parsing regexp: missing
/// closing ]: `[a``). Patterns are configuration, not secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {code}: `{expr}`")]
pub struct SyntaxError {
    code: &'static str,
    expr: String,
}

impl SyntaxError {
    fn new(code: &'static str, expr: &str) -> Self {
        SyntaxError {
            code,
            expr: expr.to_string(),
        }
    }
}

const INVALID_CHAR_RANGE: &str = "invalid character class range";
const INVALID_ESCAPE: &str = "invalid escape sequence";
const INVALID_NAMED_CAPTURE: &str = "invalid named capture";
const INVALID_PERL_OP: &str = "invalid or unsupported Perl syntax";
const INVALID_REPEAT_OP: &str = "invalid nested repetition operator";
const INVALID_REPEAT_SIZE: &str = "invalid repeat count";
const INVALID_UTF8: &str = "invalid UTF-8";
const MISSING_BRACKET: &str = "missing closing ]";
const MISSING_PAREN: &str = "missing closing )";
const MISSING_REPEAT_ARGUMENT: &str = "missing argument to repetition operator";
const TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";
const UNEXPECTED_PAREN: &str = "unexpected )";
const NESTING_DEPTH: &str = "expression nests too deeply";
const TOO_LARGE: &str = "expression too large";
const INTERNAL: &str = "regexp/syntax: internal error";

/// Groups and classes nested deeper than this are refused.
const NEST_LIMIT: u32 = 250;
/// The compiled size a pattern may reach, in bytes.
const SIZE_LIMIT: usize = 32 << 20;
/// Go's bound on a repetition count, alone and multiplied through nested
/// counted repetitions.
const MAX_REPEAT: u64 = 1000;

/// A pattern compiled with Go's meaning.
#[derive(Clone)]
pub(crate) struct GoRegexp {
    re: regex::Regex,
    /// Each capture group's name by number (0 is the whole match).
    names: Vec<Option<String>>,
    /// Whether the pattern was `""` (Go's `Split` tells it apart).
    empty_pattern: bool,
}

/// `regexp.Compile`.
pub(crate) fn compile(pattern: &[u8]) -> Result<GoRegexp, SyntaxError> {
    let whole = std::str::from_utf8(pattern).map_err(|e| {
        let rest = pattern.get(e.valid_up_to()..).unwrap_or_default();
        SyntaxError::new(INVALID_UTF8, &String::from_utf8_lossy(rest))
    })?;
    let (translated, names) = Translator::new(whole).run()?;
    let re = regex::RegexBuilder::new(&translated)
        .size_limit(SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => SyntaxError::new(TOO_LARGE, whole),
            _ if nests_too_deeply(&translated) => SyntaxError::new(NESTING_DEPTH, whole),
            _ => SyntaxError::new(INTERNAL, whole),
        })?;
    Ok(GoRegexp {
        re,
        names,
        empty_pattern: pattern.is_empty(),
    })
}

/// Whether the crate refused the translated pattern for its nesting.
fn nests_too_deeply(translated: &str) -> bool {
    use regex_syntax::ast::ErrorKind;
    match regex_syntax::ast::parse::ParserBuilder::new()
        .nest_limit(NEST_LIMIT)
        .build()
        .parse(translated)
    {
        Err(e) => matches!(e.kind(), ErrorKind::NestLimitExceeded(_)),
        Ok(_) => false,
    }
}

/// A `must` form's failure: `regexp.Compile`'s error.
fn compile_or_error(pattern: &[u8]) -> Result<GoRegexp, FuncError> {
    compile(pattern).map_err(|e| FuncError::new(e.to_string()))
}

/// A plain form's failure: `regexp.MustCompile`'s panic, which
/// `text/template` reports as the call's error.
fn must_compile(pattern: &[u8]) -> Result<GoRegexp, FuncError> {
    compile(pattern).map_err(|e| {
        FuncError::new(format!(
            "regexp: Compile({}): {}",
            String::from_utf8_lossy(&quote(pattern)),
            e
        ))
    })
}

/// A replacement whose result would pass the bound on one value (16 MiB,
/// the template renderer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the result would exceed {MAX_RESULT} bytes")]
pub struct ResultTooLarge;

impl From<ResultTooLarge> for FuncError {
    fn from(_: ResultTooLarge) -> Self {
        too_large()
    }
}

/// `regexp`'s `quote`: backquoted when `strconv.CanBackquote`, else
/// `strconv.Quote`.
fn quote(s: &[u8]) -> Vec<u8> {
    let can_backquote = std::str::from_utf8(s).is_ok_and(|s| {
        s.chars()
            .all(|c| c != '\u{feff}' && c != '`' && c != '\u{7f}' && (c >= ' ' || c == '\t'))
    });
    if can_backquote {
        [b"`".as_slice(), s, b"`"].concat()
    } else {
        go_quote(s)
    }
}

// ---------------------------------------------------------------------
// Matching.

/// A haystack as Go matches it: valid UTF-8 as it is; otherwise with each
/// invalid byte read as U+FFFD, and the offsets of that text mapped back
/// to the original bytes.
pub(crate) struct Haystack<'a> {
    orig: &'a [u8],
    text: Cow<'a, str>,
    /// For each byte offset of a rewritten `text`, the offset in `orig` of
    /// the rune it belongs to, and one more entry for the end. Empty when
    /// `text` is `orig`.
    map: Vec<usize>,
}

impl<'a> Haystack<'a> {
    pub(crate) fn new(orig: &'a [u8]) -> Self {
        if let Ok(text) = std::str::from_utf8(orig) {
            return Haystack {
                orig,
                text: Cow::Borrowed(text),
                map: Vec::new(),
            };
        }
        let mut text = String::with_capacity(orig.len() + 8);
        let mut map = Vec::with_capacity(orig.len() + 8);
        let mut at = 0;
        for (c, width) in super::strings::runes(orig) {
            text.push(c);
            map.extend(std::iter::repeat_n(at, c.len_utf8()));
            at += width;
        }
        map.push(orig.len());
        Haystack {
            orig,
            text: Cow::Owned(text),
            map,
        }
    }

    fn orig_offset(&self, i: usize) -> usize {
        if self.map.is_empty() {
            i
        } else {
            self.map.get(i).copied().unwrap_or(self.orig.len())
        }
    }

    /// The original bytes of `text[lo..hi]`.
    fn slice(&self, lo: usize, hi: usize) -> &'a [u8] {
        let (lo, hi) = (self.orig_offset(lo), self.orig_offset(hi));
        self.orig.get(lo..hi.max(lo)).unwrap_or_default()
    }

    /// The width of the rune at `i` in `text`, 0 at the end.
    fn width_at(&self, i: usize) -> usize {
        self.text
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .map_or(0, char::len_utf8)
    }
}

impl GoRegexp {
    pub(crate) fn is_match(&self, s: &[u8]) -> bool {
        self.re.is_match(&Haystack::new(s).text)
    }

    /// Go's `allMatches`: up to `n` matches (all when `n < 0`); an empty
    /// match right after a match is skipped.
    fn all_matches(&self, hay: &Haystack<'_>, n: i64) -> Vec<(usize, usize)> {
        let limit = usize::try_from(n).unwrap_or(usize::MAX);
        let text = hay.text.as_ref();
        let end = text.len();
        let mut found = Vec::new();
        let mut pos = 0;
        let mut prev_end = None;
        while found.len() < limit && pos <= end {
            let Some(m) = self.re.find_at(text, pos) else {
                break;
            };
            let mut accept = true;
            if m.end() == pos {
                if prev_end == Some(m.start()) {
                    accept = false;
                }
                let width = hay.width_at(pos);
                pos = if width > 0 { pos + width } else { end + 1 };
            } else {
                pos = m.end();
            }
            prev_end = Some(m.end());
            if accept {
                found.push((m.start(), m.end()));
            }
        }
        found
    }

    /// Go's `replaceAll`: each match replaced by `repl` (expanded unless
    /// `literal`), but not an empty match right after a match. Refused
    /// when the result would pass [`MAX_RESULT`].
    pub(crate) fn replace_all(
        &self,
        hay: &Haystack<'_>,
        repl: &[u8],
        literal: bool,
    ) -> Result<Vec<u8>, ResultTooLarge> {
        let text = hay.text.as_ref();
        let end = text.len();
        let mut out = Vec::with_capacity(hay.orig.len());
        let mut last_end = 0;
        let mut search = 0;
        while search <= end {
            let Some(caps) = self.re.captures_at(text, search) else {
                break;
            };
            let Some(m) = caps.get(0) else { break };
            out.extend_from_slice(hay.slice(last_end, m.start()));
            if m.end() > last_end || m.start() == 0 {
                if literal {
                    out.extend_from_slice(repl);
                } else {
                    self.expand(&mut out, repl, hay, &caps);
                }
            }
            if out.len() > MAX_RESULT {
                return Err(ResultTooLarge);
            }
            last_end = m.end();
            let width = hay.width_at(search);
            search = if search + width > m.end() {
                search + width
            } else if search + 1 > m.end() {
                search + 1
            } else {
                m.end()
            };
        }
        out.extend_from_slice(hay.slice(last_end, end));
        if out.len() > MAX_RESULT {
            return Err(ResultTooLarge);
        }
        Ok(out)
    }

    /// Go's `Regexp.expand`: `$$` is `$`; `$name`, `${name}`, `$1` and
    /// `${1}` the group's text (nothing when it did not match or does not
    /// exist); a `$` that starts no name stays.
    fn expand(
        &self,
        out: &mut Vec<u8>,
        template: &[u8],
        hay: &Haystack<'_>,
        caps: &regex::Captures<'_>,
    ) {
        let group = |out: &mut Vec<u8>, i: usize| match caps.get(i) {
            Some(m) => {
                out.extend_from_slice(hay.slice(m.start(), m.end()));
                true
            }
            None => false,
        };
        let mut t = template;
        while let Some(i) = t.iter().position(|&b| b == b'$') {
            let (before, after) = t.split_at(i);
            out.extend_from_slice(before);
            t = after.get(1..).unwrap_or_default();
            if t.first() == Some(&b'$') {
                out.push(b'$');
                t = t.get(1..).unwrap_or_default();
                continue;
            }
            let Some((name, num, rest)) = extract(t) else {
                out.push(b'$');
                continue;
            };
            t = rest;
            match num {
                Some(num) => {
                    group(out, num);
                }
                None => {
                    for (i, n) in self.names.iter().enumerate() {
                        if n.as_deref().map(str::as_bytes) == Some(name) && group(out, i) {
                            break;
                        }
                    }
                }
            }
        }
        out.extend_from_slice(t);
    }
}

/// Go's `extract`: the name after a `$` (letters, digits and `_`, maybe in
/// braces), its number when it is one without a leading zero, and what
/// follows.
fn extract(s: &[u8]) -> Option<(&[u8], Option<usize>, &[u8])> {
    let braced = s.first() == Some(&b'{');
    let body = if braced { s.get(1..)? } else { s };
    let mut len = 0;
    loop {
        let (c, width) = decode_rune(body.get(len..).unwrap_or_default());
        if width == 0 || !(is_letter(c) || is_digit(c) || c == '_') {
            break;
        }
        len += width;
    }
    if len == 0 {
        return None;
    }
    let name = body.get(..len)?;
    let mut rest = body.get(len..)?;
    if braced {
        rest = rest.strip_prefix(b"}")?;
    }
    let mut num: Option<usize> = Some(0);
    for &b in name {
        num = match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                Some(n * 10 + usize::from(b - b'0'))
            }
            _ => None,
        };
    }
    if name.len() > 1 && name.first() == Some(&b'0') {
        num = None;
    }
    Some((name, num, rest))
}

// ---------------------------------------------------------------------
// Go's syntax in the crate's.

/// A class that matches nothing (Go's literal of a surrogate, `\p{Cs}`).
const NOTHING: &str = r"[^\x{0}-\x{10FFFF}]";

/// A set of runes as Go's classes name them: the inside of a class in the
/// crate's syntax (empty for no runes), maybe negated.
struct Set {
    body: String,
    negated: bool,
}

impl Set {
    fn new(body: impl Into<String>, negated: bool) -> Self {
        Set {
            body: body.into(),
            negated,
        }
    }

    /// As a class of its own.
    fn alone(&self) -> String {
        match (self.body.is_empty(), self.negated) {
            (true, false) => NOTHING.to_string(),
            (true, true) => r"[\x{0}-\x{10FFFF}]".to_string(),
            (false, false) => format!("[{}]", self.body),
            (false, true) => format!("[^{}]", self.body),
        }
    }

    /// As an item inside a class.
    fn inside(&self) -> String {
        match (self.body.is_empty(), self.negated) {
            (true, false) => String::new(),
            (true, true) => r"\x{0}-\x{10FFFF}".to_string(),
            (false, false) => self.body.clone(),
            (false, true) => format!("[^{}]", self.body),
        }
    }
}

/// `\d`, `\s`, `\w` and their negations as Go defines them (ASCII).
fn perl_class(t: &str) -> Option<Set> {
    let mut chars = t.chars();
    if chars.next() != Some('\\') {
        return None;
    }
    let (body, negated) = match chars.next()? {
        'd' => (r"0-9", false),
        'D' => (r"0-9", true),
        's' => (r"\x{9}\x{A}\x{C}\x{D}\x{20}", false),
        'S' => (r"\x{9}\x{A}\x{C}\x{D}\x{20}", true),
        'w' => (r"0-9A-Za-z_", false),
        'W' => (r"0-9A-Za-z_", true),
        _ => return None,
    };
    Some(Set::new(body, negated))
}

/// Go's POSIX classes (`[:alpha:]`, `[:^alpha:]`), which the crate knows
/// by the same names.
fn posix_class(name: &str) -> Option<Set> {
    let inner = name.strip_prefix("[:")?.strip_suffix(":]")?;
    let (negated, base) = match inner.strip_prefix('^') {
        Some(base) => (true, base),
        None => (false, inner),
    };
    let known = [
        "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
        "space", "upper", "word", "xdigit",
    ];
    known
        .contains(&base)
        .then(|| Set::new(format!("[:{base}:]"), negated))
}

/// The general categories in Go's `unicode.Categories`.
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

/// The scripts in Go's `unicode.Scripts` (Unicode 15.0, Go 1.21 on), by the
/// names Go spells.
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Toto",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// A Unicode class Go's tables hold (`Any`, a category, a script by its
/// name), inside a class in the crate's syntax.
fn unicode_table(name: &str) -> Option<String> {
    match name {
        "Any" => return Some(r"\x{0}-\x{10FFFF}".to_string()),
        // Go's C is the assigned "other" runes; the crate's adds the
        // unassigned ones. Surrogates never occur in a string.
        "C" => return Some(r"\p{Cc}\p{Cf}\p{Co}".to_string()),
        "Cs" => return Some(String::new()),
        _ => {}
    }
    if CATEGORIES.contains(&name) {
        return Some(format!(r"\p{{{name}}}"));
    }
    SCRIPTS
        .binary_search(&name)
        .is_ok()
        .then(|| format!(r"\p{{sc={name}}}"))
}

/// The `[` … `]` of a class item for one rune or a range of runes; the
/// surrogates, which no string holds, are left out.
fn push_range(body: &mut String, lo: u32, hi: u32) {
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi
    };
    if lo > hi {
        return;
    }
    if lo == hi {
        body.push_str(&format!(r"\x{{{lo:X}}}"));
    } else {
        body.push_str(&format!(r"\x{{{lo:X}}}-\x{{{hi:X}}}"));
    }
}

/// An operand a repetition applies to: where it is in the output, the
/// product of the counted repetitions inside it (Go's `repeatIsValid`),
/// whether `U` (lazy by default) held where it ends, and whether it is
/// itself a repetition (Go repeats `a+` again when flags come between:
/// `a+(?i)?`).
#[derive(Clone, Copy)]
struct Atom {
    start: usize,
    end: usize,
    factor: u64,
    ungreedy: bool,
    repeated: bool,
}

/// An open group: where it opens in the output, the largest product of
/// counted repetitions among its finished operands, and whether `U` held where it opened (its `)`
/// restores that).
struct Frame {
    open: usize,
    factor: u64,
    ungreedy: bool,
}

/// Go's `regexp/syntax` parser, writing the crate's syntax as it goes.
struct Translator<'a> {
    whole: &'a str,
    out: String,
    names: Vec<Option<String>>,
    frames: Vec<Frame>,
    /// What a repetition here would apply to (none after `(`, `|` or at
    /// the start).
    atom: Option<Atom>,
    /// Whether the `U` flag holds here.
    ungreedy: bool,
}

fn err(code: &'static str, expr: &str) -> SyntaxError {
    SyntaxError::new(code, expr)
}

/// `s[lo..hi]`, or the empty string should the offsets not fall on it.
fn part(s: &str, lo: usize, hi: usize) -> &str {
    s.get(lo..hi).unwrap_or_default()
}

impl<'a> Translator<'a> {
    fn new(whole: &'a str) -> Self {
        Translator {
            whole,
            out: String::with_capacity(whole.len() * 2),
            names: vec![None],
            frames: vec![Frame {
                open: 0,
                factor: 1,
                ungreedy: false,
            }],
            atom: None,
            ungreedy: false,
        }
    }

    fn rest(&self, i: usize) -> &'a str {
        self.whole.get(i..).unwrap_or_default()
    }

    fn run(mut self) -> Result<(String, Vec<Option<String>>), SyntaxError> {
        let mut i = 0;
        // Where the previous token, if it was a repetition, began.
        let mut last_repeat: Option<usize> = None;
        while let Some(c) = self.rest(i).chars().next() {
            let mut repeat_at = None;
            match c {
                '(' if self.rest(i).starts_with("(?") => i = self.perl_group(i)?,
                '(' => {
                    self.open_group("(");
                    self.names.push(None);
                    i += 1;
                }
                '|' => {
                    self.commit();
                    self.out.push('|');
                    i += 1;
                }
                ')' => {
                    self.close_group()?;
                    i += 1;
                }
                '^' | '$' | '.' => {
                    self.operand(&c.to_string());
                    i += 1;
                }
                '[' => i = self.class(i)?,
                '*' | '+' | '?' => {
                    let end = self.lazy(i + 1);
                    self.repeat(i, end, last_repeat, None)?;
                    repeat_at = Some(i);
                    i = end;
                }
                '{' => match parse_repeat(self.rest(i)) {
                    None => {
                        self.literal(u32::from('{'));
                        i += 1;
                    }
                    Some((min, max, len)) => {
                        let close = i + len;
                        if !(0..=1000).contains(&min) || max > 1000 || max >= 0 && min > max {
                            return Err(err(INVALID_REPEAT_SIZE, part(self.whole, i, close)));
                        }
                        let end = self.lazy(close);
                        self.repeat(i, end, last_repeat, Some((min, max)))?;
                        repeat_at = Some(i);
                        i = end;
                    }
                },
                '\\' => i = self.escape(i)?,
                _ => {
                    self.literal(u32::from(c));
                    i += c.len_utf8();
                }
            }
            last_repeat = repeat_at;
        }
        if self.frames.len() > 1 {
            return Err(err(MISSING_PAREN, self.whole));
        }
        Ok((self.out, self.names))
    }

    /// The end of a repetition operator that ends at `i`, past a `?` that
    /// makes it lazy.
    fn lazy(&self, i: usize) -> usize {
        if self.rest(i).starts_with('?') {
            i + 1
        } else {
            i
        }
    }

    /// Closes the current operand: nothing repeats it any more.
    fn commit(&mut self) {
        if let (Some(atom), Some(frame)) = (self.atom.take(), self.frames.last_mut()) {
            frame.factor = frame.factor.max(atom.factor);
        }
    }

    /// Writes a new operand.
    fn operand(&mut self, text: &str) {
        self.commit();
        let start = self.out.len();
        self.out.push_str(text);
        self.atom = Some(Atom {
            start,
            end: self.out.len(),
            factor: 1,
            ungreedy: self.ungreedy,
            repeated: false,
        });
    }

    /// A literal rune (a surrogate, which Go's escapes can name, matches
    /// nothing).
    fn literal(&mut self, r: u32) {
        let text = match char::from_u32(r) {
            Some(c) if c.is_ascii_alphanumeric() => c.to_string(),
            Some(_) => format!(r"\x{{{r:X}}}"),
            None => NOTHING.to_string(),
        };
        self.operand(&text);
    }

    fn open_group(&mut self, opening: &str) {
        self.commit();
        self.frames.push(Frame {
            open: self.out.len(),
            factor: 1,
            ungreedy: self.ungreedy,
        });
        self.out.push_str(opening);
    }

    fn close_group(&mut self) -> Result<(), SyntaxError> {
        if self.frames.len() < 2 {
            return Err(err(UNEXPECTED_PAREN, self.whole));
        }
        self.commit();
        let Some(frame) = self.frames.pop() else {
            return Err(err(UNEXPECTED_PAREN, self.whole));
        };
        self.out.push(')');
        self.ungreedy = frame.ungreedy;
        self.atom = Some(Atom {
            start: frame.open,
            end: self.out.len(),
            factor: frame.factor,
            ungreedy: self.ungreedy,
            repeated: false,
        });
        Ok(())
    }

    /// A repetition operator `whole[i..end]` (`*`, `+?`, `{2,5}`, …)
    /// applied to the last operand, with Go's checks.
    fn repeat(
        &mut self,
        i: usize,
        end: usize,
        last_repeat: Option<usize>,
        counted: Option<(i64, i64)>,
    ) -> Result<(), SyntaxError> {
        if let Some(previous) = last_repeat {
            return Err(err(INVALID_REPEAT_OP, part(self.whole, previous, end)));
        }
        let op = part(self.whole, i, end);
        let Some(mut atom) = self.atom else {
            return Err(err(MISSING_REPEAT_ARGUMENT, op));
        };
        if let Some((min, max)) = counted {
            if max == 0 {
                // Go does not look inside `{0}`.
                atom.factor = 1;
            } else {
                let m = u64::try_from(if max < 0 { min } else { max }).unwrap_or(0);
                if m > 0 {
                    atom.factor = atom.factor.saturating_mul(m);
                }
                if (min >= 2 || max >= 2) && atom.factor > MAX_REPEAT {
                    return Err(err(INVALID_REPEAT_SIZE, op));
                }
            }
        }
        // The operator goes right after its operand, before any flags
        // group written since (`a(?U)*` repeats `a`), but Go makes it lazy
        // or greedy by the flags now: where `U` changed in between, its
        // laziness is turned round.
        let op = if atom.ungreedy == self.ungreedy {
            op.to_string()
        } else if op.len() > 1 && op.ends_with('?') {
            part(op, 0, op.len() - 1).to_string()
        } else {
            format!("{op}?")
        };
        if atom.repeated {
            // Only flags came between: the crate would read this operator
            // as the last one's laziness, so the operand gets a group.
            self.out.insert(atom.end, ')');
            self.out.insert_str(atom.start, "(?:");
            atom.end += 4;
        }
        self.out.insert_str(atom.end, &op);
        atom.end += op.len();
        atom.repeated = true;
        self.atom = Some(atom);
        Ok(())
    }

    /// `(?` at `i`: a named group, a non-capturing group or a change of
    /// flags. Returns where parsing goes on.
    fn perl_group(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let t = self.rest(i);
        let b = t.as_bytes();
        let p_name = b.len() > 4 && b.get(2) == Some(&b'P') && b.get(3) == Some(&b'<');
        let short_name = b.len() > 3 && b.get(2) == Some(&b'<');
        if p_name || short_name {
            let begin = if p_name { 4 } else { 3 };
            let Some(end) = t.find('>') else {
                return Err(err(INVALID_NAMED_CAPTURE, t));
            };
            let capture = part(t, 0, end + 1);
            let name = part(t, begin, end);
            let valid =
                !name.is_empty() && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err(err(INVALID_NAMED_CAPTURE, capture));
            }
            // Go allows two groups of one name; the crate does not, so
            // names are kept here and the groups written unnamed.
            self.open_group("(");
            self.names.push(Some(name.to_string()));
            return Ok(i + end + 1);
        }
        let mut set = String::new();
        let mut clear = String::new();
        let mut negative = false;
        let mut saw_flag = false;
        let mut j = i + 2;
        while let Some(c) = self.rest(j).chars().next() {
            j += c.len_utf8();
            match c {
                'i' | 'm' | 's' | 'U' => {
                    let side = if negative { &mut clear } else { &mut set };
                    if !side.contains(c) {
                        side.push(c);
                    }
                    saw_flag = true;
                }
                '-' if !negative => {
                    negative = true;
                    saw_flag = false;
                }
                ':' | ')' if !negative || saw_flag => {
                    // A flag both set and cleared ends cleared.
                    set.retain(|f| !clear.contains(f));
                    let ungreedy = if set.contains('U') {
                        Some(true)
                    } else if clear.contains('U') {
                        Some(false)
                    } else {
                        None
                    };
                    let flags = if clear.is_empty() {
                        set
                    } else {
                        format!("{set}-{clear}")
                    };
                    if c == ':' {
                        self.open_group(&format!("(?{flags}:"));
                    }
                    if let Some(ungreedy) = ungreedy {
                        self.ungreedy = ungreedy;
                    }
                    if c == ')' && !flags.is_empty() {
                        // Flags for the rest of the group: not an operand.
                        self.out.push_str(&format!("(?{flags})"));
                    }
                    return Ok(j);
                }
                _ => break,
            }
        }
        Err(err(INVALID_PERL_OP, part(self.whole, i, j)))
    }

    /// `\` at `i` outside a class.
    fn escape(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let t = self.rest(i);
        match t.as_bytes().get(1) {
            Some(b'A') => {
                self.operand(r"\A");
                return Ok(i + 2);
            }
            Some(b'z') => {
                self.operand(r"\z");
                return Ok(i + 2);
            }
            Some(b'b') => {
                self.operand(r"(?-u:\b)");
                return Ok(i + 2);
            }
            Some(b'B') => {
                self.operand(r"(?-u:\B)");
                return Ok(i + 2);
            }
            Some(b'C') => return Err(err(INVALID_ESCAPE, part(t, 0, 2))),
            Some(b'Q') => {
                // Literal text up to `\E` or the end.
                let body = part(t, 2, t.len());
                let (text, used) = match body.find(r"\E") {
                    Some(k) => (part(body, 0, k), 2 + k + 2),
                    None => (body, t.len()),
                };
                for c in text.chars() {
                    self.literal(u32::from(c));
                }
                return Ok(i + used);
            }
            Some(b'p' | b'P') => {
                let (set, used) = unicode_class(t)?;
                self.operand(&set.alone());
                return Ok(i + used);
            }
            _ => {}
        }
        if let Some(set) = perl_class(t) {
            self.operand(&set.alone());
            return Ok(i + 2);
        }
        let (r, used) = parse_escape(t)?;
        self.literal(r);
        Ok(i + used)
    }

    /// A class `[` … `]` at `i`.
    fn class(&mut self, i: usize) -> Result<usize, SyntaxError> {
        let s = self.rest(i);
        let mut j = 1;
        let negated = part(s, j, s.len()).starts_with('^');
        if negated {
            j += 1;
        }
        let mut body = String::new();
        let mut first = true;
        loop {
            let t = part(s, j, s.len());
            if t.starts_with(']') && !first {
                j += 1;
                break;
            }
            first = false;
            if t.len() > 2
                && t.starts_with("[:")
                && let Some(k) = part(t, 2, t.len()).find(":]")
            {
                let name = part(t, 0, k + 4);
                let set = posix_class(name).ok_or_else(|| err(INVALID_CHAR_RANGE, name))?;
                body.push_str(&set.inside());
                j += name.len();
                continue;
            }
            if t.starts_with(r"\p") || t.starts_with(r"\P") {
                let (set, used) = unicode_class(t)?;
                body.push_str(&set.inside());
                j += used;
                continue;
            }
            if let Some(set) = perl_class(t) {
                body.push_str(&set.inside());
                j += 2;
                continue;
            }
            let range_start = j;
            let (lo, used) = class_char(t, s)?;
            j += used;
            let mut hi = lo;
            let after = part(s, j, s.len());
            if after.len() >= 2
                && after.starts_with('-')
                && !part(after, 1, after.len()).starts_with(']')
            {
                j += 1;
                let (h, used) = class_char(part(s, j, s.len()), s)?;
                j += used;
                hi = h;
                if hi < lo {
                    return Err(err(INVALID_CHAR_RANGE, part(s, range_start, j)));
                }
            }
            push_range(&mut body, lo, hi);
        }
        self.operand(&Set::new(body, negated).alone());
        Ok(i + j)
    }
}

/// One rune of a class (`parseClassChar`): an escape or the rune itself;
/// the end of the pattern means the class is not closed.
fn class_char(t: &str, whole_class: &str) -> Result<(u32, usize), SyntaxError> {
    match t.chars().next() {
        None => Err(err(MISSING_BRACKET, whole_class)),
        Some('\\') => parse_escape(t),
        Some(c) => Ok((u32::from(c), c.len_utf8())),
    }
}

/// `\p{Name}`, `\pN`, `\P…` and `\p{^Name}` at the start of `t`: the set
/// and the length of the text.
fn unicode_class(t: &str) -> Result<(Set, usize), SyntaxError> {
    let mut negated = t.starts_with(r"\P");
    let after = part(t, 2, t.len());
    let (seq, name) = match after.chars().next() {
        Some('{') => {
            let Some(end) = t.find('}') else {
                return Err(err(INVALID_CHAR_RANGE, t));
            };
            (part(t, 0, end + 1), part(t, 3, end))
        }
        Some(c) => {
            let seq = part(t, 0, 2 + c.len_utf8());
            (seq, part(seq, 2, seq.len()))
        }
        None => (part(t, 0, 2), ""),
    };
    let name = match name.strip_prefix('^') {
        Some(rest) => {
            negated = !negated;
            rest
        }
        None => name,
    };
    let body = unicode_table(name).ok_or_else(|| err(INVALID_CHAR_RANGE, seq))?;
    Ok((Set::new(body, negated), seq.len()))
}

/// Go's `parseEscape` at the start of `t` (a `\`): the rune and the length
/// of the escape.
fn parse_escape(t: &str) -> Result<(u32, usize), SyntaxError> {
    let Some(c) = part(t, 1, t.len()).chars().next() else {
        return Err(err(TRAILING_BACKSLASH, ""));
    };
    let mut used = 1 + c.len_utf8();
    let invalid = |used: usize| err(INVALID_ESCAPE, part(t, 0, used));
    let is_octal =
        |used: usize| part(t, used, t.len()).starts_with(|d: char| ('0'..='7').contains(&d));
    let digit = |used: usize| part(t, used, t.len()).chars().next();
    match c {
        '1'..='7' | '0' => {
            // A lone non-zero digit would be a backreference: refused.
            if c != '0' && !is_octal(used) {
                return Err(invalid(used));
            }
            let mut r = u32::from(c) - u32::from('0');
            for _ in 0..2 {
                match digit(used).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        r = r * 8 + d;
                        used += 1;
                    }
                    None => break,
                }
            }
            Ok((r, used))
        }
        'x' => {
            let Some(c) = digit(used) else {
                return Err(invalid(used));
            };
            used += c.len_utf8();
            if c == '{' {
                let mut r: u32 = 0;
                let mut digits = 0;
                loop {
                    let Some(d) = digit(used) else {
                        return Err(invalid(used));
                    };
                    used += d.len_utf8();
                    if d == '}' {
                        break;
                    }
                    let Some(v) = d.to_digit(16) else {
                        return Err(invalid(used));
                    };
                    r = r * 16 + v;
                    if r > 0x10FFFF {
                        return Err(invalid(used));
                    }
                    digits += 1;
                }
                if digits == 0 {
                    return Err(invalid(used));
                }
                return Ok((r, used));
            }
            let second = digit(used);
            used += second.map_or(0, char::len_utf8);
            match (c.to_digit(16), second.and_then(|d| d.to_digit(16))) {
                (Some(x), Some(y)) => Ok((x * 16 + y, used)),
                _ => Err(invalid(used)),
            }
        }
        'a' => Ok((7, used)),
        'f' => Ok((12, used)),
        'n' => Ok((10, used)),
        'r' => Ok((13, used)),
        't' => Ok((9, used)),
        'v' => Ok((11, used)),
        // Escaped punctuation is itself (`\_` included).
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((u32::from(c), used)),
        _ => Err(invalid(used)),
    }
}

/// Go's `parseRepeat` at the start of `s` (a `{`): min, max (-1 for none)
/// and the length through `}`, or `None` when it is no repetition (then
/// `{` is a literal).
fn parse_repeat(s: &str) -> Option<(i64, i64, usize)> {
    let b = s.as_bytes();
    let int = |at: usize| -> Option<(i64, usize)> {
        let digits = b
            .get(at..)?
            .iter()
            .take_while(|d| d.is_ascii_digit())
            .count();
        if digits == 0 || digits > 1 && b.get(at) == Some(&b'0') {
            return None;
        }
        let mut n: i64 = 0;
        for &d in b.get(at..at + digits)? {
            if n >= 100_000_000 {
                // Too big: Go marks it -1 and refuses the count.
                n = -1;
                break;
            }
            n = n * 10 + i64::from(d - b'0');
        }
        Some((n, at + digits))
    };
    let (mut min, at) = int(1)?;
    let (max, at) = match b.get(at)? {
        b',' => match b.get(at + 1)? {
            b'}' => (-1, at + 1),
            _ => {
                let (max, at) = int(at + 1)?;
                if max < 0 {
                    min = -1;
                }
                (max, at)
            }
        },
        _ => (min, at),
    };
    (b.get(at)? == &b'}').then_some((min, max, at + 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::super::strings::test_support::{bytes, err, i, s, strings};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        super::super::strings::test_support::call(register, name, args)
    }

    fn matches(name: &str, pattern: &str, input: &str) -> bool {
        match call(name, vec![s(pattern), s(input)]) {
            Ok(Value::Bool(b)) => b,
            other => panic!("{other:?}"),
        }
    }

    fn find_all(pattern: &str, input: &str, n: i64) -> Vec<String> {
        strings(call("mustRegexFindAll", vec![s(pattern), s(input), i(n)]))
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect()
    }

    fn split(pattern: &str, input: &str, n: i64) -> Vec<String> {
        strings(call("mustRegexSplit", vec![s(pattern), s(input), i(n)]))
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect()
    }

    fn replace(name: &str, pattern: &str, input: &str, repl: &str) -> String {
        String::from_utf8(bytes(call(name, vec![s(pattern), s(input), s(repl)]))).unwrap()
    }

    fn compile_error(pattern: &str) -> String {
        err(call("mustRegexFind", vec![s(pattern), s("")])).0
    }

    const EMAIL: &str = "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}";

    // Masterminds/sprig regex_test.go: TestRegexMatch, TestMustRegexMatch.
    #[test]
    fn regex_match() {
        for name in ["regexMatch", "mustRegexMatch"] {
            assert!(matches(name, EMAIL, "test@acme.com"));
            assert!(matches(name, EMAIL, "Test@Acme.Com"));
            assert!(!matches(name, EMAIL, "test"));
            assert!(!matches(name, EMAIL, "test.com"));
            assert!(!matches(name, EMAIL, "test@acme"));
        }
        // docs/strings.md.
        let anchored = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$";
        assert!(matches("regexMatch", anchored, "test@acme.com"));
        // A bad pattern: false, or the must form's error.
        assert!(!matches("regexMatch", "[a", "a"));
        assert_eq!(
            err(call("mustRegexMatch", vec![s("[a"), s("a")])).0,
            "error parsing regexp: missing closing ]: `[a`"
        );
    }

    // regex_test.go: TestRegexFindAll, TestMustRegexFindAll.
    #[test]
    fn regex_find_all() {
        for name in ["regexFindAll", "mustRegexFindAll"] {
            for (input, n, count) in [
                ("aa", -1, 1),
                ("aaaaaaaa", 1, 1),
                ("aaaa", -1, 2),
                ("none", -1, 0),
            ] {
                let found = strings(call(name, vec![s("a{2}"), s(input), i(n)]));
                assert_eq!(found.len(), count, "{name} {input} {n}");
            }
        }
        // docs/strings.md.
        assert_eq!(find_all("[2,4,6,8]", "123456789", -1), ["2", "4", "6", "8"]);
    }

    // regex_test.go: TestRegexFindl, TestMustRegexFindl.
    #[test]
    fn regex_find() {
        for name in ["regexFind", "mustRegexFind"] {
            for (input, want) in [("foorbar", "foo"), ("foo foe fome", "foo"), ("none", "")] {
                assert_eq!(
                    bytes(call(name, vec![s("fo.?"), s(input)])),
                    want.as_bytes()
                );
            }
        }
        // docs/strings.md.
        assert_eq!(
            bytes(call("regexFind", vec![s("[a-zA-Z][1-9]"), s("abcd1234")])),
            b"d1"
        );
    }

    // regex_test.go: TestRegexReplaceAll, TestMustRegexReplaceAll.
    #[test]
    fn regex_replace_all() {
        for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
            for (repl, want) in [
                ("T", "-T-T-"),
                ("$1", "--xx-"),
                ("$1W", "---"),
                ("${1}W", "-W-xxW-"),
            ] {
                assert_eq!(
                    replace(name, "a(x*)b", "-ab-axxb-", repl),
                    want,
                    "{name} {repl}"
                );
            }
        }
    }

    // regex_test.go: TestRegexReplaceAllLiteral, TestMustRegexReplaceAllLiteral.
    #[test]
    fn regex_replace_all_literal() {
        for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
            for (repl, want) in [("T", "-T-T-"), ("$1", "-$1-$1-"), ("${1}", "-${1}-${1}-")] {
                assert_eq!(
                    replace(name, "a(x*)b", "-ab-axxb-", repl),
                    want,
                    "{name} {repl}"
                );
            }
        }
    }

    // regex_test.go: TestRegexSplit, TestMustRegexSplit.
    #[test]
    fn regex_split() {
        for name in ["regexSplit", "mustRegexSplit"] {
            for (pattern, input, n, count) in [
                ("a", "banana", -1, 4),
                ("a", "banana", 0, 0),
                ("a", "banana", 1, 1),
                ("a", "banana", 2, 2),
                ("z+", "pizza", -1, 2),
                ("z+", "pizza", 0, 0),
                ("z+", "pizza", 1, 1),
                ("z+", "pizza", 2, 2),
            ] {
                let parts = strings(call(name, vec![s(pattern), s(input), i(n)]));
                assert_eq!(parts.len(), count, "{name} {pattern} {input} {n}");
            }
        }
        // docs/strings.md.
        assert_eq!(split("z+", "pizza", -1), ["pi", "a"]);
    }

    // regex_test.go: TestRegexQuoteMeta; functions_test.go: TestRegex.
    #[test]
    fn regex_quote_meta() {
        for (input, want) in [("1.2.3", "1\\.2\\.3"), ("pretzel", "pretzel")] {
            assert_eq!(
                bytes(call("regexQuoteMeta", vec![s(input)])),
                want.as_bytes()
            );
        }
        assert_eq!(
            bytes(call("regexQuoteMeta", vec![s(r"\.+*?()|[]{}^$")])),
            br"\\\.\+\*\?\(\)\|\[\]\{\}\^\$"
        );
    }

    // Go's syntax where the crate's differs, with what Go matches (go1.19).
    #[test]
    fn go_syntax() {
        for (pattern, input, want) in [
            // ASCII classes and boundaries.
            (r"\d+", "12 ٣٤ 56", &["12", "56"][..]),
            (r"\w+", "héllo wörld", &["h", "llo", "w", "rld"]),
            (r"\s", "a\u{b}b c", &[" "]),
            (r"\bé", "é aé", &["é"]),
            // Quoting, escaped punctuation, octal and hex escapes.
            (r"\Qa.b\E+", "a.bb a.b axb", &["a.bb", "a.b"]),
            (r"\<\>", "<> x", &["<>"]),
            (r"\101\x42\x{43}", "ABC", &["ABC"]),
            // A `{` that starts no repetition is itself.
            (r"a{,2}", "a{,2}", &["a{,2}"]),
            // Repeated flags; a repetition after a flags group, lazy by
            // the flags after it.
            (r"(?ii)a", "A", &["A"]),
            (r"a(?U)*", "aaa", &["", "", "", ""]),
            // Empty matches as Go's allMatches takes them.
            (r"x*", "baaac", &["", "", "", "", "", ""]),
            (r"\pL\p{Greek}", "aα αβ", &["aα", "αβ"]),
            // Go's total repeat count ignores what {0} holds.
            (r"(a{1000}){0}b", "b", &["b"]),
        ] {
            assert_eq!(find_all(pattern, input, -1), want, "{pattern}");
        }
        // An invalid byte is U+FFFD to the pattern and itself in the result.
        let found = strings(call(
            "mustRegexFindAll",
            vec![s("."), Value::str(&b"a\xffb"[..]), i(-1)],
        ));
        assert_eq!(found, [b"a".to_vec(), b"\xff".to_vec(), b"b".to_vec()]);
    }

    // Go's Expand and replaceAll (go1.19).
    #[test]
    fn go_expand() {
        let all = "mustRegexReplaceAll";
        assert_eq!(replace(all, r"(?P<x>a)|(?P<x>b)", "ab", "[$x]"), "[a][b]");
        assert_eq!(
            replace(all, "a(x*)b", "-ab-axxb-", "$1W $$ ${1} $"),
            "- $  $- $ xx $-"
        );
        assert_eq!(
            replace(all, r"(\w+) (\w+)", "John Smith", "$2, $1"),
            "Smith, John"
        );
        assert_eq!(
            replace(
                all,
                r"(?P<first>\w+) (?P<last>\w+)",
                "John Smith",
                "${last} ${first}"
            ),
            "Smith John"
        );
        assert_eq!(replace(all, "a*", "baaac", "-"), "-b-c-");
        assert_eq!(replace(all, "", "abc", "-"), "-a-b-c-");
        assert_eq!(split("", "abc", -1), ["a", "b", "c"]);
        assert_eq!(split("x*", "axbxc", -1), ["a", "b", "c"]);
        // Go's Split: an empty string is one empty part, unless the
        // pattern is empty too.
        assert_eq!(split("a", "", -1), [""]);
        assert!(split("", "", -1).is_empty());
    }

    // regexp/syntax's errors: the code and the part of the pattern (go1.19).
    #[test]
    fn go_errors() {
        for (pattern, want) in [
            ("[a", "missing closing ]: `[a`"),
            ("a(b", "missing closing ): `a(b`"),
            ("a)", "unexpected ): `a)`"),
            ("a**", "invalid nested repetition operator: `**`"),
            ("a+*?", "invalid nested repetition operator: `+*?`"),
            ("*a", "missing argument to repetition operator: `*`"),
            ("a{1001}", "invalid repeat count: `{1001}`"),
            ("(a{500}){3}", "invalid repeat count: `{3}`"),
            ("[z-a]", "invalid character class range: `z-a`"),
            ("x\\", "trailing backslash at end of expression: ``"),
            ("(?x)a", "invalid or unsupported Perl syntax: `(?x`"),
            (r"\8", r"invalid escape sequence: `\8`"),
            (r"\Z", r"invalid escape sequence: `\Z`"),
            (r"\C", r"invalid escape sequence: `\C`"),
            (r"\xZ1", r"invalid escape sequence: `\xZ1`"),
            ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
            (r"\p{Foo}", r"invalid character class range: `\p{Foo}`"),
            (r"\p{Latn}", r"invalid character class range: `\p{Latn}`"),
            ("(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"),
            ("(?P<name", "invalid named capture: `(?P<name`"),
        ] {
            assert_eq!(
                compile_error(pattern),
                format!("error parsing regexp: {want}"),
                "{pattern}"
            );
        }
        // The plain forms report regexp.MustCompile's panic.
        assert_eq!(
            err(call("regexFind", vec![s("[a"), s("")])).0,
            "regexp: Compile(`[a`): error parsing regexp: missing closing ]: `[a`"
        );
        assert_eq!(
            err(call("regexSplit", vec![s("`("), s(""), i(-1)])).0,
            "regexp: Compile(\"`(\"): error parsing regexp: missing closing ): ``(`"
        );
    }

    // Go 1.22's (?<name>…) groups.
    #[test]
    fn named_groups() {
        assert_eq!(
            replace(
                "mustRegexReplaceAll",
                r"(?<first>\w+) (?<second>\w+)",
                "a b",
                "$second $first"
            ),
            "b a"
        );
    }

    #[test]
    fn every_script_go_names_compiles() {
        for name in SCRIPTS {
            assert!(
                compile(format!(r"\p{{{name}}}").as_bytes()).is_ok(),
                "{name}"
            );
        }
        for name in CATEGORIES {
            assert!(
                compile(format!(r"[\P{{{name}}}x]").as_bytes()).is_ok(),
                "{name}"
            );
        }
    }
}
