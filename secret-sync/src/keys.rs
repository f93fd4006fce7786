//! The keys of a `dataFrom` entry, made as ESO makes them
//! (external-secrets/external-secrets `runtime/esutils/utils.go`:
//! `RewriteMap`, `RewriteRegexp`, `RewriteTransform`, `RewriteMerge`,
//! `ConvertKeys`, `ValidateKeys`; the order is
//! `pkg/controllers/externalsecret/externalsecret_controller_secret.go`'s):
//! the `rewrite` operations in order, or, when there are none, the
//! `conversionStrategy`; then every key checked. Pure.

use std::{collections::BTreeMap, sync::Arc};

use azure_wi_template::go_regexp::Regex;

use crate::{
    Error,
    api::{ConversionStrategy, MergeConflictPolicy, MergePriorityPolicy, MergeStrategy},
};

/// One `rewrite[]` operation, checked.
#[derive(Debug, Clone)]
pub enum KeyOp {
    /// `regexp`: every key replaced as Go's `regexp.ReplaceAllString` does
    /// (ESO's `RewriteRegexp`): the pattern in Go's RE2 syntax with Go's
    /// meaning, `$1`/`${name}` expanded as Go's `Expand` does.
    Regexp {
        /// `source`, compiled as Go's `regexp.Compile` compiles it.
        source: Regex,
        /// `target`.
        target: String,
    },
    /// `transform`: every key replaced by the template's output, `.value`
    /// being the key (Go's default `missingkey`, as ESO parses it).
    Transform(Arc<azure_wi_template::Template>),
    /// `merge`.
    Merge(MergeOp),
}

impl PartialEq for KeyOp {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                KeyOp::Regexp { source, target },
                KeyOp::Regexp {
                    source: s2,
                    target: t2,
                },
            ) => source.as_str() == s2.as_str() && target == t2,
            (KeyOp::Transform(a), KeyOp::Transform(b)) => Arc::ptr_eq(a, b),
            (KeyOp::Merge(a), KeyOp::Merge(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for KeyOp {}

/// `rewrite[].merge`, with ESO's defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeOp {
    /// `into` (`""` when not given).
    pub into: String,
    /// `priority`.
    pub priority: Vec<String>,
    /// `priorityPolicy`.
    pub priority_policy: MergePriorityPolicy,
    /// `conflictPolicy`.
    pub conflict_policy: MergeConflictPolicy,
    /// `strategy`.
    pub strategy: MergeStrategy,
}

/// How one `dataFrom` entry's keys are made.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyRules {
    /// `rewrite`, in order.
    pub ops: Vec<KeyOp>,
    /// `conversionStrategy`, used only without `rewrite`.
    pub conversion: ConversionStrategy,
}

/// The functions a `transform` template may call (ESO gives it its whole
/// FuncMap), built once.
pub static FUNCTIONS: std::sync::LazyLock<azure_wi_template::Registry> =
    std::sync::LazyLock::new(azure_wi_template::functions);

/// Parses a `transform` template as ESO does (`template.New("transform")`,
/// default options).
///
/// # Errors
///
/// [`Error::Rewrite`] with Go's parse error.
pub fn transform(index: usize, text: &str) -> Result<KeyOp, Error> {
    azure_wi_template::Template::parse(
        "transform",
        text,
        &azure_wi_template::Delims::default(),
        &FUNCTIONS,
    )
    .map(|t| KeyOp::Transform(Arc::new(t.missing_key_error(false))))
    .map_err(|e| Error::Rewrite {
        index,
        reason: format!("transform failed with failed to parse template: {e}"),
    })
}

/// The keys of `map` made by `rules`.
///
/// # Errors
///
/// [`Error::Rewrite`] naming the failed operation, [`Error::KeyConversion`]
/// when two keys become one, [`Error::InvalidKeys`] for a key a Secret
/// cannot hold.
pub fn make_keys(
    rules: &KeyRules,
    map: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let map = if rules.ops.is_empty() {
        convert(rules.conversion, map)?
    } else {
        rewrite(&rules.ops, map)?
    };
    validate(map)
}

/// ESO's `RewriteMap`: `ops` applied in order.
///
/// # Errors
///
/// [`Error::Rewrite`] naming the failed operation.
pub fn rewrite(
    ops: &[KeyOp],
    map: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut map = map;
    for (index, op) in ops.iter().enumerate() {
        map = apply(op, map).map_err(|reason| Error::Rewrite { index, reason })?;
    }
    Ok(map)
}

fn apply(op: &KeyOp, map: BTreeMap<String, Vec<u8>>) -> Result<BTreeMap<String, Vec<u8>>, String> {
    match op {
        KeyOp::Regexp { source, target } => map
            .into_iter()
            .map(|(key, value)| {
                source
                    .replace_all(&key, target)
                    .map(|key| (key, value))
                    .map_err(|e| format!("regexp failed with {e}"))
            })
            .collect(),
        KeyOp::Transform(template) => {
            crate::render::on_render_stack(|| transform_keys(template, map))
                .map_err(|e| format!("transform failed: the template renderer failed: {e}"))?
        }
        KeyOp::Merge(merge) => crate::merge::merge(merge, map),
    }
}

/// Every key replaced by `template`'s output over `{"value": key}`.
fn transform_keys(
    template: &azure_wi_template::Template,
    map: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    let mut random = |b: &mut [u8]| rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b);
    let mut env = azure_wi_template::Env {
        now: time::OffsetDateTime::now_utc(),
        random: &mut random,
    };
    for (key, value) in map {
        let data = azure_wi_template::Value::map(
            [(
                "value".to_owned(),
                azure_wi_template::Value::str(key.as_str()),
            )]
            .into(),
        );
        let rendered = template
            .execute(
                &data,
                &FUNCTIONS,
                &mut env,
                &azure_wi_template::Limits::default(),
            )
            .map_err(|e| {
                format!("transform failed with failed to execute template for key {key:?}: {e}")
            })?;
        out.insert(String::from_utf8_lossy(&rendered).into_owned(), value);
    }
    Ok(out)
}

/// ESO's `ConvertKeys`: each character other than a letter, a digit,
/// `-`, `.` or `_` replaced.
fn convert(
    strategy: ConversionStrategy,
    map: BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let mut converted = String::with_capacity(key.len());
        for c in key.chars() {
            if c.is_alphanumeric() || matches!(c, '-' | '.' | '_') {
                converted.push(c);
            } else {
                match strategy {
                    ConversionStrategy::Default => converted.push('_'),
                    ConversionStrategy::Unicode => {
                        converted.push_str(&format!("_U{:04x}_", u32::from(c)));
                    }
                }
            }
        }
        if out.insert(converted.clone(), value).is_some() {
            return Err(Error::KeyConversion {
                strategy: format!("{strategy:?}"),
                key: converted,
            });
        }
    }
    Ok(out)
}

/// ESO's `ValidateKeys`: an empty key is dropped (it did not exist
/// upstream); a key longer than 253 bytes or with another character is an
/// error.
fn validate(map: BTreeMap<String, Vec<u8>>) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut out = BTreeMap::new();
    for (key, value) in map {
        if key.is_empty() {
            continue;
        }
        if key.len() > 253 {
            let cut: String = key.chars().take(253).collect();
            return Err(Error::InvalidKeys(format!(
                "key has length {} but max is 253: (following is truncated): {cut}",
                key.len()
            )));
        }
        if let Some(c) = key
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(Error::InvalidKeys(format!(
                "key has invalid character {c}, only alphanumeric, '-', '.' and '_' are allowed: {key}"
            )));
        }
        out.insert(key, value);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
