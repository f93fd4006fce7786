//! Which entries a PushSecret pushes to one store, and the data each
//! entry's value is taken from, as ESO's PushSecret controller makes them:
//! `data[]` as written, `dataTo[]` expanded per store (each matched key to
//! its own remote key after `rewrite`, or all of them bundled under one
//! `remoteKey`), an explicit entry winning over `dataTo` for the same
//! source key, no two entries to one destination, and the
//! `ReverseUnicode` conversion of keys. Pure.
//!
//! Facts and texts from external-secrets/external-secrets,
//! `pkg/controllers/pushsecret/pushsecret_controller.go`
//! (`validateDataToStoreRefs`, `filterDataToForStore`,
//! `dataToMatchesStore`, `expandDataTo`, `expandSingleDataTo`,
//! `matchKeys`, `rewriteWithKeyMapping`, `compileRewrite`,
//! `registerRemoteKeys`, `mergeDataEntries`,
//! `validateRemoteKeyUniqueness`, `validateDataToMatchesResolvedStores`,
//! `pushSecretEntry`) and `runtime/esutils/utils.go` (`ReverseKeys`).

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{
    LabelSelector, PushConversionStrategy, PushSecretData, PushSecretDataTo, PushSecretMatch,
    PushSecretRemoteRef, PushSecretRewrite, PushSecretSpec, StoreKind,
};
use azure_wi_template::go_regexp::Regex as GoRegex;

use crate::selector::LabelQuery;

/// ESO's key for a bundle's source in its duplicate checks.
const BUNDLE_SOURCE_KEY: &str = "(bundle)";

/// A store a PushSecret pushes to: its name, kind and labels (for
/// `dataTo[].storeRef.labelSelector`).
#[derive(Debug, Clone, Copy)]
pub struct StoreInfo<'a> {
    /// The store's name.
    pub name: &'a str,
    /// `SecretStore` or `ClusterSecretStore`.
    pub kind: StoreKind,
    /// Its labels.
    pub labels: &'a BTreeMap<String, String>,
}

/// One entry to push, with, for a `dataTo` bundle, the keys its JSON
/// object holds (only the matched ones, not the whole Secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What the status records.
    pub data: PushSecretData,
    /// A bundle's keys and values.
    pub bundle: Option<BTreeMap<String, Vec<u8>>>,
}

/// `data[].match.secretKey`, `""` when not given.
#[must_use]
pub fn secret_key(entry: &PushSecretData) -> &str {
    entry.match_.secret_key.as_deref().unwrap_or_default()
}

/// `data[].match.remoteRef.property`, `""` when not given.
#[must_use]
pub fn property(entry: &PushSecretData) -> &str {
    entry
        .match_
        .remote_ref
        .property
        .as_deref()
        .unwrap_or_default()
}

pub(crate) fn kind_name(kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::SecretStore => "SecretStore",
        StoreKind::ClusterSecretStore => "ClusterSecretStore",
    }
}

