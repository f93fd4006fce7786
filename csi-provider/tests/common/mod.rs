//! An in-memory Key Vault for tests, and driver-shaped requests.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

pub mod process;

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};

use azure_wi_csi_provider::{
    Error,
    identity::Identity,
    objects::ObjectType,
    parameters::Vault,
    proto::MountRequest,
    vault::{
        FetchedCertificate, FetchedSecret, JsonWebKey, SecretValue, VaultObjects, VersionInfo,
    },
};
use base64::Engine;

pub const TENANT: &str = "72f988bf-0000-4000-8000-000000000001";
pub const CLIENT: &str = "11111111-2222-3333-4444-555555555555";
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pkcs12/");

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{DATA}{name}")).expect("fixture exists")
}

/// What a stored version holds.
#[derive(Clone)]
pub enum Payload {
    Secret {
        value: String,
        content_type: Option<String>,
        kid: bool,
    },
    Key(JsonWebKey),
    Cert(Vec<u8>),
}

#[derive(Clone)]
struct Stored {
    version: String,
    enabled: bool,
    created: SystemTime,
    payload: Payload,
}

/// A failure to inject for one object name.
#[derive(Clone)]
pub enum Fault {
    Forbidden,
    /// Answer 429 with this Retry-After, this many times.
    Throttle(Duration, usize),
    /// Answer 500, this many times.
    ServerError(usize),
}

#[derive(Default)]
struct Inner {
    objects: Mutex<HashMap<(ObjectType, String), Vec<Stored>>>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    delay: Mutex<Duration>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: AtomicUsize,
    seen_tokens: Mutex<Vec<String>>,
}

/// An in-memory vault with call counting, latency and injected failures.
#[derive(Clone, Default)]
pub struct MemoryVault(Arc<Inner>);

impl MemoryVault {
    /// Stores a new version (the newest so far) of an object.
    pub fn put(&self, object_type: ObjectType, name: &str, version: &str, payload: Payload) {
        self.put_version(object_type, name, version, true, payload);
    }

    pub fn put_version(
        &self,
        object_type: ObjectType,
        name: &str,
        version: &str,
        enabled: bool,
        payload: Payload,
    ) {
        let mut objects = self.0.objects.lock().unwrap();
        let versions = objects.entry((object_type, name.to_owned())).or_default();
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + versions.len() as u64);
        versions.push(Stored {
            version: version.into(),
            enabled,
            created,
            payload,
        });
    }

    pub fn put_secret(&self, name: &str, version: &str, value: &str) {
        self.put(
            ObjectType::Secret,
            name,
            version,
            Payload::Secret {
                value: value.into(),
                content_type: None,
                kid: false,
            },
        );
    }

    pub fn fail(&self, name: &str, fault: Fault) {
        self.0
            .faults
            .lock()
            .unwrap()
            .entry(name.into())
            .or_default()
            .push_back(fault);
    }

    pub fn set_delay(&self, delay: Duration) {
        *self.0.delay.lock().unwrap() = delay;
    }

    pub fn max_in_flight(&self) -> usize {
        self.0.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn calls(&self) -> usize {
        self.0.calls.load(Ordering::SeqCst)
    }

    pub fn seen_tokens(&self) -> Vec<String> {
        self.0.seen_tokens.lock().unwrap().clone()
    }

    async fn enter(
        &self,
        vault: &Vault,
        identity: &Identity,
        object_type: ObjectType,
        name: &str,
        listing: bool,
    ) -> Result<(), Error> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        self.0
            .seen_tokens
            .lock()
            .unwrap()
            .push(identity.token.expose().to_owned());
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let delay = *self.0.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        let fault = {
            let mut faults = self.0.faults.lock().unwrap();
            let queue = faults.entry(name.to_owned()).or_default();
            match queue.front_mut() {
                Some(Fault::Throttle(_, n) | Fault::ServerError(n)) if *n > 1 => {
                    *n -= 1;
                    queue.front().cloned()
                }
                Some(Fault::Forbidden) => queue.front().cloned(),
                Some(_) => queue.pop_front(),
                None => None,
            }
        };
        match fault {
            Some(Fault::Forbidden) => Err(Error::Forbidden {
                vault: vault.name.to_string(),
                object_type,
                name: name.into(),
                client_id: identity.client_id.to_string(),
                listing,
            }),
            Some(Fault::Throttle(retry_after, _)) => Err(Error::Throttled {
                vault: vault.name.to_string(),
                status: 429,
                retry_after,
            }),
            Some(Fault::ServerError(_)) => Err(Error::KeyVault {
                vault: vault.name.to_string(),
                object_type,
                name: name.into(),
                status: 500,
                message: "InternalServerError: try again".into(),
            }),
            None => Ok(()),
        }
    }

    fn find(
        &self,
        vault: &Vault,
        object_type: ObjectType,
        name: &str,
        version: Option<&str>,
    ) -> Result<(String, Payload), Error> {
        let objects = self.0.objects.lock().unwrap();
        let found =
            objects
                .get(&(object_type, name.to_owned()))
                .and_then(|versions| match version {
                    None => versions.iter().rev().find(|v| v.enabled),
                    Some(wanted) => versions.iter().find(|v| v.version == wanted),
                });
        let stored = found.ok_or_else(|| Error::ObjectNotFound {
            vault: vault.name.to_string(),
            object_type,
            name: name.into(),
            version: version.map(str::to_owned),
        })?;
        let collection = match object_type {
            ObjectType::Secret => "secrets",
            ObjectType::Key => "keys",
            ObjectType::Cert => "certificates",
        };
        Ok((
            format!("{}{collection}/{name}/{}", vault.url(), stored.version),
            stored.payload.clone(),
        ))
    }
}

