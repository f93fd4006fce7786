//! Sprig's `semver` and `semverCompare` (`semver.go` in ESO's vendored
//! Sprig), over a port of Masterminds/semver v3.4.0 (the version ESO's
//! `runtime/go.mod` pins): its loose version grammar (`NewVersion` with
//! `CoerceNewVersion`, so `v1.2` is `1.2.0`), its ordering, and its
//! constraint language (`NewConstraint`/`Check`: `=`, `!=`, `<`, `<=`, `>`,
//! `>=`, `~`, `~>`, `^`, `x`/`X`/`*` wildcards, `a - b` ranges, `,` or
//! space for AND, `||` for OR, pre-releases only when the constraint names
//! one).
//!
//! Masterminds/semver defines its grammars as Go regular expressions; the
//! same expressions run here on the `regex` crate, which matches
//! leftmost-first as Go's `regexp` does (Go's `\s` is written out as the
//! ASCII class it is in Go).
//!
//! Go's `semver` returns a `*semver.Version`, whose `Major`, `Minor`,
//! `Patch`, `Prerelease`, `Metadata`, `Original` and `String` methods a
//! template calls without arguments; here it is a map with those keys, so
//! `$v.Major` and `$v.String` read the same. Methods that take arguments
//! (`Compare`, `LessThan`) have no equivalent on a map.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::bytes::{Captures, Regex};

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("semver", &[Param::Str], None, semver);
    r.add(
        "semverCompare",
        &[Param::Str, Param::Str],
        None,
        semver_compare,
    );
}

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// `semver`: the version's parts, or Masterminds/semver's parse error.
fn semver(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let v = Version::parse(str_arg(&args, 0)).map_err(FuncError::new)?;
    let number = |n: u64| match i64::try_from(n) {
        Ok(n) => Value::Int(n),
        // A `uint64` past int64 still prints as its digits.
        Err(_) => Value::str(n.to_string()),
    };
    let mut m = BTreeMap::new();
    m.insert("Major".to_string(), number(v.major));
    m.insert("Minor".to_string(), number(v.minor));
    m.insert("Patch".to_string(), number(v.patch));
    m.insert("Prerelease".to_string(), Value::str(v.pre.clone()));
    m.insert("Metadata".to_string(), Value::str(v.metadata.clone()));
    m.insert("String".to_string(), Value::str(v.to_string()));
    m.insert("Original".to_string(), Value::str(v.original));
    Ok(Value::map(m))
}

/// `semverCompare constraint version`: whether the version satisfies the
/// constraint; an unparsable constraint, then version, is an error.
fn semver_compare(_env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let c = Constraints::parse(str_arg(&args, 0)).map_err(FuncError::new)?;
    let v = Version::parse(str_arg(&args, 1)).map_err(FuncError::new)?;
    Ok(Value::Bool(c.check(&v)))
}

// ---------------------------------------------------------------------
// Regular expressions (Masterminds/semver's, `\s` as Go means it).

const SPACE: &str = r"[\t\n\f\r ]";
const LOOSE_VERSION: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

/// The compiled expressions, built once.
struct Patterns {
    loose_version: Regex,
    constraint: Regex,
    constraint_range: Regex,
    find_constraint: Regex,
    valid_constraint: Regex,
}

fn patterns() -> Result<&'static Patterns, String> {
    static PATTERNS: OnceLock<Result<Patterns, String>> = OnceLock::new();
    PATTERNS
        .get_or_init(|| {
            let s = SPACE;
            let build = |p: String| Regex::new(&p).map_err(|e| e.to_string());
            Ok(Patterns {
                loose_version: build(format!("^{LOOSE_VERSION}$"))?,
                constraint: build(format!(r"^{s}*({OPS}){s}*({CV}){s}*$"))?,
                constraint_range: build(format!(r"{s}*({CV}){s}+-{s}+({CV}){s}*"))?,
                find_constraint: build(format!(r"({OPS}){s}*({CV})"))?,
                valid_constraint: build(format!(
                    r"^({s}*({OPS}){s}*({CV}){s}*)((?:{s}+|,{s}*)({OPS}){s}*({CV}){s}*)*$"
                ))?,
            })
        })
        .as_ref()
        .map_err(|e| format!("semver: {e}"))
}

fn group<'h>(c: &Captures<'h>, i: usize) -> &'h [u8] {
    c.get(i).map_or(&[][..], |m| m.as_bytes())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------
// Versions

const ERR_INVALID_SEMVER: &str = "invalid semantic version";
const ERR_SEGMENT_STARTS_ZERO: &str = "version segment starts with 0";
const ERR_INVALID_METADATA: &str = "invalid metadata string";
const ERR_INVALID_PRERELEASE: &str = "invalid prerelease string";

/// A parsed version (Masterminds/semver's `Version`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

