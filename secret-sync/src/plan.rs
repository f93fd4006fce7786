//! An ExternalSecret, checked: what to read and where to write it, or the
//! error its `Ready` condition shows. Pure: checked before anything is
//! fetched, so a typo costs no Key Vault request.

use std::{collections::BTreeMap, time::Duration};

use azure_wi_template::go_regexp::Regex;

use crate::{
    Error,
    api::{
        CreationPolicy, DecodingStrategy, DeletionPolicy, ExternalSecret, MetadataPolicy,
        RefreshPolicy, StoreKind, TargetMetadata, unsupported_names,
    },
    duration::parse_go_duration,
    keys::{KeyOp, KeyRules, MergeOp},
    remote::{ObjectKind, RemoteKey},
};

/// One `rewrite[]` entry checked: exactly one operation, a regular
/// expression that Go's `regexp.Compile` compiles (its error text when
/// not), a template that parses.
fn key_op(index: usize, r: &crate::api::Rewrite) -> Result<KeyOp, Error> {
    match (&r.merge, &r.regexp, &r.transform) {
        (None, Some(re), None) => Ok(KeyOp::Regexp {
            source: Regex::new(&re.source).map_err(|e| Error::InvalidRegexp {
                field: "spec.dataFrom[].rewrite[].regexp.source",
                value: re.source.clone(),
                reason: e.to_string(),
            })?,
            target: re.target.clone(),
        }),
        (None, None, Some(t)) => crate::keys::transform(index, &t.template),
        (Some(m), None, None) => Ok(KeyOp::Merge(MergeOp {
            into: m.into.clone().unwrap_or_default(),
            priority: m.priority.clone(),
            priority_policy: m.priority_policy.unwrap_or_default(),
            conflict_policy: m.conflict_policy.unwrap_or_default(),
            strategy: m.strategy.unwrap_or_default(),
        })),
        _ => Err(Error::Unsupported {
            fields: vec![format!(
                "spec.dataFrom[].rewrite[{index}] with not exactly one of merge, regexp and transform"
            )],
        }),
    }
}

/// ESO's default `refreshInterval`.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);

/// One `data` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// The key written in the Secret.
    pub secret_key: String,
    /// What is read.
    pub remote: RemoteKey,
    /// The `remoteRef.key` as written, for messages.
    pub key: String,
    /// A Key Vault version, or the latest.
    pub version: Option<String>,
    /// A gjson path into the value.
    pub property: Option<String>,
    /// How the value is decoded.
    pub decoding: DecodingStrategy,
    /// `metadataPolicy`: `Fetch` reads the object's tags instead of its
    /// value.
    pub metadata: MetadataPolicy,
    /// How an extract's keys are made (`rewrite`, `conversionStrategy`;
    /// unused for `data`).
    pub keys: KeyRules,
}

/// One `dataFrom.find`.
#[derive(Debug, Clone)]
pub struct Find {
    /// The name pattern, matched as ESO's `regexp.MatchString` matches it
    /// (unanchored, Go's RE2 meaning); `None` matches every name.
    pub name: Option<Regex>,
    /// Tags every match carries with these values.
    pub tags: BTreeMap<String, String>,
    /// How each value is decoded.
    pub decoding: DecodingStrategy,
    /// How the keys are made (`rewrite`, `conversionStrategy`).
    pub keys: KeyRules,
}

impl Find {
    /// Whether an enabled secret named `name` with `tags` is one of this
    /// find's.
    #[must_use]
    pub fn matches(&self, name: &str, tags: &BTreeMap<String, String>) -> bool {
        self.name.as_ref().is_none_or(|r| r.is_match(name))
            && self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
    }
}

/// A checked ExternalSecret.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    /// The store's name and kind.
    pub store: (String, StoreKind),
    /// The Secret's name.
    pub target: String,
    /// Who owns the Secret.
    pub creation: CreationPolicy,
    /// What to do when the values are gone.
    pub deletion: DeletionPolicy,
    /// How often to read again; `None` reads once.
    pub refresh: Option<Duration>,
    /// `refreshPolicy` (default `Periodic`).
    pub refresh_policy: RefreshPolicy,
    /// `data`, applied after `dataFrom` (a `data` key wins).
    pub reads: Vec<Read>,
    /// `dataFrom.extract`: secrets holding JSON objects.
    pub extracts: Vec<Read>,
    /// `dataFrom.find`.
    pub finds: Vec<Find>,
    /// The Secret's `type`.
    pub secret_type: String,
    /// The Secret's labels: `target.template.metadata`'s, or, without a
    /// template, the ExternalSecret's own (ESO's `setMetadata`).
    pub labels: BTreeMap<String, String>,
    /// The Secret's annotations, chosen as `labels` are.
    pub annotations: BTreeMap<String, String>,
    /// `target.template.metadata.finalizers`.
    pub finalizers: Vec<String>,
    /// `target.template`, applied to what was read by [`crate::render`].
    pub template: Option<crate::api::TargetTemplate>,
}

