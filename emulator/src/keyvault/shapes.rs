//! The service's JSON shapes: bundles, list items, attributes and pages.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{KvError, Version};

/// One page of `items` at `$skiptoken`, with an absolute `nextLink` back
/// to `base` + `path` while more remain.
pub(super) fn page(
    items: &[Value],
    base: &str,
    path: &str,
    api_version: &str,
    query: &HashMap<String, String>,
    max: usize,
) -> Result<Value, KvError> {
    let page = page_size(query, max)?;
    let skip: usize = match query.get("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| KvError::new(400, "BadParameter", format!("Invalid $skiptoken {t}.")))?,
    };
    let end = (skip + page).min(items.len());
    let next = (end < items.len()).then(|| {
        format!("{base}{path}?api-version={api_version}&$skiptoken={end}&maxresults={page}")
    });
    Ok(json!({ "value": items.get(skip.min(end)..end).unwrap_or_default(), "nextLink": next }))
}

pub(super) fn page_size(query: &HashMap<String, String>, max: usize) -> Result<usize, KvError> {
    match query.get("maxresults") {
        None => Ok(max),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=25).contains(&n) => Ok(n.min(max)),
            _ => Err(KvError::new(
                400,
                "BadParameter",
                format!("Invalid value for maxresults: {text}. It must be between 1 and 25."),
            )),
        },
    }
}

pub(super) fn not_found(name: &str, version: Option<&str>) -> KvError {
    let what = version.map_or_else(|| name.to_owned(), |v| format!("{name}/{v}"));
    KvError::new(
        404,
        "SecretNotFound",
        format!(
            "A secret with (name/id) {what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
        ),
    )
}

/// `attributes.nbf` and `attributes.exp` a client set, Unix seconds.
///
/// Key Vault keeps them and serves them back, but does not refuse a read
/// outside them: a secret read after its `exp` is answered 200 with its
/// value (reported in Azure/AzureKeyVault#19 and Altinn/altinn-studio#5029,
/// and why azure-sdk-for-net keeps serving expired secrets, per
/// dotnet/AspNetCore.Docs#26714), unlike a disabled one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Window {
    /// Not before.
    pub(super) nbf: Option<u64>,
    /// Expires.
    pub(super) exp: Option<u64>,
}

/// An `nbf` or `exp` that is not Unix seconds (400 `BadParameter`; the
/// words are the emulator's own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attributes.{0} must be a time in Unix seconds.")]
pub(super) struct WindowError(pub(super) &'static str);

impl Window {
    /// Reads `nbf` and `exp` from a request's `attributes`; absent or null
    /// is `None`.
    pub(super) fn from_attributes(attributes: &Value) -> Result<Self, WindowError> {
        let read = |name: &'static str| match &attributes[name] {
            Value::Null => Ok(None),
            v => v.as_u64().map(Some).ok_or(WindowError(name)),
        };
        Ok(Self {
            nbf: read("nbf")?,
            exp: read("exp")?,
        })
    }

    /// Sets what an update gives, keeping the rest.
    pub(super) fn merge(&mut self, update: Self) {
        self.nbf = update.nbf.or(self.nbf);
        self.exp = update.exp.or(self.exp);
    }

    /// Writes the set ones into `attributes`.
    pub(super) fn write(self, attributes: &mut Value) {
        if let Some(nbf) = self.nbf {
            attributes["nbf"] = nbf.into();
        }
        if let Some(exp) = self.exp {
            attributes["exp"] = exp.into();
        }
    }
}

pub(super) fn attributes(v: &Version) -> Value {
    let mut a = json!({
        "enabled": v.enabled,
        "created": v.created,
        "updated": v.updated,
        "recoveryLevel": "Recoverable+Purgeable",
        "recoverableDays": 90,
    });
    match v.managed {
        Some((nbf, exp)) => {
            a["nbf"] = nbf.into();
            a["exp"] = exp.into();
        }
        None => v.window.write(&mut a),
    }
    a
}