/// `ReverseKey`: with `ReverseUnicode`, each `_UXXXX_` (four or five hex
/// digits) becomes that character (one that is not a character is left).
#[must_use]
pub fn reverse_key(strategy: PushConversionStrategy, key: &str) -> String {
    if strategy == PushConversionStrategy::None {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(at) = rest.find("_U") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let digits = after
            .bytes()
            .take(5)
            .take_while(u8::is_ascii_hexdigit)
            .count();
        // Go's regexp is greedy: five digits when a `_` follows them,
        // else four when a `_` follows those.
        let matched = [5, 4]
            .into_iter()
            .find(|&n| n <= digits && after.as_bytes().get(n) == Some(&b'_'));
        match matched {
            Some(n) => {
                match u32::from_str_radix(&after[..n], 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(c) => out.push(c),
                    // Go's `%c` of a value that is no character.
                    None => out.push('\u{FFFD}'),
                }
                rest = &after[n + 1..];
            }
            None => {
                out.push_str("_U");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `ReverseKeys`: every key of `data` reversed.
///
/// # Errors
///
/// ESO's text when two keys become one.
pub fn reverse_keys(
    strategy: PushConversionStrategy,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    for (key, value) in data {
        let key = reverse_key(strategy, key);
        if out.contains_key(&key) {
            return Err(format!("secret name collision during conversion: {key}"));
        }
        out.insert(key, value.clone());
    }
    Ok(out)
}

/// `validateDataToStoreRefs`: each `dataTo` names its store, and a store
/// named is one of `secretStoreRefs`.
///
/// # Errors
///
/// ESO's text, naming the entry.
pub fn check_data_to(spec: &PushSecretSpec) -> Result<(), String> {
    for (i, data_to) in spec.data_to.iter().enumerate() {
        let Some(store) = &data_to.store_ref else {
            return Err(format!("dataTo[{i}]: storeRef is required"));
        };
        let name = store.name.as_deref().unwrap_or_default();
        if name.is_empty() && store.label_selector.is_none() {
            return Err(format!(
                "dataTo[{i}]: storeRef must have name or labelSelector"
            ));
        }
        if !name.is_empty()
            && !spec.secret_store_refs.iter().any(|r| {
                r.name
                    .as_deref()
                    .is_some_and(|n| !n.is_empty() && n == name)
                    && r.kind == store.kind
            })
        {
            return Err(format!(
                "dataTo[{i}]: storeRef {name:?} not found in secretStoreRefs"
            ));
        }
    }
    Ok(())
}

fn selector_matches(
    selector: &LabelSelector,
    labels: &BTreeMap<String, String>,
) -> Result<bool, String> {
    LabelQuery::parse(selector, "labelSelector")
        .map(|q| q.matches(labels))
        .map_err(|e| e.reason)
}

/// `dataToMatchesStore`.
fn data_to_matches(data_to: &PushSecretDataTo, store: StoreInfo<'_>) -> Result<bool, String> {
    let Some(reference) = &data_to.store_ref else {
        return Err("storeRef is required".to_owned());
    };
    if let Some(name) = reference.name.as_deref().filter(|n| !n.is_empty()) {
        return Ok(name == store.name && reference.kind == store.kind);
    }
    let Some(selector) = &reference.label_selector else {
        return Ok(false);
    };
    let matches = selector_matches(selector, store.labels)
        .map_err(|e| format!("invalid labelSelector: {e}"))?;
    Ok(reference.kind == store.kind && matches)
}

/// `validateDataToMatchesResolvedStores`: a `dataTo` choosing its store by
/// labels matches one of the stores pushed to (else it would silently do
/// nothing).
///
/// # Errors
///
/// ESO's text, naming the entry.
pub fn check_data_to_stores(spec: &PushSecretSpec, stores: &[StoreInfo<'_>]) -> Result<(), String> {
    for (i, data_to) in spec.data_to.iter().enumerate() {
        let Some(reference) = &data_to.store_ref else {
            continue;
        };
        let Some(selector) = &reference.label_selector else {
            continue;
        };
        if reference.name.as_deref().is_some_and(|n| !n.is_empty()) {
            continue;
        }
        let mut any = false;
        for store in stores {
            let matches = selector_matches(selector, store.labels)
                .map_err(|e| format!("dataTo[{i}]: invalid labelSelector: {e}"))?;
            any |= store.kind == reference.kind && matches;
        }
        if !any {
            return Err(format!(
                "dataTo[{i}]: labelSelector does not match any store in secretStoreRefs"
            ));
        }
    }
    Ok(())
}

/// A user's pattern compiled as Go's `regexp.Compile` compiles it, with
/// its error text.
fn go_regexp(pattern: &str) -> Result<GoRegex, String> {
    GoRegex::new(pattern).map_err(|e| e.to_string())
}

/// A `dataTo` rewrite, compiled once for all keys.
enum Rewrite {
    Regexp(GoRegex, String),
    Transform(azure_wi_template::Template),
}

fn compile_rewrite(op: &PushSecretRewrite) -> Result<Option<Rewrite>, String> {
    if let Some(re) = &op.regexp {
        let compiled =
            go_regexp(&re.source).map_err(|e| format!("invalid regexp {:?}: {e}", re.source))?;
        return Ok(Some(Rewrite::Regexp(compiled, re.target.clone())));
    }
    if let Some(transform) = &op.transform {
        let template = azure_wi_template::Template::parse(
            "t",
            &transform.template,
            &azure_wi_template::Delims::default(),
            &crate::keys::FUNCTIONS,
        )
        .map_err(|e| format!("invalid template: {e}"))?;
        return Ok(Some(Rewrite::Transform(template.missing_key_error(false))));
    }
    Ok(None)
}

/// `rewriteWithKeyMapping`: each key's remote name after every rewrite.
fn rewrite_keys(
    rewrites: &[PushSecretRewrite],
    keys: &[String],
) -> Result<BTreeMap<String, String>, String> {
    let mut map: BTreeMap<String, String> = keys.iter().map(|k| (k.clone(), k.clone())).collect();
    for (i, op) in rewrites.iter().enumerate() {
        let Some(rewrite) = compile_rewrite(op).map_err(|e| format!("rewrite[{i}]: {e}"))? else {
            continue;
        };
        for current in map.values_mut() {
            let next = match &rewrite {
                Rewrite::Regexp(re, target) => re
                    .replace_all(current, target)
                    .map_err(|e| format!("rewrite[{i}] on key {current:?}: {e}"))?,
                Rewrite::Transform(template) => transform_key(template, current)
                    .map_err(|e| format!("rewrite[{i}] on key {current:?}: template exec: {e}"))?,
            };
            *current = next;
        }
    }
    Ok(map)
}

fn transform_key(template: &azure_wi_template::Template, key: &str) -> Result<String, String> {
    let data = azure_wi_template::Value::map(
        [("value".to_owned(), azure_wi_template::Value::str(key))].into(),
    );
    crate::render::on_render_stack(|| {
        let mut random = |b: &mut [u8]| rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, b);
        let mut env = azure_wi_template::Env {
            now: time::OffsetDateTime::now_utc(),
            random: &mut random,
        };
        template
            .execute(
                &data,
                &crate::keys::FUNCTIONS,
                &mut env,
                &azure_wi_template::Limits::default(),
            )
            .map(|out| String::from_utf8_lossy(&out).into_owned())
            .map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())?
}

/// `expandSingleDataTo`: the entries one `dataTo` makes, and its source
/// key to remote key map for the duplicate check.
fn expand_one(
    data: &BTreeMap<String, Vec<u8>>,
    data_to: &PushSecretDataTo,
) -> Result<(Vec<Entry>, BTreeMap<String, String>), String> {
    let remote_key = data_to.remote_key.as_deref().unwrap_or_default();
    if !remote_key.is_empty() && !data_to.rewrite.is_empty() {
        return Err("remoteKey and rewrite are mutually exclusive: rewrite is only supported in per-key mode (without remoteKey)".to_owned());
    }
    let strategy = data_to.conversion_strategy.unwrap_or_default();
    let converted = reverse_keys(strategy, data).map_err(|e| format!("conversion failed: {e}"))?;
    let original: BTreeMap<String, &String> =
        data.keys().map(|k| (reverse_key(strategy, k), k)).collect();
    let pattern = data_to
        .match_
        .as_ref()
        .and_then(|m| m.regexp.as_deref())
        .filter(|p| !p.is_empty());
    let matched: Vec<String> = match pattern {
        None => converted.keys().cloned().collect(),
        Some(pattern) => {
            let re = go_regexp(pattern).map_err(|e| {
                format!("match failed: failed to compile regexp pattern {pattern:?}: {e}")
            })?;
            converted
                .keys()
                .filter(|k| re.is_match(k))
                .cloned()
                .collect()
        }
    };
    if matched.is_empty() {
        return Ok((Vec::new(), BTreeMap::new()));
    }
    let entry = |secret_key: Option<String>, remote_key: String| PushSecretData {
        match_: PushSecretMatch {
            secret_key,
            remote_ref: PushSecretRemoteRef {
                remote_key,
                property: None,
            },
        },
        metadata: data_to.metadata.clone(),
        conversion_strategy: Some(PushConversionStrategy::None),
    };
    if !remote_key.is_empty() {
        let bundle = matched
            .iter()
            .map(|k| (k.clone(), converted[k].clone()))
            .collect();
        return Ok((
            vec![Entry {
                data: entry(None, remote_key.to_owned()),
                bundle: Some(bundle),
            }],
            [(BUNDLE_SOURCE_KEY.to_owned(), remote_key.to_owned())].into(),
        ));
    }
    let key_map =
        rewrite_keys(&data_to.rewrite, &matched).map_err(|e| format!("rewrite failed: {e}"))?;
    if let Some((source, _)) = key_map.iter().find(|(_, remote)| remote.is_empty()) {
        return Err(format!(
            "empty remote key produced for source key {source:?}"
        ));
    }
    let entries = key_map
        .iter()
        .map(|(converted_key, remote)| Entry {
            data: entry(
                Some(
                    original
                        .get(converted_key)
                        .map_or_else(|| converted_key.clone(), |k| (*k).clone()),
                ),
                remote.clone(),
            ),
            bundle: None,
        })
        .collect();
    Ok((entries, key_map))
}

/// The source key an explicit entry reads (`resolveOriginalKey`).
fn original_key(entry: &PushSecretData, data: &BTreeMap<String, Vec<u8>>) -> String {
    let key = secret_key(entry);
    let strategy = entry.conversion_strategy.unwrap_or_default();
    if strategy == PushConversionStrategy::None {
        return key.to_owned();
    }
    data.keys()
        .find(|k| reverse_key(strategy, k) == key)
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

/// What the PushSecret pushes to `store`, in ESO's order: the `dataTo`
/// entries for it (those whose source key no explicit entry reads), then
/// `data`.
///
/// # Errors
///
/// ESO's texts: a `dataTo` that cannot be expanded, two entries to one
/// destination.
pub fn entries_for_store(
    spec: &PushSecretSpec,
    data: &BTreeMap<String, Vec<u8>>,
    store: StoreInfo<'_>,
) -> Result<Vec<Entry>, String> {
    // `filterDataToForStore`: errors name the entry's place in the spec;
    // `expandDataTo` then counts among those kept.
    let mut for_store = Vec::new();
    for (i, data_to) in spec.data_to.iter().enumerate() {
        if data_to_matches(data_to, store)
            .map_err(|e| format!("failed to filter dataTo: dataTo[{i}]: {e}"))?
        {
            for_store.push(data_to);
        }
    }
    let mut expanded = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (i, data_to) in for_store.into_iter().enumerate() {
        let (entries, key_map) = expand_one(data, data_to)
            .map_err(|e| format!("failed to expand dataTo: dataTo[{i}]: {e}"))?;
        if entries.is_empty() {
            continue;
        }
        for (source, remote) in &key_map {
            if let Some(existing) = seen.get(remote) {
                return Err(format!(
                    "failed to expand dataTo: dataTo[{i}]: duplicate remote key {remote:?} from source key {source:?} (conflicts with {existing})"
                ));
            }
            seen.insert(remote.clone(), format!("dataTo[{i}]:{source}"));
        }
        expanded.extend(entries);
    }
    let explicit: BTreeSet<String> = spec.data.iter().map(|e| original_key(e, data)).collect();
    let mut out: Vec<Entry> = expanded
        .into_iter()
        .filter(|e| !explicit.contains(secret_key(&e.data)))
        .collect();
    out.extend(spec.data.iter().map(|e| Entry {
        data: e.clone(),
        bundle: None,
    }));
    let mut destinations: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for entry in &out {
        let location = (
            entry.data.match_.remote_ref.remote_key.as_str(),
            property(&entry.data),
        );
        let source = secret_key(&entry.data);
        if let Some(existing) = destinations.get(&location) {
            let (remote, property) = location;
            return Err(if property.is_empty() {
                format!(
                    "failed to merge data entries: duplicate remote key {remote:?}: source keys {existing:?} and {source:?} both map to the same destination"
                )
            } else {
                format!(
                    "failed to merge data entries: duplicate remote key {remote:?} with property {property:?}: source keys {existing:?} and {source:?} both map to the same destination"
                )
            });
        }
        destinations.insert(location, source);
    }
    Ok(out)
}

/// The data one entry's value is taken from (`pushSecretEntry`): a
/// bundle's keys or the whole Secret's, keys reversed by the entry's
/// conversion.
///
/// # Errors
///
/// ESO's text when two keys become one.
pub fn entry_source(
    entry: &Entry,
    data: &BTreeMap<String, Vec<u8>>,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    reverse_keys(
        entry.data.conversion_strategy.unwrap_or_default(),
        entry.bundle.as_ref().unwrap_or(data),
    )
    .map_err(|e| format!("could not apply conversion strategy to keys: {e}"))
}

/// The key a store is recorded under in the status: `Kind/name`.
#[must_use]
pub fn store_key(store: StoreInfo<'_>) -> String {
    crate::push_plan::store_key(kind_name(store.kind), store.name)
}

#[cfg(test)]
#[path = "push_data_tests.rs"]
mod tests;
