//! The projected token's lifetime, with the reference webhook's parsing rules
//! and error texts.

use std::fmt::Write as _;

use super::Denial;
use azure_wi_core::{ServiceAccountInfo, names};

/// Where an invalid token expiration was read from, so the denial can name
/// the annotation to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The pod's own annotation.
    Pod,
    /// The annotation on the pod's ServiceAccount.
    ServiceAccount {
        /// Namespace of the ServiceAccount.
        namespace: String,
        /// Name of the ServiceAccount.
        name: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pod => write!(f, "pod annotation {}", names::TOKEN_EXPIRATION_ANNOTATION),
            Self::ServiceAccount { namespace, name } => write!(
                f,
                "annotation {} on ServiceAccount {namespace}/{name}",
                names::TOKEN_EXPIRATION_ANNOTATION
            ),
        }
    }
}

/// Picks and validates the token lifetime in seconds.
///
/// The pod annotation wins over the ServiceAccount's; an empty value counts as
/// absent. Values are base-10 integers as Go's `strconv.ParseInt` reads them
/// (optional sign, digits only), and must lie in 3600..=86400.
pub(super) fn token_expiration(
    pod_value: Option<&str>,
    sa: &ServiceAccountInfo,
) -> Result<i64, Denial> {
    let (raw, origin) = match (
        pod_value.filter(|v| !v.is_empty()),
        sa.annotation(names::TOKEN_EXPIRATION_ANNOTATION)
            .filter(|v| !v.is_empty()),
    ) {
        (Some(v), _) => (v, Origin::Pod),
        (None, Some(v)) => (
            v,
            Origin::ServiceAccount {
                namespace: sa.namespace().to_owned(),
                name: sa.name().to_owned(),
            },
        ),
        (None, None) => return Ok(names::DEFAULT_TOKEN_EXPIRATION_SECONDS),
    };
    let seconds = go_parse_int(raw, 64).map_err(|message| Denial::InvalidTokenExpiration {
        message,
        origin: origin.clone(),
    })?;
    if !(names::MIN_TOKEN_EXPIRATION_SECONDS..=names::MAX_TOKEN_EXPIRATION_SECONDS)
        .contains(&seconds)
    {
        return Err(Denial::InvalidTokenExpiration {
            message: format!(
                "token expiration {seconds} not valid. Expected value to be between {} and {}",
                names::MIN_TOKEN_EXPIRATION_SECONDS,
                names::MAX_TOKEN_EXPIRATION_SECONDS
            ),
            origin,
        });
    }
    Ok(seconds)
}

/// `strconv.ParseInt(s, 10, bits)`, with Go's error text on failure.
pub(super) fn go_parse_int(s: &str, bits: u32) -> Result<i64, String> {
    // Rust's i64 parser accepts exactly Go's base-10 syntax: an optional sign
    // followed by ASCII digits, no underscores, no surrounding spaces.
    let fail = |reason: &str| format!("strconv.ParseInt: parsing {}: {reason}", go_quote(s));
    let value = s.parse::<i64>().map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            fail("value out of range")
        }
        _ => fail("invalid syntax"),
    })?;
    if (1..64).contains(&bits) {
        let limit = 1i64 << (bits - 1);
        if !(-limit..limit).contains(&value) {
            return Err(fail("value out of range"));
        }
    }
    Ok(value)
}

/// Quotes `s` as Go's `strconv.Quote` does, so messages match byte for byte
/// for the inputs people actually type.
///
/// Non-ASCII characters are kept when printable; control, format and
/// separator characters are escaped (`\u00a0`), which is how Go treats the
/// common cases.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_go_printable(c: char) -> bool {
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(expiration: Option<&str>) -> ServiceAccountInfo {
        ServiceAccountInfo::new(
            "team",
            "app",
            expiration.map(|v| (names::TOKEN_EXPIRATION_ANNOTATION.to_owned(), v.to_owned())),
        )
    }

    fn message(result: Result<i64, Denial>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn default_pod_and_service_account_precedence() {
        assert_eq!(token_expiration(None, &sa(None)), Ok(3600));
        assert_eq!(token_expiration(None, &sa(Some("7200"))), Ok(7200));
        assert_eq!(
            token_expiration(Some("86400"), &sa(Some("7200"))),
            Ok(86400)
        );
        // An empty pod value counts as absent, and so does an empty SA value.
        assert_eq!(token_expiration(Some(""), &sa(Some("5000"))), Ok(5000));
        assert_eq!(token_expiration(Some(""), &sa(Some(""))), Ok(3600));
        assert_eq!(token_expiration(Some("+4000"), &sa(None)), Ok(4000));
    }

    #[test]
    fn syntax_errors_use_go_text_and_name_the_annotation() {
        let m = message(token_expiration(Some("3600s"), &sa(None)));
        assert!(
            m.starts_with(r#"strconv.ParseInt: parsing "3600s": invalid syntax"#),
            "{m}"
        );
        assert!(
            m.contains("pod annotation azure.workload.identity/service-account-token-expiration"),
            "{m}"
        );

        let m = message(token_expiration(None, &sa(Some(" 3600"))));
        assert!(
            m.starts_with(r#"strconv.ParseInt: parsing " 3600": invalid syntax"#),
            "{m}"
        );
        assert!(m.contains("on ServiceAccount team/app"), "{m}");

        for bad in ["1_000", "0x10", "3.6e3", "+", "-", "١٢٣"] {
            let m = message(token_expiration(Some(bad), &sa(None)));
            assert!(
                m.ends_with(&format!(
                    ": invalid syntax (pod annotation {})",
                    names::TOKEN_EXPIRATION_ANNOTATION
                )),
                "{bad}: {m}"
            );
        }
    }

    #[test]
    fn overflow_is_out_of_range() {
        let m = message(token_expiration(Some("99999999999999999999"), &sa(None)));
        assert!(
            m.starts_with(
                r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
            ),
            "{m}"
        );
    }

    #[test]
    fn range_is_inclusive_with_reference_text() {
        assert_eq!(token_expiration(Some("3600"), &sa(None)), Ok(3600));
        assert_eq!(token_expiration(Some("86400"), &sa(None)), Ok(86400));
        let m = message(token_expiration(Some("3599"), &sa(None)));
        assert!(
            m.starts_with(
                "token expiration 3599 not valid. Expected value to be between 3600 and 86400"
            ),
            "{m}"
        );
        let m = message(token_expiration(None, &sa(Some("86401"))));
        assert!(m.starts_with("token expiration 86401 not valid."), "{m}");
        let m = message(token_expiration(Some("-1"), &sa(None)));
        assert!(m.starts_with("token expiration -1 not valid."), "{m}");
    }

    #[test]
    fn quoting_matches_go_for_common_inputs() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("1\n2\t"), r#""1\n2\t""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("\u{7f}"), r#""\x7f""#);
        assert_eq!(go_quote("é1"), "\"é1\"");
        assert_eq!(go_quote("\u{a0}"), r#""\u00a0""#);
        assert_eq!(go_quote("\u{feff}"), r#""\ufeff""#);
    }
}