impl VaultObjects for MemoryVault {
    async fn secret(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<FetchedSecret, Error> {
        self.enter(vault, identity, ObjectType::Secret, name, false)
            .await?;
        let (id, payload) = self.find(vault, ObjectType::Secret, name, version)?;
        let Payload::Secret {
            value,
            content_type,
            kid,
        } = payload
        else {
            unreachable!("stored by type")
        };
        Ok(FetchedSecret {
            kid: kid.then(|| id.replace("/secrets/", "/keys/")),
            id,
            value: SecretValue::new(value),
            content_type,
        })
    }

    async fn key(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<JsonWebKey, Error> {
        self.enter(vault, identity, ObjectType::Key, name, false)
            .await?;
        let (id, payload) = self.find(vault, ObjectType::Key, name, version)?;
        let Payload::Key(jwk) = payload else {
            unreachable!("stored by type")
        };
        Ok(JsonWebKey { kid: id, ..jwk })
    }

    async fn certificate(
        &self,
        vault: &Vault,
        identity: &Identity,
        name: &str,
        version: Option<&str>,
    ) -> Result<FetchedCertificate, Error> {
        self.enter(vault, identity, ObjectType::Cert, name, false)
            .await?;
        let (id, payload) = self.find(vault, ObjectType::Cert, name, version)?;
        let Payload::Cert(cer) = payload else {
            unreachable!("stored by type")
        };
        Ok(FetchedCertificate { id, cer })
    }

    async fn versions(
        &self,
        vault: &Vault,
        identity: &Identity,
        object_type: ObjectType,
        name: &str,
    ) -> Result<Vec<VersionInfo>, Error> {
        self.enter(vault, identity, object_type, name, true).await?;
        let objects = self.0.objects.lock().unwrap();
        Ok(objects
            .get(&(object_type, name.to_owned()))
            .map(|versions| {
                versions
                    .iter()
                    .map(|v| VersionInfo {
                        version: v.version.clone(),
                        enabled: v.enabled,
                        created: Some(v.created),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// An unsigned JWT shaped like kubelet's.
pub fn service_account_jwt(namespace: &str, name: &str) -> String {
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(r#"{"alg":"RS256","kid":"k"}"#.to_owned()),
        b64(format!(
            r#"{{"iss":"https://oidc.example.test/","sub":"system:serviceaccount:{namespace}:{name}","aud":["api://AzureADTokenExchange"]}}"#
        ))
    )
}

/// `objects` YAML from entries whose fields are separated by `;`.
pub fn objects(entries: &[&str]) -> String {
    let mut text = "array:\n".to_owned();
    for entry in entries {
        text.push_str("  - |\n");
        for line in entry.split(';') {
            text.push_str(&format!("    {}\n", line.trim()));
        }
    }
    text
}

/// A MountRequest as the driver builds it: SPC parameters, pod-info keys,
/// the double-encoded tokens attribute, permission "420".
pub fn driver_request(parameters: &[(&str, &str)], token: Option<&str>) -> MountRequest {
    let mut attributes = serde_json::json!({
        "keyvaultName": "kv1",
        "tenantID": TENANT,
        "clientID": CLIENT,
        "secretProviderClass": "azure-kv",
        "csi.storage.k8s.io/pod.name": "web-0",
        "csi.storage.k8s.io/pod.namespace": "shop",
        "csi.storage.k8s.io/pod.uid": "6f1c2a4e-0000-4000-8000-000000000001",
        "csi.storage.k8s.io/serviceAccount.name": "web",
        "csi.storage.k8s.io/ephemeral": "true",
    });
    for (k, v) in parameters {
        attributes[*k] = serde_json::Value::String((*v).to_owned());
    }
    if let Some(token) = token {
        let tokens = serde_json::json!({
            "api://AzureADTokenExchange": {"token": token, "expirationTimestamp": "2026-07-01T12:00:00Z"},
            "api://AKSIdentityBinding": {"token": "other-audience-token", "expirationTimestamp": "2026-07-01T12:00:00Z"},
        });
        attributes["csi.storage.k8s.io/serviceAccount.tokens"] =
            serde_json::Value::String(tokens.to_string());
    }
    MountRequest {
        attributes: attributes.to_string(),
        secrets: "null".into(),
        target_path: "/var/lib/kubelet/pods/6f1c2a4e-0000-4000-8000-000000000001/volumes/kubernetes.io~csi/secrets-store/mount".into(),
        permission: "420".into(),
        current_object_version: vec![],
    }
}
