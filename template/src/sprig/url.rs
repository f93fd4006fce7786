//! Sprig's URL functions as ESO ships them
//! (`runtime/template/v2/sprig/url.go`): `urlParse` gives a map with
//! Go's `url.URL` fields (`scheme`, `host`, `hostname`, `path`, `query`,
//! `opaque`, `fragment`, `userinfo`); `urlJoin` builds a URL from such a
//! map with `URL.String`.
//!
//! Go's `net/url` is written again here (the `url` crate follows the
//! WHATWG standard, which reads many strings differently, and refuses
//! relative references Go takes as a path). Hosts follow Go 1.26: a
//! bracketed host must be an IPv6 address and start the host; an `http`
//! or `https` host has one colon at most, the one before its port.
//!
//! Both functions panic in Go on what they cannot read, which
//! `text/template` reports as the call's error. Go's texts quote the URL
//! or the part that is wrong; a URL often carries a password, so the
//! texts here name what is wrong without the value (`unable to parse url:
//! parse: invalid port after host`).

use std::collections::BTreeMap;

use super::strings::str_arg;
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("urlParse", &[Param::Str], None, url_parse);
    r.add("urlJoin", &[Param::Map], None, url_join);
}

fn url_parse(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let url = parse(str_arg(&args, 0)?)
        .map_err(|why| FuncError::new(format!("unable to parse url: parse: {why}")))?;
    let userinfo = url
        .user
        .as_ref()
        .map(Userinfo::to_bytes)
        .unwrap_or_default();
    let fields: [(&str, Vec<u8>); 8] = [
        ("scheme", url.scheme.clone()),
        ("host", url.host.clone()),
        ("hostname", hostname(&url.host).to_vec()),
        ("path", url.path.clone()),
        ("query", url.raw_query.clone()),
        ("opaque", url.opaque.clone()),
        ("fragment", url.fragment.clone()),
        ("userinfo", userinfo),
    ];
    Ok(Value::map(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::str(v)))
            .collect(),
    ))
}

/// Sprig's `dictGetOrEmpty`: the string at `key`, empty when absent; any
/// other kind is refused with Sprig's panic text.
fn dict_get_or_empty(dict: &BTreeMap<String, Value>, key: &str) -> Result<Vec<u8>, FuncError> {
    match dict.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Str(s)) => Ok(s.as_bytes().to_vec()),
        // `reflect.TypeOf(nil).Kind()` dereferences a nil type.
        Some(Value::Nil) => Err(FuncError::new(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        Some(other) => Err(FuncError::new(format!(
            "unable to parse {key} key, must be of type string, but {} found",
            other.kind_name()
        ))),
    }
}

fn url_join(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let Some(Value::Map(dict)) = args.first() else {
        return Err(FuncError::new(
            "internal error: argument 1 is not the declared map",
        ));
    };
    let mut url = GoUrl {
        scheme: dict_get_or_empty(dict, "scheme")?,
        host: dict_get_or_empty(dict, "host")?,
        path: dict_get_or_empty(dict, "path")?,
        raw_query: dict_get_or_empty(dict, "query")?,
        opaque: dict_get_or_empty(dict, "opaque")?,
        fragment: dict_get_or_empty(dict, "fragment")?,
        ..GoUrl::default()
    };
    let userinfo = dict_get_or_empty(dict, "userinfo")?;
    if !userinfo.is_empty() {
        // Sprig reads the userinfo back through a URL of its own.
        let probe = [b"proto://".as_slice(), &userinfo, b"@host"].concat();
        let parsed = parse(&probe).map_err(|why| {
            FuncError::new(format!("unable to parse userinfo in dict: parse: {why}"))
        })?;
        url.user = parsed.user;
    }
    Ok(Value::str(url.to_bytes()))
}

/// `url.Userinfo`: a username and maybe a password, decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Userinfo {
    username: Vec<u8>,
    password: Option<Vec<u8>>,
}

impl Userinfo {
    /// `Userinfo.String`: `username[:password]`, escaped.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = escape(&self.username, Mode::UserPassword);
        if let Some(password) = &self.password {
            out.push(b':');
            out.extend(escape(password, Mode::UserPassword));
        }
        out
    }
}

/// `url.URL`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct GoUrl {
    scheme: Vec<u8>,
    opaque: Vec<u8>,
    user: Option<Userinfo>,
    host: Vec<u8>,
    path: Vec<u8>,
    raw_path: Vec<u8>,
    omit_host: bool,
    force_query: bool,
    raw_query: Vec<u8>,
    fragment: Vec<u8>,
    raw_fragment: Vec<u8>,
}