/// Checks `es`.
///
/// # Errors
///
/// [`Error::Unsupported`] naming each field not served, and the errors of
/// a duration, a regular expression or a remote key that cannot be used.
pub fn plan(es: &ExternalSecret) -> Result<SyncPlan, Error> {
    let spec = &es.spec;
    let mut fields = unsupported_names("spec.", &spec.unsupported);
    fields.extend(unsupported_names("spec.target.", &spec.target.unsupported));
    if let Some(template) = &spec.target.template {
        fields.extend(unsupported_names(
            "spec.target.template.",
            &template.unsupported,
        ));
    }
    for (i, data) in spec.data.iter().enumerate() {
        fields.extend(unsupported_names(
            &format!("spec.data[{i}]."),
            &data.unsupported,
        ));
        fields.extend(unsupported_names(
            &format!("spec.data[{i}].remoteRef."),
            &data.remote_ref.unsupported,
        ));
    }
    for (i, from) in spec.data_from.iter().enumerate() {
        let at = format!("spec.dataFrom[{i}].");
        fields.extend(unsupported_names(&at, &from.unsupported));
        if let Some(extract) = &from.extract {
            fields.extend(unsupported_names(
                &format!("{at}extract."),
                &extract.unsupported,
            ));
        }
        if let Some(find) = &from.find {
            fields.extend(unsupported_names(&format!("{at}find."), &find.unsupported));
        }
        for (j, rewrite) in from.rewrite.iter().enumerate() {
            fields.extend(unsupported_names(
                &format!("{at}rewrite[{j}]."),
                &rewrite.unsupported,
            ));
        }
    }
    if !fields.is_empty() {
        return Err(Error::Unsupported { fields });
    }

    let refresh = match spec.refresh_interval.as_deref() {
        None => Some(DEFAULT_REFRESH),
        Some(text) => {
            let interval = parse_go_duration(text).ok_or_else(|| Error::InvalidDuration {
                field: "spec.refreshInterval",
                value: text.to_owned(),
            })?;
            (!interval.is_zero()).then_some(interval)
        }
    };
    let read = |secret_key: String, r: &crate::api::RemoteRef| -> Result<Read, Error> {
        Ok(Read {
            secret_key,
            remote: RemoteKey::parse(&r.key)?,
            key: r.key.clone(),
            version: r.version.clone().filter(|v| !v.is_empty()),
            property: r.property.clone().filter(|p| !p.is_empty()),
            decoding: r.decoding_strategy,
            metadata: r.metadata_policy,
            keys: KeyRules::default(),
        })
    };
    let reads = spec
        .data
        .iter()
        .map(|d| read(d.secret_key.clone(), &d.remote_ref))
        .collect::<Result<Vec<_>, _>>()?;
    let mut extracts = Vec::new();
    let mut finds = Vec::new();
    for (i, from) in spec.data_from.iter().enumerate() {
        let ops = from
            .rewrite
            .iter()
            .enumerate()
            .map(|(j, r)| key_op(j, r))
            .collect::<Result<Vec<_>, Error>>()?;
        match (&from.extract, &from.find) {
            (Some(extract), None) => {
                let mut r = read(String::new(), extract)?;
                r.keys = KeyRules {
                    ops,
                    conversion: extract.conversion_strategy.unwrap_or_default(),
                };
                match r.remote.kind {
                    ObjectKind::Secret => extracts.push(r),
                    ObjectKind::Cert => {
                        return Err(Error::DataFromNotSecret {
                            kind: "certificate",
                        });
                    }
                    ObjectKind::Key => return Err(Error::DataFromNotSecret { kind: "key" }),
                }
            }
            (None, Some(find)) => {
                let name = find
                    .name
                    .as_ref()
                    .and_then(|n| n.regexp.as_deref())
                    .filter(|r| !r.is_empty())
                    .map(|r| {
                        Regex::new(r).map_err(|e| Error::InvalidRegexp {
                            field: "spec.dataFrom[].find.name.regexp",
                            value: r.to_owned(),
                            reason: e.to_string(),
                        })
                    })
                    .transpose()?;
                finds.push(Find {
                    name,
                    tags: find.tags.clone(),
                    decoding: find.decoding_strategy,
                    keys: KeyRules {
                        ops,
                        conversion: find.conversion_strategy.unwrap_or_default(),
                    },
                });
            }
            _ => {
                return Err(Error::Unsupported {
                    fields: vec![format!(
                        "spec.dataFrom[{i}] with not exactly one of extract and find"
                    )],
                });
            }
        }
    }
    let template = spec.target.template.as_ref();
    let metadata = match template {
        // Without a template ESO copies the ExternalSecret's own labels
        // and annotations; with one, only the template's.
        None => TargetMetadata {
            labels: es.metadata.labels.clone().unwrap_or_default(),
            annotations: es.metadata.annotations.clone().unwrap_or_default(),
            finalizers: Vec::new(),
        },
        Some(t) => t.metadata.clone().unwrap_or_default(),
    };
    Ok(SyncPlan {
        store: (
            spec.secret_store_ref.name.clone(),
            spec.secret_store_ref.kind,
        ),
        target: target_name(es),
        creation: spec.target.creation_policy,
        deletion: spec.target.deletion_policy,
        refresh,
        refresh_policy: spec.refresh_policy.unwrap_or_default(),
        reads,
        extracts,
        finds,
        secret_type: template
            .and_then(|t| t.type_.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Opaque".to_owned()),
        labels: metadata.labels,
        annotations: metadata.annotations,
        finalizers: metadata.finalizers,
        template: template.cloned(),
    })
}

/// The Secret `es` writes: `target.name`, or the ExternalSecret's own name.
/// Needed on its own too: a deleted ExternalSecret's Secret is found by it
/// even when the rest of the spec would not plan.
#[must_use]
pub fn target_name(es: &ExternalSecret) -> String {
    es.spec
        .target
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| es.metadata.name.clone().unwrap_or_default())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
