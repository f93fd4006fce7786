//! The Secret an ExternalSecret writes: its data assembled from what was
//! read (`dataFrom` first, then `data`, whose keys win, as ESO does), and
//! its metadata as ESO marks a managed Secret (external-secrets/
//! external-secrets `pkg/controllers/externalsecret/
//! externalsecret_controller.go`). Pure.

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use sha3::{Digest as _, Sha3_224};

use crate::{
    Error,
    api::CreationPolicy,
    keys::make_keys,
    plan::SyncPlan,
    remote::{Remote, decode, get_secret, get_secret_map},
    render::Rendered,
};

/// Label on every Secret this controller manages.
pub const MANAGED_LABEL: &str = "reconcile.external-secrets.io/managed";
/// Label naming (hashed) the ExternalSecret that created an `Owner` Secret.
pub const CREATED_BY_LABEL: &str = "reconcile.external-secrets.io/created-by";
/// Annotation holding the hash of the data written.
pub const DATA_HASH_ANNOTATION: &str = "reconcile.external-secrets.io/data-hash";
/// Annotation whose change forces a refresh.
pub const FORCE_SYNC_ANNOTATION: &str = "external-secrets.io/force-sync";

/// Values read for one sync: what each `data` and `dataFrom.extract`
/// reference read (a secret's value, a certificate's DER, a key's JWK
/// JSON, or with `metadataPolicy: Fetch` the object's tags) in plan
/// order, and for each `dataFrom.find` the matching secrets' values by
/// name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// One per [`SyncPlan::reads`].
    pub reads: Vec<Remote>,
    /// One per [`SyncPlan::extracts`].
    pub extracts: Vec<Remote>,
    /// One per [`SyncPlan::finds`].
    pub finds: Vec<BTreeMap<String, Vec<u8>>>,
}

/// The Secret's data: `dataFrom` entries in order, then `data`.
///
/// # Errors
///
/// A `property` or tag not found, a value that does not decode, an
/// extract of a value that is not a JSON object.
pub fn assemble(plan: &SyncPlan, fetched: &Fetched) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut data = BTreeMap::new();
    // Each entry's keys rewritten, then decoded, as ESO orders it.
    for (read, raw) in plan.extracts.iter().zip(&fetched.extracts) {
        let fields = get_secret_map(raw, read.property.as_deref(), &read.remote.name, &read.key)?;
        for (key, bytes) in make_keys(&read.keys, fields)? {
            data.insert(key, decode(read.decoding, bytes, &read.key)?);
        }
    }
    for (find, found) in plan.finds.iter().zip(&fetched.finds) {
        for (name, value) in make_keys(&find.keys, found.clone())? {
            let decoded = decode(find.decoding, value, &name)?;
            data.insert(name, decoded);
        }
    }
    for (read, raw) in plan.reads.iter().zip(&fetched.reads) {
        let value = get_secret(raw, read.remote.kind, read.property.as_deref(), &read.key)?;
        data.insert(
            read.secret_key.clone(),
            decode(read.decoding, value, &read.key)?,
        );
    }
    Ok(data)
}

/// ESO's data hash: hex SHA3-224 of Go's `fmt.Sprintf("%+v", data)` for a
/// `map[string][]byte` (keys sorted, bytes as decimal lists), so a Secret
/// ESO wrote is recognised as unchanged.
#[must_use]
pub fn data_hash(data: &BTreeMap<String, Vec<u8>>) -> String {
    let mut text = String::from("map[");
    for (i, (key, bytes)) in data.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(key);
        text.push_str(":[");
        let values: Vec<String> = bytes.iter().map(u8::to_string).collect();
        text.push_str(&values.join(" "));
        text.push(']');
    }
    text.push(']');
    hex(&Sha3_224::digest(text.as_bytes()))
}

/// ESO's `created-by` value: hex SHA3-224 of `<namespace>/<name>`.
#[must_use]
pub fn created_by(namespace: &str, name: &str) -> String {
    hex(&Sha3_224::digest(format!("{namespace}/{name}").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The ExternalSecret a Secret is written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid, for the owner reference.
    pub uid: String,
}

/// The Secret's content without a template: the data as read, the
/// labels and annotations the plan chose (ESO's `setMetadata`).
#[must_use]
pub fn untemplated(plan: &SyncPlan, data: BTreeMap<String, Vec<u8>>) -> Rendered {
    Rendered {
        data,
        labels: plan.labels.clone(),
        annotations: plan.annotations.clone(),
    }
}

/// The Secret to apply for `plan` with `content` (the data, labels and
/// annotations: as read, or as the template made them): the type, the
/// finalizers, the managed label, the data hash and, for
/// `creationPolicy: Owner`, the controller owner reference and
/// `created-by` label.
#[must_use]
pub fn desired_secret(owner: &Owner, plan: &SyncPlan, content: Rendered) -> Secret {
    let Rendered {
        data,
        mut labels,
        mut annotations,
    } = content;
    labels.insert(MANAGED_LABEL.to_owned(), "true".to_owned());
    annotations.insert(DATA_HASH_ANNOTATION.to_owned(), data_hash(&data));
    let owner_references = (plan.creation == CreationPolicy::Owner).then(|| {
        labels.insert(
            CREATED_BY_LABEL.to_owned(),
            created_by(&owner.namespace, &owner.name),
        );
        vec![OwnerReference {
            api_version: "external-secrets.io/v1".to_owned(),
            kind: "ExternalSecret".to_owned(),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    Secret {
        metadata: ObjectMeta {
            name: Some(plan.target.clone()),
            namespace: Some(owner.namespace.clone()),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references,
            finalizers: (!plan.finalizers.is_empty()).then(|| plan.finalizers.clone()),
            ..ObjectMeta::default()
        },
        type_: Some(plan.secret_type.clone()),
        data: Some(data.into_iter().map(|(k, v)| (k, ByteString(v))).collect()),
        ..Secret::default()
    }
}

/// Whether `existing` is what [`desired_secret`] would write for the same
/// data: the managed label and the data hash match. A Secret edited by
/// hand fails this and is written again.
#[must_use]
pub fn is_current(existing: &Secret, data: &BTreeMap<String, Vec<u8>>) -> bool {
    let label = existing
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_LABEL))
        .map(String::as_str);
    let hash = existing
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DATA_HASH_ANNOTATION));
    let actual: BTreeMap<String, Vec<u8>> = existing
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    label == Some("true") && hash == Some(&data_hash(data)) && &actual == data
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
