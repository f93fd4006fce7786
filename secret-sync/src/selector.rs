//! Label selectors as apimachinery parses and matches them
//! (`metav1.LabelSelectorAsSelector`, `labels.NewRequirement`, with their
//! error texts): a ClusterExternalSecret's namespace selectors, a
//! PushSecret's source and store selectors. Pure.

use std::{collections::BTreeMap, fmt};

use crate::api::LabelSelector;

/// A field of the spec that cannot be served: which, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The field's path (`spec.namespaceSelectors[1].matchExpressions[0]`).
    pub field: String,
    /// apimachinery's text, or what is wrong with a duration.
    pub reason: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for SpecError {}

/// One parsed label requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Self::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Self::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Self::Exists(k) => labels.contains_key(k),
            Self::DoesNotExist(k) => !labels.contains_key(k),
        }
    }
}

/// Go's `%#v` of a `[]string` as apimachinery's field error prints it.
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_owned();
    }
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// apimachinery's `qualifiedNameFmt` and the texts built on it
/// (k8s.io/apimachinery `pkg/util/validation/validation.go`).
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// apimachinery's `RegexError`: the message, examples and pattern.
fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    let quoted: Vec<String> = examples.iter().map(|e| format!("'{e}', ")).collect();
    format!(
        "{msg} (e.g. {}regex used for validation is '{fmt}')",
        quoted.join(" or ")
    )
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, whole.
fn is_qualified_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    matches!((bytes.first(), bytes.last()), (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
        && bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// apimachinery's `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        matches!((b.first(), b.last()), (Some(x), Some(y)) if x.is_ascii_alphanumeric() && y.is_ascii_alphanumeric())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    };
    if !s.split('.').all(label_ok) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// apimachinery's `IsQualifiedName`: a label key.
fn qualified_name_errors(key: &str) -> Vec<String> {
    let name_regex_error = || {
        regex_error(
            QUALIFIED_NAME_MSG,
            QUALIFIED_NAME_FMT,
            &["MyName", "my.name", "123-abc"],
        )
    };
    let parts: Vec<&str> = key.split('/').collect();
    let mut errs = Vec::new();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|e| format!("prefix part {e}")),
                );
            }
            *name
        }
        _ => {
            return vec![format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                name_regex_error()
            )];
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > 63 {
        errs.push("name part must be no more than 63 characters".to_owned());
    }
    if !is_qualified_part(name) {
        errs.push(format!("name part {}", name_regex_error()));
    }
    errs
}