/// The part of a URL being escaped or unescaped (Go's `encoding`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape`.
fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => return false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => return c == b'?',
            Mode::UserPassword => return matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => return false,
            Mode::Host | Mode::Zone => {}
        },
        _ => {}
    }
    if mode == Mode::Fragment && matches!(c, b'!' | b'(' | b')' | b'*') {
        return false;
    }
    true
}

/// Go's `escape`: `%XX` for what `should_escape` names.
fn escape(s: &[u8], mode: Mode) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        if should_escape(c, mode) {
            out.push(b'%');
            out.push(HEX.get(usize::from(c >> 4)).copied().unwrap_or(b'0'));
            out.push(HEX.get(usize::from(c & 15)).copied().unwrap_or(b'0'));
        } else {
            out.push(c);
        }
    }
    out
}

fn unhex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Go's `unescape`: `%XX` decoded, with its checks (a host escapes only
/// non-ASCII bytes and `%25`, and holds no character that needs escaping).
fn unescape(s: &[u8], mode: Mode) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'%' {
            let (Some(hi), Some(lo)) = (
                s.get(i + 1).copied().and_then(unhex),
                s.get(i + 2).copied().and_then(unhex),
            ) else {
                return Err("invalid URL escape");
            };
            let is_25 = s.get(i..i + 3) == Some(b"%25".as_slice());
            let v = (hi << 4) | lo;
            if mode == Mode::Host && hi < 8 && !is_25 {
                return Err("invalid URL escape");
            }
            if mode == Mode::Zone && !is_25 && v != b' ' && should_escape(v, Mode::Host) {
                return Err("invalid URL escape");
            }
            out.push(v);
            i += 3;
            continue;
        }
        if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
            return Err("invalid character in host name");
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

/// `strings.Cut` on a byte.
fn cut(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == sep) {
        Some(i) => (
            s.get(..i).unwrap_or_default(),
            Some(s.get(i + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    }
}

/// `url.Parse`: the URL, or why not.
fn parse(raw: &[u8]) -> Result<GoUrl, &'static str> {
    let (rest, fragment) = cut(raw, b'#');
    let mut url = parse_reference(rest)?;
    if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
        url.fragment = unescape(fragment, Mode::Fragment)?;
        url.raw_fragment = if escape(&url.fragment, Mode::Fragment) == fragment {
            Vec::new()
        } else {
            fragment.to_vec()
        };
    }
    Ok(url)
}

/// Go's `parse` (not via a request): all but the fragment.
fn parse_reference(raw: &[u8]) -> Result<GoUrl, &'static str> {
    if raw.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err("net/url: invalid control character in URL");
    }
    let mut url = GoUrl::default();
    if raw == b"*" {
        url.path = b"*".to_vec();
        return Ok(url);
    }
    let (scheme, rest) = split_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with(b"?") && rest.iter().filter(|&&b| b == b'?').count() == 1 {
        url.force_query = true;
        rest = rest.get(..rest.len() - 1).unwrap_or_default();
    } else {
        let (before, query) = cut(rest, b'?');
        rest = before;
        url.raw_query = query.unwrap_or_default().to_vec();
    }
    if !rest.starts_with(b"/") {
        if !url.scheme.is_empty() {
            // A rootless path after a scheme is opaque.
            url.opaque = rest.to_vec();
            return Ok(url);
        }
        let (segment, _) = cut(rest, b'/');
        if segment.contains(&b':') {
            return Err("first path segment in URL cannot contain colon");
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with(b"///")) && rest.starts_with(b"//") {
        let after = rest.get(2..).unwrap_or_default();
        let (authority, path) = match after.iter().position(|&b| b == b'/') {
            Some(i) => after.split_at(i),
            None => (after, &[][..]),
        };
        let (user, host) = parse_authority(&url.scheme, authority)?;
        url.user = user;
        url.host = host;
        rest = path;
    } else if !url.scheme.is_empty() && rest.starts_with(b"/") {
        url.omit_host = true;
    }
    url.path = unescape(rest, Mode::Path)?;
    url.raw_path = if escape(&url.path, Mode::Path) == rest {
        Vec::new()
    } else {
        rest.to_vec()
    };
    Ok(url)
}

/// Go's `getScheme`: a scheme is a letter then letters, digits, `+`, `-`
/// or `.`, ended by `:`.
fn split_scheme(raw: &[u8]) -> Result<(&[u8], &[u8]), &'static str> {
    for (i, &c) in raw.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme"),
            b':' => {
                return Ok((
                    raw.get(..i).unwrap_or_default(),
                    raw.get(i + 1..).unwrap_or_default(),
                ));
            }
            _ => return Ok((&[], raw)),
        }
    }
    Ok((&[], raw))
}