fn is_num(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_digit())
}

fn is_allowed(s: &str) -> bool {
    s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

fn validate_prerelease(p: &str) -> Result<(), String> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err(ERR_INVALID_PRERELEASE.into());
        } else if is_num(part) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(ERR_SEGMENT_STARTS_ZERO.into());
            }
        } else if !is_allowed(part) {
            return Err(ERR_INVALID_PRERELEASE.into());
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), String> {
    if m.split('.')
        .any(|part| part.is_empty() || !is_allowed(part))
    {
        return Err(ERR_INVALID_METADATA.into());
    }
    Ok(())
}

/// Go's `strconv.ParseUint(s, 10, 64)` on a run of digits, with the
/// segment error Masterminds/semver wraps it in (without the value).
fn parse_segment(s: &[u8]) -> Result<u64, String> {
    text(s).parse::<u64>().map_err(|_| {
        "error parsing version segment: strconv.ParseUint: value out of range".to_string()
    })
}

impl Version {
    /// Masterminds/semver's `NewVersion` (the coercing, loose form).
    fn parse(v: &[u8]) -> Result<Version, String> {
        let p = patterns()?;
        let m = p
            .loose_version
            .captures(v)
            .ok_or_else(|| ERR_INVALID_SEMVER.to_string())?;
        let segment = |i: usize| -> Result<u64, String> {
            match group(&m, i) {
                [] => Ok(0),
                [b'.', rest @ ..] | rest => parse_segment(rest),
            }
        };
        let version = Version {
            major: parse_segment(group(&m, 1))?,
            minor: segment(2)?,
            patch: segment(3)?,
            pre: text(group(&m, 5)),
            metadata: text(group(&m, 8)),
            original: text(v),
        };
        if !version.pre.is_empty() {
            validate_prerelease(&version.pre)?;
        }
        if !version.metadata.is_empty() {
            validate_metadata(&version.metadata)?;
        }
        Ok(version)
    }

    /// Masterminds/semver's `Compare`: by major, minor, patch, then
    /// pre-release (a release sorts after its pre-releases); metadata is
    /// ignored.
    fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &o.pre),
            })
    }

    fn less_than(&self, o: &Version) -> bool {
        self.compare(o) == Ordering::Less
    }

    fn equal(&self, o: &Version) -> bool {
        self.compare(o) == Ordering::Equal
    }
}

