//! The naming rules a serving certificate request is checked against.
//!
//! A certificate for a name no client can dial is useless, and rcgen accepts
//! nearly any string, so the request is checked against the same rules
//! Kubernetes applies to the objects the names come from.

use crate::{Error, Result};

/// Which Kubernetes naming rule a label follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rules {
    /// RFC 1035 label, as for Service names: must start with a letter.
    Rfc1035,
    /// RFC 1123 label, as for namespace names: may start with a digit.
    Rfc1123,
}

/// Check one lowercase label (a Service or namespace name).
pub(super) fn check_label(what: &'static str, value: &str, rules: Rules) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidName {
            what,
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return fail("must not be empty");
    }
    if value.len() > 63 {
        return fail("must be at most 63 characters");
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return fail("may contain only lowercase letters, digits and '-'");
    }
    if rules == Rules::Rfc1035 && !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return fail("must start with a lowercase letter");
    }
    if value.starts_with('-') || value.ends_with('-') {
        return fail("must start and end with a letter or digit");
    }
    Ok(())
}

/// Check an extra DNS name: dot-separated labels of letters, digits and
/// `-`, an optional leading `*.` wildcard, at most 253 characters.
pub(super) fn check_dns_name(value: &str) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidName {
            what: "DNS name",
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return fail("must not be empty");
    }
    if value.len() > 253 {
        return fail("must be at most 253 characters");
    }
    let rest = value.strip_prefix("*.").unwrap_or(value);
    for label in rest.split('.') {
        if label.is_empty() {
            return fail("has an empty label");
        }
        if label.len() > 63 {
            return fail("has a label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return fail("may contain only letters, digits, '-', dots and a leading '*.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail("has a label starting or ending with '-'");
        }
    }
    Ok(())
}