/// Go's `parseAuthority`: the userinfo before the last `@`, the host after.
fn parse_authority(
    scheme: &[u8],
    authority: &[u8],
) -> Result<(Option<Userinfo>, Vec<u8>), &'static str> {
    let at = authority.iter().rposition(|&b| b == b'@');
    let host_part = match at {
        Some(i) => authority.get(i + 1..).unwrap_or_default(),
        None => authority,
    };
    let host = parse_host(scheme, host_part)?;
    let Some(i) = at else {
        return Ok((None, host));
    };
    let userinfo = authority.get(..i).unwrap_or_default();
    let valid = userinfo
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&b));
    if !valid {
        return Err("net/url: invalid userinfo");
    }
    let user = match cut(userinfo, b':') {
        (name, None) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: None,
        },
        (name, Some(password)) => Userinfo {
            username: unescape(name, Mode::UserPassword)?,
            password: Some(unescape(password, Mode::UserPassword)?),
        },
    };
    Ok((Some(user), host))
}

/// Go's `validOptionalPort`: nothing, or `:` and digits.
fn valid_optional_port(port: &[u8]) -> bool {
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// Go's `parseHost`: `host[:port]`, unescaped.
fn parse_host(scheme: &[u8], host: &[u8]) -> Result<Vec<u8>, &'static str> {
    match host.iter().rposition(|&b| b == b'[') {
        Some(open) if open > 0 => return Err("invalid IP-literal"),
        Some(_) => {
            let Some(close) = host.iter().rposition(|&b| b == b']') else {
                return Err("missing ']' in host");
            };
            let colon_port = host.get(close + 1..).unwrap_or_default();
            if !valid_optional_port(colon_port) {
                return Err("invalid port after host");
            }
            let port = unescape(colon_port, Mode::Host)?;
            let name = host.get(1..close).unwrap_or_default();
            let name = match name.windows(3).position(|w| w == b"%25") {
                Some(zone) => {
                    let (addr, zone) = name.split_at(zone);
                    [unescape(addr, Mode::Host)?, unescape(zone, Mode::Zone)?].concat()
                }
                None => unescape(name, Mode::Host)?,
            };
            check_ipv6_literal(&name)?;
            return Ok([b"[".as_slice(), &name, b"]", &port].concat());
        }
        None => {}
    }
    if let Some(first) = host.iter().position(|&b| b == b':') {
        let last = host.iter().rposition(|&b| b == b':').unwrap_or(first);
        // Only http and https are held to one colon: databases list
        // several host:port pairs in one host.
        let colon = if last != first && scheme != b"http" && scheme != b"https" {
            last
        } else {
            first
        };
        if !valid_optional_port(host.get(colon..).unwrap_or_default()) {
            return Err("invalid port after host");
        }
    }
    unescape(host, Mode::Host)
}

/// What brackets may hold (Go checks it with `netip.ParseAddr`): an IPv6
/// address, maybe with a non-empty zone; not an IPv4 one.
fn check_ipv6_literal(name: &[u8]) -> Result<(), &'static str> {
    let Ok(text) = std::str::from_utf8(name) else {
        return Err("invalid host");
    };
    match text
        .find(['.', ':', '%'])
        .and_then(|i| text.as_bytes().get(i))
    {
        Some(b'.') => match text.parse::<std::net::Ipv4Addr>() {
            Ok(_) => Err("invalid IP-literal"),
            Err(_) => Err("invalid host"),
        },
        Some(b':') => {
            let (addr, zone) = match text.split_once('%') {
                Some((addr, zone)) => (addr, Some(zone)),
                None => (text, None),
            };
            if zone == Some("") || addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err("invalid host");
            }
            Ok(())
        }
        _ => Err("invalid host"),
    }
}

/// `URL.Hostname`: the host without a valid port and without brackets.
fn hostname(host: &[u8]) -> &[u8] {
    let mut name = host;
    if let Some(colon) = host.iter().rposition(|&b| b == b':')
        && valid_optional_port(host.get(colon..).unwrap_or_default())
    {
        name = host.get(..colon).unwrap_or_default();
    }
    match name.strip_prefix(b"[").and_then(|n| n.strip_suffix(b"]")) {
        Some(inner) => inner,
        None => name,
    }
}

impl GoUrl {
    /// `URL.EscapedPath`.
    fn escaped_path(&self) -> Vec<u8> {
        if !self.raw_path.is_empty()
            && valid_encoded(&self.raw_path, Mode::Path)
            && unescape(&self.raw_path, Mode::Path).as_deref() == Ok(self.path.as_slice())
        {
            return self.raw_path.clone();
        }
        if self.path == b"*" {
            return b"*".to_vec();
        }
        escape(&self.path, Mode::Path)
    }