impl std::fmt::Display for Version {
    /// Masterminds/semver's `String()`: `major.minor.patch[-pre][+meta]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

/// Masterminds/semver's `comparePrerelease`: dot-separated parts in turn,
/// a missing part sorting first.
fn compare_prerelease(v: &str, o: &str) -> Ordering {
    let sparts: Vec<&str> = v.split('.').collect();
    let oparts: Vec<&str> = o.split('.').collect();
    for i in 0..sparts.len().max(oparts.len()) {
        let s = sparts.get(i).copied().unwrap_or("");
        let o = oparts.get(i).copied().unwrap_or("");
        match compare_pre_part(s, o) {
            Ordering::Equal => {}
            d => return d,
        }
    }
    Ordering::Equal
}

/// Masterminds/semver's `comparePrePart`: numbers numerically and before
/// words, words by bytes.
fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    let number = |x: &str| {
        if is_num(x) {
            x.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (number(s), number(o)) {
        (None, None) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(si), Some(oi)) => {
            if si > oi {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

// ---------------------------------------------------------------------
// Constraints

/// A constraint's operator (Masterminds/semver's `constraintOps`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `""`, `=`: equal, or `~` when the version has wildcards.
    TildeOrEqual,
    /// `!=`.
    NotEqual,
    /// `>`.
    Greater,
    /// `<`.
    Less,
    /// `>=`, `=>`.
    GreaterEqual,
    /// `<=`, `=<`.
    LessEqual,
    /// `~`, `~>`.
    Tilde,
    /// `^`.
    Caret,
}

impl Op {
    fn from_text(op: &[u8]) -> Option<Op> {
        Some(match op {
            b"" | b"=" => Op::TildeOrEqual,
            b"!=" => Op::NotEqual,
            b">" => Op::Greater,
            b"<" => Op::Less,
            b">=" | b"=>" => Op::GreaterEqual,
            b"<=" | b"=<" => Op::LessEqual,
            b"~" | b"~>" => Op::Tilde,
            b"^" => Op::Caret,
            _ => return None,
        })
    }
}

/// One constraint (Masterminds/semver's `constraint`).
#[derive(Debug)]
struct Constraint {
    con: Version,
    op: Op,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &[u8]) -> bool {
    matches!(s, b"x" | b"X" | b"*")
}

fn strip_dot(s: &[u8]) -> &[u8] {
    s.strip_prefix(b".").unwrap_or(s)
}

/// Masterminds/semver's `parseConstraint`.
fn parse_constraint(c: &[u8]) -> Result<Constraint, String> {
    if c.is_empty() {
        // The empty constraint is `*`.
        return Ok(Constraint {
            con: Version::parse(b"0.0.0")?,
            op: Op::TildeOrEqual,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let p = patterns()?;
    let m = p
        .constraint
        .captures(c)
        .ok_or_else(|| "improper constraint".to_string())?;
    let op = Op::from_text(group(&m, 1)).ok_or_else(|| "improper constraint".to_string())?;
    let (major, minor, patch, pre) = (group(&m, 3), group(&m, 4), group(&m, 5), group(&m, 6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver: Vec<u8> = if is_x(major) || major.is_empty() {
        dirty = true;
        [&b"0.0.0"[..], pre].concat()
    } else if is_x(strip_dot(minor)) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        [major, b".0.0", pre].concat()
    } else if is_x(strip_dot(patch)) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        [major, minor, b".0", pre].concat()
    } else {
        group(&m, 2).to_vec()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

impl Constraint {
    /// Whether `v` satisfies this constraint (Masterminds/semver's
    /// `constraint*` functions).
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                !v.equal(c)
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    true
                } else if v.major < c.major || self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    v.compare(c) == Ordering::Greater
                }
            }
            Op::Less => v.less_than(c),
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                !(v.major > c.major
                    || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::TildeOrEqual => {
                if self.dirty {
                    self.tilde(v)
                } else {
                    v.equal(c)
                }
            }
            Op::Caret => {
                let c = &self.con;
                if v.less_than(c) {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    /// `~`: at least the version, within its major (and minor, unless the
    /// minor is a wildcard); `~0.0.0` is anything.
    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.less_than(c) {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// A parsed constraint string: ORs of ANDs (Masterminds/semver's
/// `Constraints`).
#[derive(Debug)]
struct Constraints {
    ors: Vec<Vec<Constraint>>,
    contains_pre: Vec<bool>,
}

/// Masterminds/semver's `rewriteRange`: each `a - b` becomes `>= a, <= b `.
fn rewrite_range(p: &Patterns, i: &[u8]) -> Vec<u8> {
    let mut o = i.to_vec();
    for m in p.constraint_range.captures_iter(i) {
        let whole = group(&m, 0);
        let t = [&b">= "[..], group(&m, 1), b", <= ", group(&m, 11), b" "].concat();
        if let Some(at) = find(&o, whole) {
            o.splice(at..at + whole.len(), t);
        }
    }
    o
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Go's `strings.Split(s, "||")`.
fn split_ors(s: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = find(rest, b"||") {
        out.push(&rest[..at]);
        rest = &rest[at + 2..];
    }
    out.push(rest);
    out
}

impl Constraints {
    /// Masterminds/semver's `NewConstraint`.
    fn parse(c: &[u8]) -> Result<Constraints, String> {
        let p = patterns()?;
        let c = rewrite_range(p, c);
        let mut ors = Vec::new();
        let mut contains_pre = Vec::new();
        for v in split_ors(&c) {
            if !p.valid_constraint.is_match(v) {
                return Err("improper constraint".into());
            }
            let mut found: Vec<&[u8]> = p
                .find_constraint
                .find_iter(v)
                .map(|m| m.as_bytes())
                .collect();
            if found.is_empty() {
                found.push(v);
            }
            let mut and = Vec::with_capacity(found.len());
            let mut has_pre = false;
            for s in found {
                let pc = parse_constraint(s)?;
                has_pre |= !pc.con.pre.is_empty();
                and.push(pc);
            }
            ors.push(and);
            contains_pre.push(has_pre);
        }
        Ok(Constraints { ors, contains_pre })
    }

    /// Masterminds/semver's `Check`: some OR group all of whose
    /// constraints hold (pre-release versions only for groups naming a
    /// pre-release).
    fn check(&self, v: &Version) -> bool {
        self.ors
            .iter()
            .zip(&self.contains_pre)
            .any(|(and, &pre)| and.iter().all(|c| c.check(v, pre)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::random::testing::with_env;
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        with_env(0, |env| (r.get(name).unwrap().body)(env, args))
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn field(v: &Value, key: &str) -> String {
        match v {
            Value::Map(m) => String::from_utf8(m[key].to_go_string()).unwrap(),
            _ => panic!("not a map"),
        }
    }

    // Sprig semver_test.go TestSemverCompare.
    #[test]
    fn sprig_semver_compare() {
        for (c, v, want) in [
            ("1.2.3", "1.2.3", true),
            ("^1.2.0", "1.2.3", true),
            ("^1.2.0", "2.2.3", false),
        ] {
            let got = call("semverCompare", vec![s(c), s(v)]).unwrap();
            assert!(matches!(got, Value::Bool(b) if b == want), "{c} {v}");
        }
    }

    // Sprig semver_test.go TestSemverCompareErr.
    #[test]
    fn sprig_semver_compare_errors() {
        assert_eq!(
            call("semverCompare", vec![s("badConstraint"), s("1.2.3")])
                .unwrap_err()
                .0,
            "improper constraint"
        );
        assert_eq!(
            call("semverCompare", vec![s("1.2.0"), s("badVersion")])
                .unwrap_err()
                .0,
            "invalid semantic version"
        );
    }

    // Sprig semver_test.go TestSemver (the fields; its `.Compare` cases
    // call a method with an argument, which a map has no equivalent of),
    // and Masterminds/semver version_test.go TestParts.
    #[test]
    fn sprig_semver_fields() {
        let v = call("semver", vec![s("1.2.3-beta.1+c0ff33")]).unwrap();
        assert_eq!(field(&v, "Prerelease"), "beta.1");
        assert_eq!(field(&v, "Major"), "1");
        let v = call("semver", vec![s("v1.2.3-beta.1+build.123")]).unwrap();
        for (k, want) in [
            ("Major", "1"),
            ("Minor", "2"),
            ("Patch", "3"),
            ("Prerelease", "beta.1"),
            ("Metadata", "build.123"),
            ("Original", "v1.2.3-beta.1+build.123"),
            ("String", "1.2.3-beta.1+build.123"),
        ] {
            assert_eq!(field(&v, k), want, "{k}");
        }
        assert!(matches!(
            call("semver", vec![s("1.2.3")]).unwrap(),
            Value::Map(m) if matches!(m["Major"], Value::Int(1))
        ));
        assert_eq!(
            field(
                &call("semver", vec![s("18446744073709551615.0.0")]).unwrap(),
                "Major"
            ),
            "18446744073709551615"
        );
        assert_eq!(
            call("semver", vec![s("18446744073709551616.0.0")])
                .unwrap_err()
                .0,
            "error parsing version segment: strconv.ParseUint: value out of range"
        );
    }

    // Masterminds/semver version_test.go TestNewVersion ("With loose
    // NewVersion").
    #[test]
    fn new_version_loose() {
        for (v, err) in [
            ("1.2.3", false),
            ("1.2.3-alpha.01", true),
            ("1.2.3+test.01", false),
            ("1.2.3-alpha.-1", false),
            ("v1.2.3", false),
            ("1.0", false),
            ("v1.0", false),
            ("1", false),
            ("v1", false),
            ("1.2.beta", true),
            ("v1.2.beta", true),
            ("foo", true),
            ("1.2-5", false),
            ("v1.2-5", false),
            ("1.2-beta.5", false),
            ("v1.2-beta.5", false),
            ("\n1.2", true),
            ("\nv1.2", true),
            ("1.2.0-x.Y.0+metadata", false),
            ("v1.2.0-x.Y.0+metadata", false),
            ("1.2.0-x.Y.0+metadata-width-hypen", false),
            ("v1.2.0-x.Y.0+metadata-width-hypen", false),
            ("1.2.3-rc1-with-hypen", false),
            ("v1.2.3-rc1-with-hypen", false),
            ("1.2.3.4", true),
            ("v1.2.3.4", true),
            ("1.2.2147483648", false),
            ("1.2147483648.3", false),
            ("2147483648.3.0", false),
            ("12.3.4.1234", true),
            ("12.23.4.1234", true),
            ("12.3.34.1234", true),
            ("20221209-update-renovatejson-v4", false),
            ("1.1.2+.123", true),
            ("1.0.0-alpha_beta", true),
            ("1.0.0-alpha..", true),
            ("1.0.0-alpha..1", true),
            ("9.8.7+meta+meta", true),
            ("1.2.31----RC-SNAPSHOT.12.09.1--.12+788", true),
            ("01.1.1", false),
            ("1.01.1", false),
            ("1.1.01", false),
        ] {
            assert_eq!(Version::parse(v.as_bytes()).is_err(), err, "{v:?}");
        }
        assert_eq!(
            Version::parse(b"1.2.3-alpha.01").unwrap_err(),
            ERR_SEGMENT_STARTS_ZERO
        );
        assert_eq!(
            Version::parse(b"1.0.0-alpha_beta").unwrap_err(),
            ERR_INVALID_SEMVER
        );
    }

    // Masterminds/semver version_test.go TestCoerceString and TestOriginal.
    #[test]
    fn coerced_string_and_original() {
        for (v, want) in [
            ("1.2.3", "1.2.3"),
            ("v1.2.3", "1.2.3"),
            ("1.0", "1.0.0"),
            ("v1.0", "1.0.0"),
            ("1", "1.0.0"),
            ("v1", "1.0.0"),
            ("1.2-5", "1.2.0-5"),
            ("v1.2-5", "1.2.0-5"),
            ("1.2-beta.5", "1.2.0-beta.5"),
            ("v1.2-beta.5", "1.2.0-beta.5"),
            ("1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            ("v1.2.0-x.Y.0+metadata", "1.2.0-x.Y.0+metadata"),
            (
                "1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            (
                "v1.2.0-x.Y.0+metadata-width-hypen",
                "1.2.0-x.Y.0+metadata-width-hypen",
            ),
            ("1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
            ("v1.2.3-rc1-with-hypen", "1.2.3-rc1-with-hypen"),
        ] {
            let parsed = Version::parse(v.as_bytes()).unwrap();
            assert_eq!(parsed.to_string(), want);
            assert_eq!(parsed.original, v);
        }
    }

    // Masterminds/semver version_test.go TestCompare.
    #[test]
    fn compare() {
        for (a, b, want) in [
            ("1.2.3", "1.5.1", -1),
            ("2.2.3", "1.5.1", 1),
            ("2.2.3", "2.2.2", 1),
            ("3.2-beta", "3.2-beta", 0),
            ("1.3", "1.1.4", 1),
            ("4.2", "4.2-beta", 1),
            ("4.2-beta", "4.2", -1),
            ("4.2-alpha", "4.2-beta", -1),
            ("4.2-alpha", "4.2-alpha", 0),
            ("4.2-beta.2", "4.2-beta.1", 1),
            ("4.2-beta2", "4.2-beta1", 1),
            ("4.2-beta", "4.2-beta.2", -1),
            ("4.2-beta", "4.2-beta.foo", -1),
            ("4.2-beta.2", "4.2-beta", 1),
            ("4.2-beta.foo", "4.2-beta", 1),
            ("1.2+bar", "1.2+baz", 0),
            ("1.0.0-beta.4", "1.0.0-beta.-2", -1),
            ("1.0.0-beta.-2", "1.0.0-beta.-3", -1),
            ("1.0.0-beta.-3", "1.0.0-beta.5", 1),
        ] {
            let got = Version::parse(a.as_bytes())
                .unwrap()
                .compare(&Version::parse(b.as_bytes()).unwrap());
            assert_eq!(got as i32, want, "{a} {b}");
        }
    }

    // Masterminds/semver constraints_test.go TestParseConstraint.
    #[test]
    fn parse_constraints() {
        for (c, op, v) in [
            (">= 1.2", Op::GreaterEqual, "1.2.0"),
            ("1.0", Op::TildeOrEqual, "1.0.0"),
            ("<= 1.2", Op::LessEqual, "1.2.0"),
            ("=< 1.2", Op::LessEqual, "1.2.0"),
            ("=> 1.2", Op::GreaterEqual, "1.2.0"),
            ("v1.2", Op::TildeOrEqual, "1.2.0"),
            ("=1.5", Op::TildeOrEqual, "1.5.0"),
            ("> 1.3", Op::Greater, "1.3.0"),
            ("< 1.4.1", Op::Less, "1.4.1"),
            ("< 40.50.10", Op::Less, "40.50.10"),
        ] {
            let pc = parse_constraint(c.as_bytes()).unwrap();
            assert_eq!((pc.op, pc.con.to_string().as_str()), (op, v), "{c}");
        }
        assert!(parse_constraint(b"foo").is_err());
    }

    // Masterminds/semver constraints_test.go TestConstraintCheck (single
    // constraints, pre-releases included when the constraint has one).
    #[test]
    fn constraint_check() {
        for (c, v, want) in [
            ("=2.0.0", "1.2.3", false),
            ("=2.0.0", "2.0.0", true),
            ("=2.0", "1.2.3", false),
            ("=2.0", "2.0.0", true),
            ("=2.0", "2.0.1", true),
            ("4.1", "4.1.0", true),
            ("!=4.1.0", "4.1.0", false),
            ("!=4.1.0", "4.1.1", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1", "4.1.1", false),
            ("!=4.1", "5.1.0-alpha.1", false),
            ("!=4.1.0", "5.1.0-alpha.1", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("<11", "0.1.0", true),
            ("<11", "11.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<=11", "1.2.3", true),
            ("<=11", "12.2.3", false),
            ("<=11", "11.2.3", true),
            ("<=1.1", "1.2.3", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.1", "1.1.1", true),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            (">0", "0", false),
            (">0", "1", true),
            (">0", "0.0.1-alpha", false),
            (">0.0", "0.0.1-alpha", false),
            (">0-0", "0.0.1-alpha", false),
            (">0.0-0", "0.0.1-alpha", false),
            (">0", "0.0.0-alpha", false),
            (">0-0", "0.0.0-alpha", false),
            (">0.0.0-0", "0.0.0-alpha", true),
            (">1.2.3-alpha.1", "1.2.3-alpha.2", true),
            (">1.2.3-alpha.1", "1.3.3-alpha.2", true),
            (">11", "11.1.0", false),
            (">11.1", "11.1.0", false),
            (">11.1", "11.1.1", false),
            (">11.1", "11.2.1", true),
            (">=11", "11.1.2", true),
            (">=11.1", "11.1.2", true),
            (">=11.1", "11.0.2", false),
            (">=1.1", "4.1.0", true),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            (">=0", "0.0.1-alpha", false),
            (">=0.0", "0.0.1-alpha", false),
            (">=0-0", "0.0.1-alpha", true),
            (">=0.0-0", "0.0.1-alpha", true),
            (">=0", "0.0.0-alpha", false),
            (">=0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "0.0.0-alpha", true),
            (">=0.0.0-0", "1.2.3", true),
            (">=0.0.0-0", "3.4.5-beta.1", true),
            ("<0", "0.0.0-alpha", false),
            ("<0-z", "0.0.0-alpha", true),
            (">=0", "0", true),
            ("=0", "1", false),
            ("*", "1", true),
            ("*", "4.5.6", true),
            ("*", "1.2.3-alpha.1", false),
            ("*-0", "1.2.3-alpha.1", true),
            ("2.*", "1", false),
            ("2.*", "3.4.5", false),
            ("2.*", "2.1.1", true),
            ("2.1.*", "2.1.1", true),
            ("2.1.*", "2.2.1", false),
            ("", "1", true),
            ("", "4.5.6", true),
            ("", "1.2.3-alpha.1", false),
            ("2", "1", false),
            ("2", "3.4.5", false),
            ("2", "2.1.1", true),
            ("2.1", "2.1.1", true),
            ("2.1", "2.2.1", false),
            ("~1.2.3", "1.2.4", true),
            ("~1.2.3", "1.3.4", false),
            ("~1.2", "1.2.4", true),
            ("~1.2", "1.3.4", false),
            ("~1", "1.2.4", true),
            ("~1", "2.3.4", false),
            ("~0.2.3", "0.2.5", true),
            ("~0.2.3", "0.3.5", false),
            ("~1.2.3-beta.2", "1.2.3-beta.4", true),
            ("~1.2.3-beta.2", "1.2.4-beta.2", true),
            ("~1.2.3-beta.2", "1.3.4-beta.2", false),
            ("^1.2.3", "1.8.9", true),
            ("^1.2.3", "2.8.9", false),
            ("^1.2.3", "1.2.1", false),
            ("^1.1.0", "2.1.0", false),
            ("^1.2.0", "2.2.1", false),
            ("^1.2.0", "1.2.1-alpha.1", false),
            ("^1.2.0-alpha.0", "1.2.1-alpha.1", true),
            ("^1.2.0-alpha.0", "1.2.1-alpha.0", true),
            ("^1.2.0-alpha.2", "1.2.0-alpha.1", false),
            ("^1.2", "1.8.9", true),
            ("^1.2", "2.8.9", false),
            ("^1", "1.8.9", true),
            ("^1", "2.8.9", false),
            ("^0.2.3", "0.2.5", true),
            ("^0.2.3", "0.5.6", false),
            ("^0.2", "0.2.5", true),
            ("^0.2", "0.5.6", false),
            ("^0.0.3", "0.0.3", true),
            ("^0.0.3", "0.0.4", false),
            ("^0.0", "0.0.3", true),
            ("^0.0", "0.1.4", false),
            ("^0.0", "1.0.4", false),
            ("^0", "0.2.3", true),
            ("^0", "1.1.4", false),
            ("^0.2.3-beta.2", "0.2.3-beta.4", true),
            ("^0.2.3-beta.2", "0.2.4-beta.2", true),
            ("^0.2.3-beta.2", "0.3.4-beta.2", false),
            ("^0.2.3-beta.2", "0.2.3-beta.2", true),
        ] {
            let pc = parse_constraint(c.as_bytes()).unwrap();
            let v = Version::parse(v.as_bytes()).unwrap();
            let has_pre = !pc.con.pre.is_empty();
            assert_eq!(pc.check(&v, has_pre), want, "{c} {v:?}");
        }
    }

    // Masterminds/semver constraints_test.go TestNewConstraint.
    #[test]
    fn new_constraint() {
        for (c, ors, count, err) in [
            (">= 1.1", 1, 1, false),
            (">40.50.60, < 50.70", 1, 2, false),
            ("2.0", 1, 1, false),
            ("v2.3.5-20161202202307-sha.e8fc5e5", 1, 1, false),
            (">= bar", 0, 0, true),
            ("BAR >= 1.2.3", 0, 0, true),
            (">= 1.2.3 < 2.0", 1, 2, false),
            (">= 1.2.3 < 2.0 || => 3.0 < 4", 2, 2, false),
            (">= 1.2.3, < 2.0", 1, 2, false),
            (">= 1.2.3, < 2.0 || => 3.0, < 4", 2, 2, false),
            ("3 - 4 || => 3.0, < 4", 2, 2, false),
            ("12.3.4.1234", 0, 0, true),
            ("12.23.4.1234", 0, 0, true),
            ("12.3.34.1234", 0, 0, true),
            ("12.3.34 ~1.2.3", 1, 2, false),
            ("12.3.34~ 1.2.3", 0, 0, true),
            ("1.0.0 - 2.0.0, <=2.0.0", 1, 3, false),
        ] {
            match Constraints::parse(c.as_bytes()) {
                Ok(cs) => {
                    assert!(!err, "{c}");
                    assert_eq!((cs.ors.len(), cs.ors[0].len()), (ors, count), "{c}");
                }
                Err(e) => assert!(err, "{c}: {e}"),
            }
        }
    }

    // Masterminds/semver constraints_test.go TestRewriteRange.
    #[test]
    fn rewrite_ranges() {
        let p = patterns().unwrap();
        for (c, want) in [
            ("2 - 3", ">= 2, <= 3 "),
            ("2 - 3, 2 - 3", ">= 2, <= 3 ,>= 2, <= 3 "),
            ("2 - 3, 4.0.0 - 5.1", ">= 2, <= 3 ,>= 4.0.0, <= 5.1 "),
            ("2 - 3 4.0.0 - 5.1", ">= 2, <= 3 >= 4.0.0, <= 5.1 "),
            ("1.0.0 - 2.0.0 <=2.0.0", ">= 1.0.0, <= 2.0.0 <=2.0.0"),
        ] {
            assert_eq!(text(&rewrite_range(p, c.as_bytes())), want);
        }
    }

    // Masterminds/semver constraints_test.go TestIsX.
    #[test]
    fn wildcards() {
        for (x, want) in [
            ("A", false),
            ("%", false),
            ("X", true),
            ("x", true),
            ("*", true),
        ] {
            assert_eq!(is_x(x.as_bytes()), want);
        }
    }

    // Masterminds/semver constraints_test.go TestConstraintsCheck, through
    // semverCompare.
    #[test]
    fn constraints_check() {
        for (c, v, want) in [
            ("*", "1.2.3", true),
            ("~0.0.0", "1.2.3", true),
            ("0.x.x", "1.2.3", false),
            ("0.0.x", "1.2.3", false),
            ("0.0.0", "1.2.3", false),
            ("*", "1.2.3", true),
            ("^0.0.0", "1.2.3", false),
            ("= 2.0", "1.2.3", false),
            ("= 2.0", "2.0.0", true),
            ("4.1", "4.1.0", true),
            ("4.1.x", "4.1.3", true),
            ("1.x", "1.4", true),
            ("!=4.1", "4.1.0", false),
            ("!=4.1-alpha", "4.1.0-alpha", false),
            ("!=4.1-alpha", "4.1.1-alpha", false),
            ("!=4.1-alpha", "4.1.0", true),
            ("!=4.1", "5.1.0", true),
            ("!=4.x", "5.1.0", true),
            ("!=4.x", "4.1.0", false),
            ("!=4.1.x", "4.2.0", true),
            ("!=4.2.x", "4.2.3", false),
            (">1.1", "4.1.0", true),
            (">1.1", "1.1.0", false),
            ("<1.1", "0.1.0", true),
            ("<1.1", "1.1.0", false),
            ("<1.1", "1.1.1", false),
            ("<1.x", "1.1.1", false),
            ("<1.x", "0.1.1", true),
            ("<1.x", "2.0.0", false),
            ("<1.1.x", "1.2.1", false),
            ("<1.1.x", "1.1.500", false),
            ("<1.1.x", "1.0.500", true),
            ("<1.2.x", "1.1.1", true),
            (">=1.1", "4.1.0", true),
            (">=1.1", "4.1.0-beta", false),
            (">=1.1", "1.1.0", true),
            (">=1.1", "0.0.9", false),
            ("<=1.1", "0.1.0", true),
            ("<=1.1", "0.1.0-alpha", false),
            ("<=1.1-a", "0.1.0-alpha", true),
            ("<=1.1", "1.1.0", true),
            ("<=1.x", "1.1.0", true),
            ("<=2.x", "3.0.0", false),
            ("<=1.1", "1.1.1", true),
            ("<=1.1.x", "1.2.500", false),
            ("<=4.5", "3.4.0", true),
            ("<=4.5", "3.7.0", true),
            ("<=4.5", "4.6.3", false),
            (">1.1, <2", "1.1.1", false),
            (">1.1, <2", "1.2.1", true),
            (">1.1, <3", "4.3.2", false),
            (">=1.1, <2, !=1.2.3", "1.2.3", false),
            (">1.1 <2", "1.1.1", false),
            (">1.1 <2", "1.2.1", true),
            (">1.1    <3", "4.3.2", false),
            (">=1.1    <2    !=1.2.3", "1.2.3", false),
            (">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1, <2, !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3", "1.2.3", false),
            (">=1.1 <2 !=1.2.3 || > 3", "4.1.2", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.1.2", false),
            (">=1.1 <2 !=1.2.3 || >= 3", "3.0.0", true),
            (">=1.1 <2 !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1 <2 !=1.2.3 || > 3", "1.2.3", false),
            ("> 1.1, <     2", "1.1.1", false),
            (">   1.1, <2", "1.2.1", true),
            (">1.1, <  3", "4.3.2", false),
            (">= 1.1, <     2, !=1.2.3", "1.2.3", false),
            ("> 1.1 < 2", "1.1.1", false),
            (">1.1 < 2", "1.2.1", true),
            ("> 1.1    <3", "4.3.2", false),
            (">=1.1    < 2    != 1.2.3", "1.2.3", false),
            (">= 1.1, <2, !=1.2.3 || > 3", "4.1.2", true),
            (">= 1.1, <2, != 1.2.3 || > 3", "3.1.2", false),
            (">= 1.1, <2, != 1.2.3 || >= 3", "3.0.0", true),
            (">= 1.1, <2, !=1.2.3 || > 3", "3.0.0", false),
            (">= 1.1, <2, !=1.2.3 || > 3", "1.2.3", false),
            (">= 1.1 <2 != 1.2.3", "1.2.3", false),
            (">= 1.1 <2 != 1.2.3 || > 3", "4.1.2", true),
            (">= 1.1 <2 != 1.2.3 || > 3", "3.1.2", false),
            (">= 1.1 <2 != 1.2.3 || >= 3", "3.0.0", true),
            (">= 1.1 < 2 !=1.2.3 || > 3", "3.0.0", false),
            (">=1.1 < 2 !=1.2.3 || > 3", "1.2.3", false),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1-beta", true),
            (">= 1.0.0  <= 2.0.0-beta", "1.0.1", true),
            (">= 1.0.0  <= 2.0.0-beta", "3.0.0", false),
            (">= 1.0.0  <= 2.0.0-beta || > 3", "1.0.1-beta", true),
            (">= 1.0.0  <= 2.0.0-beta || > 3", "3.0.1-beta", false),
            (
                ">= 1.0.0  <= 2.0.0-beta != 1.0.1 || > 3",
                "1.0.1-beta",
                true,
            ),
            (
                ">= 1.0.0  <= 2.0.0-beta != 1.0.1-beta || > 3",
                "1.0.1-beta",
                false,
            ),
            (">= 1.0.0-0  <= 2.0.0", "1.0.1-beta", true),
            ("1.1 - 2", "1.1.1", true),
            ("1.5.0 - 4.5", "3.7.0", true),
            ("1.1-3", "4.3.2", false),
            ("^1.1", "1.1.1", true),
            ("^1.1", "4.3.2", false),
            ("^1.x", "1.1.1", true),
            ("^2.x", "1.1.1", false),
            ("^1.x", "2.1.1", false),
            ("^1.x", "1.1.1-beta1", false),
            ("^1.1.2-alpha", "1.2.1-beta1", true),
            ("^1.2.x-alpha", "1.1.1-beta1", false),
            ("^0.0.1", "0.0.1", true),
            ("^0.0.1", "0.3.1", false),
            ("~*", "2.1.1", true),
            ("~1", "2.1.1", false),
            ("~1", "1.3.5", true),
            ("~1", "1.4", true),
            ("~1.x", "2.1.1", false),
            ("~1.x", "1.3.5", true),
            ("~1.x", "1.4", true),
            ("~1.1", "1.1.1", true),
            ("~1.1", "1.1.1-alpha", false),
            ("~1.1-alpha", "1.1.1-beta", true),
            ("~1.1.1-beta", "1.1.1-alpha", false),
            ("~1.1.1-beta", "1.1.1", true),
            ("~1.2.3", "1.2.5", true),
            ("~1.2.3", "1.2.2", false),
            ("~1.2.3", "1.3.2", false),
            ("~1.1", "1.2.3", false),
            ("~1.3", "2.4.5", false),
            ("1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true),
            ("1.0.0 - 2.0.0, <=2.0.0", "1.5.0", true),
        ] {
            let got = call("semverCompare", vec![s(c), s(v)]).unwrap();
            assert!(matches!(got, Value::Bool(b) if b == want), "{c} {v}");
        }
    }
}