pub(super) fn bundle(base: &str, name: &str, v: &Version) -> Value {
    let mut out = json!({
        "value": v.value,
        "id": format!("{base}/secrets/{name}/{}", v.id),
        "attributes": attributes(v),
    });
    if let Some(ct) = &v.content_type {
        out["contentType"] = ct.clone().into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    if v.managed.is_some() {
        out["kid"] = format!("{base}/keys/{name}/{}", v.id).into();
        out["managed"] = true.into();
    }
    out
}

pub(super) fn item(base: &str, name: &str, version: Option<&Version>, v: &Version) -> Value {
    let id = match version {
        Some(version) => format!("{base}/secrets/{name}/{}", version.id),
        None => format!("{base}/secrets/{name}"),
    };
    let mut out = json!({ "id": id, "attributes": attributes(v) });
    if let Some(ct) = &v.content_type {
        out["contentType"] = ct.clone().into();
    }
    if let Some(tags) = &v.tags {
        out["tags"] = tags.clone();
    }
    if v.managed.is_some() {
        out["managed"] = true.into();
    }
    out
}

/// Days a soft-deleted object is kept, as every `attributes` here says
/// (`recoverableDays: 90`, `Recoverable+Purgeable`).
const RECOVERABLE_DAYS: u64 = 90;

/// What a soft delete adds to a bundle: `recoveryId`
/// (`{base}/deleted{collection}/{name}`), `deletedDate` and
/// `scheduledPurgeDate` 90 days later, in Unix seconds, as Key Vault
/// answered `DELETE /secrets/{name}` in recordings of
/// Azure/azure-sdk-for-js (keyvault-secrets, 2020-06-25: `deletedDate`
/// 1593086328, `scheduledPurgeDate` 1600862328).
pub(super) fn soft_deleted(
    mut bundle: Value,
    base: &str,
    collection: &str,
    name: &str,
    at: u64,
) -> Value {
    bundle["recoveryId"] = format!("{base}/deleted{collection}/{name}").into();
    bundle["deletedDate"] = at.into();
    bundle["scheduledPurgeDate"] = (at + RECOVERABLE_DAYS * 86_400).into();
    bundle
}

/// `DeletedSecretBundle`: the current version's bundle without its value
/// (the recorded answers carry none), with the soft-delete fields.
pub(super) fn deleted_secret(base: &str, name: &str, versions: &[Version], at: u64) -> Value {
    let mut out = versions
        .last()
        .map_or_else(|| json!({}), |v| bundle(base, name, v));
    if let Some(map) = out.as_object_mut() {
        map.remove("value");
    }
    soft_deleted(out, base, "secrets", name, at)
}

/// Why a `PATCH /secrets/{name}/{version}` is refused (400
/// `BadParameter`; the words are the emulator's own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum SecretUpdateError {
    /// The body is not a JSON object.
    #[error("The request body is not a JSON object.")]
    Body,
    /// `contentType` is not a string.
    #[error("contentType must be a string.")]
    ContentType,
    /// `attributes.enabled` is not a boolean.
    #[error("attributes.enabled must be a boolean.")]
    Enabled,
    /// `tags` is not an object of strings.
    #[error("tags must be an object of string values.")]
    Tags,
    /// `attributes.nbf` or `exp` is not Unix seconds.
    #[error(transparent)]
    Window(#[from] WindowError),
}

/// Applies `SecretUpdateParameters` (`contentType`, `attributes.enabled`,
/// `nbf`, `exp`, `tags`; the value never changes) to `v` at `now`, all
/// checked before any is set. A certificate's secret keeps the certificate's
/// validity.
pub(super) fn update_secret(
    v: &mut Version,
    request: &Value,
    now: u64,
) -> Result<(), SecretUpdateError> {
    if !request.is_object() {
        return Err(SecretUpdateError::Body);
    }
    let content_type = match &request["contentType"] {
        Value::Null => None,
        Value::String(ct) => Some(ct.clone()),
        _ => return Err(SecretUpdateError::ContentType),
    };
    let enabled = match &request["attributes"]["enabled"] {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => return Err(SecretUpdateError::Enabled),
    };
    let tags = match request.get("tags") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Some(Some(Value::Object(map.clone())))
        }
        Some(_) => return Err(SecretUpdateError::Tags),
    };
    let window = Window::from_attributes(&request["attributes"])?;
    if content_type.is_some() {
        v.content_type = content_type;
    }
    if let Some(enabled) = enabled {
        v.enabled = enabled;
    }
    if let Some(tags) = tags {
        v.tags = tags;
    }
    if v.managed.is_none() {
        v.window.merge(window);
    }
    v.updated = now;
    Ok(())
}