    /// `URL.EscapedFragment`.
    fn escaped_fragment(&self) -> Vec<u8> {
        if !self.raw_fragment.is_empty()
            && valid_encoded(&self.raw_fragment, Mode::Fragment)
            && unescape(&self.raw_fragment, Mode::Fragment).as_deref()
                == Ok(self.fragment.as_slice())
        {
            return self.raw_fragment.clone();
        }
        escape(&self.fragment, Mode::Fragment)
    }

    /// `URL.String`: `scheme:opaque?query#fragment` or
    /// `scheme://userinfo@host/path?query#fragment`, parts left out when
    /// empty.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if !self.scheme.is_empty() {
            out.extend_from_slice(&self.scheme);
            out.push(b':');
        }
        if !self.opaque.is_empty() {
            out.extend_from_slice(&self.opaque);
        } else {
            let authority = !self.scheme.is_empty() || !self.host.is_empty() || self.user.is_some();
            // Go omits an empty host the parsed URL had none of (`a:/b`).
            let omitted = self.omit_host && self.host.is_empty() && self.user.is_none();
            if authority && !omitted {
                if !self.host.is_empty() || !self.path.is_empty() || self.user.is_some() {
                    out.extend_from_slice(b"//");
                }
                if let Some(user) = &self.user {
                    out.extend(user.to_bytes());
                    out.push(b'@');
                }
                out.extend(escape(&self.host, Mode::Host));
            }
            let path = self.escaped_path();
            if !path.is_empty() && path.first() != Some(&b'/') && !self.host.is_empty() {
                out.push(b'/');
            }
            if out.is_empty() {
                // A first segment with a colon would read as a scheme.
                let (segment, _) = cut(&path, b'/');
                if segment.contains(&b':') {
                    out.extend_from_slice(b"./");
                }
            }
            out.extend(path);
        }
        if self.force_query || !self.raw_query.is_empty() {
            out.push(b'?');
            out.extend_from_slice(&self.raw_query);
        }
        if !self.fragment.is_empty() {
            out.push(b'#');
            out.extend(self.escaped_fragment());
        }
        out
    }
}