/// apimachinery's `IsValidLabelValue`.
fn label_value_errors(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    if !value.is_empty() && !is_qualified_part(value) {
        errs.push(regex_error(
            LABEL_VALUE_MSG,
            &format!("({QUALIFIED_NAME_FMT})?"),
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// The operators of a requirement, as apimachinery's `selection` has them.
#[derive(Clone, Copy)]
enum Op {
    Equals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// apimachinery's `labels.NewRequirement`: the key, the number of values
/// for the operator and each value checked, every error kept
/// (`field.Invalid` texts, aggregated as `[a, b]` when more than one).
fn requirement(key: &str, op: Op, values: &[String]) -> Result<Requirement, String> {
    let mut errs = Vec::new();
    let key_errs = qualified_name_errors(key);
    if !key_errs.is_empty() {
        errs.push(format!(
            "key: Invalid value: {key:?}: {}",
            key_errs.join("; ")
        ));
    }
    let values_invalid = |detail: &str| {
        format!(
            "values: Invalid value: {}: {detail}",
            go_string_slice(values)
        )
    };
    match op {
        Op::In | Op::NotIn if values.is_empty() => {
            errs.push(values_invalid(
                "for 'in', 'notin' operators, values set can't be empty",
            ));
        }
        Op::Equals if values.len() != 1 => {
            errs.push(values_invalid(
                "exact-match compatibility requires one single value",
            ));
        }
        Op::Exists | Op::DoesNotExist if !values.is_empty() => {
            errs.push(values_invalid(
                "values set must be empty for exists and does not exist",
            ));
        }
        _ => {}
    }
    for (i, value) in values.iter().enumerate() {
        let value_errs = label_value_errors(value);
        if !value_errs.is_empty() {
            errs.push(format!(
                "values[{i}][{key}]: Invalid value: {value:?}: {}",
                value_errs.join("; ")
            ));
        }
    }
    match errs.len() {
        0 => Ok(match op {
            Op::Equals | Op::In => Requirement::In(key.to_owned(), values.to_vec()),
            Op::NotIn => Requirement::NotIn(key.to_owned(), values.to_vec()),
            Op::Exists => Requirement::Exists(key.to_owned()),
            Op::DoesNotExist => Requirement::DoesNotExist(key.to_owned()),
        }),
        1 => Err(errs.concat()),
        _ => Err(format!("[{}]", errs.join(", "))),
    }
}

/// A selector as apimachinery's `LabelSelectorAsSelector` parses it
/// (`matchLabels` as equality, then each `matchExpressions` operator as
/// its requirement); `at` names the field for the error.
fn parse_selector(selector: &LabelSelector, at: &str) -> Result<Vec<Requirement>, SpecError> {
    let mut out = Vec::new();
    for (key, value) in &selector.match_labels {
        let parsed =
            requirement(key, Op::Equals, std::slice::from_ref(value)).map_err(|reason| {
                SpecError {
                    field: format!("{at}.matchLabels"),
                    reason,
                }
            })?;
        out.push(parsed);
    }
    for (i, e) in selector.match_expressions.iter().enumerate() {
        let err = |reason: String| SpecError {
            field: format!("{at}.matchExpressions[{i}]"),
            reason,
        };
        let op = match e.operator.as_str() {
            "In" => Op::In,
            "NotIn" => Op::NotIn,
            "Exists" => Op::Exists,
            "DoesNotExist" => Op::DoesNotExist,
            other => {
                return Err(err(format!(
                    "{other:?} is not a valid label selector operator"
                )));
            }
        };
        out.push(requirement(&e.key, op, &e.values).map_err(err)?);
    }
    Ok(out)
}

/// A parsed selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelQuery(Vec<Requirement>);

impl LabelQuery {
    /// `selector` parsed; `at` names its field for the error.
    ///
    /// # Errors
    ///
    /// apimachinery's text, with the field (`at.matchExpressions[0]`).
    pub fn parse(selector: &LabelSelector, at: &str) -> Result<Self, SpecError> {
        parse_selector(selector, at).map(Self)
    }

    /// Whether `labels` satisfy every requirement (an empty selector
    /// matches everything, as apimachinery's does).
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }

    /// The selector in the API server's `labelSelector` syntax, for a list
    /// call (keys and values are checked, so nothing needs quoting).
    #[must_use]
    pub fn query(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| match r {
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::DoesNotExist(k) => format!("!{k}"),
            })
            .collect();
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::LabelSelectorRequirement;

    #[test]
    fn a_query_selects_what_matches_selects() {
        let selector = LabelSelector {
            match_labels: [("team".to_owned(), "a".to_owned())].into(),
            match_expressions: vec![
                LabelSelectorRequirement {
                    key: "tier".to_owned(),
                    operator: "NotIn".to_owned(),
                    values: vec!["db".to_owned(), "cache".to_owned()],
                },
                LabelSelectorRequirement {
                    key: "push".to_owned(),
                    operator: "Exists".to_owned(),
                    values: vec![],
                },
                LabelSelectorRequirement {
                    key: "old".to_owned(),
                    operator: "DoesNotExist".to_owned(),
                    values: vec![],
                },
            ],
        };
        let query = LabelQuery::parse(&selector, "spec.selector").unwrap();
        assert_eq!(query.query(), "team in (a),tier notin (db,cache),push,!old");
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(query.matches(&labels(&[("team", "a"), ("push", "")])));
        assert!(!query.matches(&labels(&[("team", "a"), ("push", ""), ("tier", "db")])));
        assert!(!query.matches(&labels(&[("team", "a")])));
        assert!(!query.matches(&labels(&[("team", "a"), ("push", ""), ("old", "1")])));
        let empty = LabelQuery::parse(&LabelSelector::default(), "x").unwrap();
        assert!(empty.matches(&labels(&[])));
        assert_eq!(empty.query(), "");
    }
}