/// Go's `validEncoded`: nothing that would need escaping.
fn valid_encoded(s: &[u8], mode: Mode) -> bool {
    s.iter()
        .all(|&c| b"!$&'()*+,;=:@[]%".contains(&c) || !should_escape(c, mode))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::super::strings::test_support::{bytes, err, i, s};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        super::super::strings::test_support::call(register, name, args)
    }

    fn parsed(url: &str) -> BTreeMap<String, String> {
        match call("urlParse", vec![s(url)]) {
            Ok(Value::Map(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), String::from_utf8(bytes(Ok(v.clone()))).unwrap()))
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    fn dict(pairs: &[(&str, Value)]) -> Value {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn joined(pairs: &[(&str, &str)]) -> String {
        let d = dict(&pairs.iter().map(|(k, v)| (*k, s(v))).collect::<Vec<_>>());
        String::from_utf8(bytes(call("urlJoin", vec![d]))).unwrap()
    }

    /// Masterminds/sprig url_test.go: urlTests (URL, then scheme, host,
    /// hostname, path, query, opaque, fragment, userinfo).
    const URL_TESTS: [(&str, [&str; 8]); 5] = [
        (
            "proto://auth@host:80/path?query#fragment",
            [
                "proto", "host:80", "host", "/path", "query", "", "fragment", "auth",
            ],
        ),
        (
            "proto://host:80/path",
            ["proto", "host:80", "host", "/path", "", "", "", ""],
        ),
        ("something", ["", "", "", "something", "", "", "", ""]),
        (
            "proto://user:passwor%20d@host:80/path",
            [
                "proto",
                "host:80",
                "host",
                "/path",
                "",
                "",
                "",
                "user:passwor%20d",
            ],
        ),
        (
            "proto://host:80/pa%20th?key=val%20ue",
            [
                "proto",
                "host:80",
                "host",
                "/pa th",
                "key=val%20ue",
                "",
                "",
                "",
            ],
        ),
    ];

    const KEYS: [&str; 8] = [
        "scheme", "host", "hostname", "path", "query", "opaque", "fragment", "userinfo",
    ];

    // url_test.go: TestUrlParse.
    #[test]
    fn url_parse() {
        assert_eq!(
            parsed("proto://auth@host:80/path?query#fragment")["host"],
            "host:80"
        );
        for (url, want) in URL_TESTS {
            let got = parsed(url);
            assert_eq!(got.len(), 8, "{url}");
            for (key, value) in KEYS.iter().zip(want) {
                assert_eq!(got[*key], value, "{url} {key}");
            }
        }
    }

    // url_test.go: TestUrlJoin.
    #[test]
    fn url_join() {
        assert_eq!(
            joined(&[
                ("fragment", "fragment"),
                ("host", "host:80"),
                ("path", "/path"),
                ("query", "query"),
                ("scheme", "proto"),
            ]),
            "proto://host:80/path?query#fragment"
        );
        assert_eq!(
            joined(&[
                ("fragment", "fragment"),
                ("host", "host:80"),
                ("path", "/path"),
                ("scheme", "proto"),
                ("userinfo", "ASDJKJSD"),
            ]),
            "proto://ASDJKJSD@host:80/path#fragment"
        );
        for (url, fields) in URL_TESTS {
            let pairs: Vec<(&str, &str)> = KEYS.iter().copied().zip(fields).collect();
            assert_eq!(joined(&pairs), url);
        }
    }

    // Sprig's dictGetOrEmpty panics on a key that is not a string.
    #[test]
    fn url_join_refuses_other_kinds() {
        let d = dict(&[("scheme", s("http")), ("host", i(80))]);
        assert_eq!(
            err(call("urlJoin", vec![d])).0,
            "unable to parse host key, must be of type string, but int found"
        );
        let d = dict(&[("path", Value::Nil)]);
        assert_eq!(
            err(call("urlJoin", vec![d])).0,
            "runtime error: invalid memory address or nil pointer dereference"
        );
    }

    // Go's net/url on what ESO templates hold (go1.19 for all but the
    // host rules, which are Go 1.26's).
    #[test]
    fn go_parse() {
        let url = parsed("postgres://user:p@ss@db.host:5432/dbname?sslmode=require");
        assert_eq!(url["userinfo"], "user:p%40ss");
        assert_eq!(url["hostname"], "db.host");
        assert_eq!(url["query"], "sslmode=require");
        let url = parsed("HTTP://[fe80::1%25en0]:8080/a%2Fb#x%20y");
        assert_eq!(url["scheme"], "http");
        assert_eq!(url["host"], "[fe80::1%en0]:8080");
        assert_eq!(url["hostname"], "fe80::1%en0");
        assert_eq!(url["path"], "/a/b");
        assert_eq!(url["fragment"], "x y");
        assert_eq!(
            parsed("mailto:someone@example.com")["opaque"],
            "someone@example.com"
        );
        // Several host:port pairs stay one host outside http and https.
        assert_eq!(parsed("mongodb://h:1,h2:2/db")["host"], "h:1,h2:2");
        // What URL.String writes back.
        assert_eq!(
            joined(&[("scheme", "http"), ("host", "h"), ("path", "a b")]),
            "http://h/a%20b"
        );
        assert_eq!(joined(&[("path", "x:y")]), "./x:y");
        assert_eq!(
            joined(&[("scheme", "http"), ("userinfo", "u:p@ss")]),
            "http://u:p%40ss@"
        );
    }

    // Go's reasons, without the URL or the part of it Go quotes.
    #[test]
    fn go_errors_without_the_value() {
        for (url, why) in [
            ("1a:b/x", "first path segment in URL cannot contain colon"),
            (":foo", "missing protocol scheme"),
            ("http://[::1", "missing ']' in host"),
            ("http://user:pa/ss@host", "invalid port after host"),
            ("http://ho st/", "invalid character in host name"),
            ("http://host/%zz", "invalid URL escape"),
            ("https://ü@example.com/", "net/url: invalid userinfo"),
            (
                "http://host/\t",
                "net/url: invalid control character in URL",
            ),
            // Go 1.26: one colon in an http host; brackets for IPv6 only,
            // at the start of the host.
            ("http://host:80:90/", "invalid port after host"),
            ("http://::1/", "invalid port after host"),
            ("http://a[::1]/", "invalid IP-literal"),
            ("http://[1.2.3.4]/", "invalid IP-literal"),
            ("http://[v1.x]/", "invalid host"),
        ] {
            assert_eq!(
                err(call("urlParse", vec![s(url)])).0,
                format!("unable to parse url: parse: {why}"),
                "{url}"
            );
        }
        let d = dict(&[("userinfo", s("%zz"))]);
        assert_eq!(
            err(call("urlJoin", vec![d])).0,
            "unable to parse userinfo in dict: parse: invalid URL escape"
        );
    }
}
