//! Where the Go provider (Azure/secrets-store-csi-driver-provider-azure)
//! decides a mount, this provider decides it the same way, over the real
//! provider socket: the pod-info attributes, an empty `array:`, the
//! request's `secrets`, and `--write-cert-and-key-in-separate-files`
//! (`pkg/server/server.go`, `pkg/provider/provider.go` and their tests).
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use azure_wi_csi_provider::{
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    objects::ObjectType,
    proto::{CSIDriverProviderClient, MountRequest, MountResponse},
    server::{bind, connect, serve},
};
use common::*;
use tonic::transport::Channel;

/// A provider serving `vault` on a socket in a fresh directory; dropped,
/// it stops.
struct Served {
    client: CSIDriverProviderClient<Channel>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Served {
    async fn start(vault: MemoryVault, options: MountOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azure.sock");
        let listener = bind(&path).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mounter = Arc::new(Mounter::new(vault, options));
        tokio::spawn(serve(listener, mounter, Arc::new(Metrics::new()), async {
            let _ = stopped.await;
        }));
        let client = CSIDriverProviderClient::new(connect(&path).await.unwrap());
        Self {
            client,
            stop: Some(stop),
            _dir: dir,
        }
    }

    async fn mount(&mut self, request: MountRequest) -> Result<MountResponse, tonic::Status> {
        self.client
            .mount(request)
            .await
            .map(tonic::Response::into_inner)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `request` with attribute `key` removed.
fn without(mut request: MountRequest, key: &str) -> MountRequest {
    let mut attributes: serde_json::Value = serde_json::from_str(&request.attributes).unwrap();
    attributes.as_object_mut().unwrap().remove(key).unwrap();
    request.attributes = attributes.to_string();
    request
}

fn one_secret(token: &str) -> MountRequest {
    driver_request(
        &[("objects", &objects(&["objectName: db;objectType: secret"]))],
        Some(token),
    )
}

/// A provider with the default options over a vault holding secret `db`
/// (`hunter2`), and a pod's token.
async fn serving_db() -> (MemoryVault, Served, String) {
    let vault = MemoryVault::default();
    vault.put_secret("db", "v1", "hunter2");
    let served = Served::start(vault.clone(), MountOptions::default()).await;
    (vault, served, service_account_jwt("shop", "web"))
}

#[tokio::test]
async fn a_mount_without_the_pod_name_or_namespace_is_refused_before_any_read() {
    let (vault, mut served, token) = serving_db().await;

    for (attribute, go_text) in [
        ("csi.storage.k8s.io/pod.name", "pod name is not provided"),
        (
            "csi.storage.k8s.io/pod.namespace",
            "pod namespace is not provided",
        ),
    ] {
        let status = served
            .mount(without(one_secret(&token), attribute))
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{attribute}");
        assert_eq!(
            status.message(),
            format!(
                "failed to mount objects: {go_text}: the mount request has no {attribute} \
                 attribute; the CSIDriver secrets-store.csi.k8s.io must have \
                 `podInfoOnMount: true`; check it with \
                 `kubectl get csidriver secrets-store.csi.k8s.io -o yaml`"
            )
        );
    }
    assert_eq!(vault.calls(), 0);
    // With both, the same request mounts.
    let response = served.mount(one_secret(&token)).await.unwrap();
    assert_eq!(response.files[0].contents, b"hunter2");
}

#[tokio::test]
async fn an_empty_array_mounts_nothing_and_succeeds() {
    let vault = MemoryVault::default();
    let mut served = Served::start(vault.clone(), MountOptions::default()).await;
    let token = service_account_jwt("shop", "web");
    // The Go provider's own test case ("objects array is empty") and its
    // flow-style spelling.
    for empty in ["\n      array:", "array: []"] {
        let response = served
            .mount(driver_request(&[("objects", empty)], Some(&token)))
            .await
            .unwrap();
        assert_eq!(response, MountResponse::default(), "{empty:?}");
    }
    assert_eq!(vault.calls(), 0);
    // The rest of the request is still checked, the token included.
    let status = served
        .mount(driver_request(&[("objects", "array:")], None))
        .await
        .unwrap_err();
    assert!(
        status.message().contains("no ServiceAccount token"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn secrets_must_be_json_as_the_go_provider_unmarshals_them() {
    let (vault, mut served, token) = serving_db().await;

    for secrets in ["", "{", "[\"x\"]", "{\"clientsecret\": 5}"] {
        let mut request = one_secret(&token);
        request.secrets = secrets.to_owned();
        let status = served.mount(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{secrets:?}");
        assert!(
            status.message().starts_with(
                "failed to mount objects: failed to unmarshal secrets: the driver's secrets \
                 (from nodePublishSecretRef) are not a JSON object of strings: "
            ),
            "{secrets:?}: {}",
            status.message()
        );
    }
    assert_eq!(vault.calls(), 0);
    // What the driver sends without a nodePublishSecretRef ("null"), and a
    // Secret's data, are accepted and never read.
    for secrets in ["null", "{}", r#"{"clientid":"id","clientsecret":"s"}"#] {
        let mut request = one_secret(&token);
        request.secrets = secrets.to_owned();
        let response = served.mount(request).await.unwrap();
        assert_eq!(response.files[0].contents, b"hunter2", "{secrets:?}");
    }
}

#[tokio::test]
async fn permission_is_read_as_the_go_provider_unmarshals_it() {
    let (_, mut served, token) = serving_db().await;
    let mut request = one_secret(&token);
    request.permission = "256".into();
    assert_eq!(served.mount(request).await.unwrap().files[0].mode, 0o400);
    // JSON null leaves Go's os.FileMode at its zero value.
    let mut request = one_secret(&token);
    request.permission = "null".into();
    assert_eq!(served.mount(request).await.unwrap().files[0].mode, 0);
    // Go's json.Unmarshal into an os.FileMode refuses "" and a quoted
    // string, as this provider does.
    for permission in ["", "\"420\""] {
        let mut request = one_secret(&token);
        request.permission = permission.into();
        let status = served.mount(request).await.unwrap_err();
        assert!(
            status.message().contains(&format!(
                "the driver's permission {permission:?} is not a file mode"
            )),
            "{}",
            status.message()
        );
    }
}

fn separate_files() -> MountOptions {
    MountOptions {
        write_cert_and_key_in_separate_files: true,
        ..MountOptions::default()
    }
}

/// PEM with 76-column base64 and CRLF endings, as some tools write it.
fn wide_crlf(pem: &str) -> String {
    let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\r\n{}\r\n-----END {label}-----\r\n",
        lines.join("\r\n")
    )
}

#[tokio::test]
async fn separate_files_write_the_certificates_and_keys_of_a_certificates_secret() {
    let vault = MemoryVault::default();
    let pkcs12 = |value: String, content_type: &str| Payload::Secret {
        value,
        content_type: Some(content_type.into()),
        kid: true,
    };
    vault.put(
        ObjectType::Secret,
        "tls",
        "t1",
        pkcs12(fixture("legacy.pfx.b64"), "application/x-pkcs12"),
    );
    // A PEM secret as stored: leaf first, key last, other line widths.
    let stored_pem = [
        wide_crlf(&fixture("leaf.pem")),
        wide_crlf(&fixture("intermediate.pem")),
        wide_crlf(&fixture("leaf-key.pem")),
    ]
    .concat();
    vault.put(
        ObjectType::Secret,
        "web",
        "w1",
        pkcs12(stored_pem.clone(), "application/x-pem-file"),
    );
    vault.put_secret("db", "d1", "hunter2");
    let (_, leaf_der) = pem_rfc7468::decode_vec(fixture("leaf.pem").as_bytes()).unwrap();
    vault.put(ObjectType::Cert, "tls", "c1", Payload::Cert(leaf_der));

    let mut served = Served::start(vault.clone(), separate_files()).await;
    let token = service_account_jwt("shop", "web");
    let request = driver_request(
        &[(
            "objects",
            &objects(&[
                "objectName: tls;objectType: secret;objectAlias: certs/tls.pem;filePermission: '0600'",
                "objectName: web;objectType: secret",
                "objectName: tls;objectType: secret;objectAlias: tls.pfx;objectFormat: pfx",
                "objectName: db;objectType: secret",
                "objectName: tls;objectType: cert",
            ]),
        )],
        Some(&token),
    );
    let response = served.mount(request).await.unwrap();
    let (written, listed) = (files(&response), versions(&response));
    let chain = [
        fixture("leaf.pem"),
        fixture("intermediate.pem"),
        fixture("root.pem"),
    ]
    .concat();
    let key = fixture("leaf-key.pem");
    let leaf_and_intermediate = [fixture("leaf.pem"), fixture("intermediate.pem")].concat();
    assert_eq!(
        written,
        [
            // The Go provider's order: .crt, .key, then the usual file.
            ("certs/tls.pem.crt", 0o600, chain.clone()),
            ("certs/tls.pem.key", 0o600, key.clone()),
            ("certs/tls.pem", 0o600, [key.clone(), chain].concat()),
            // PEM blocks written again as Go writes them.
            ("web.crt", 420, leaf_and_intermediate),
            ("web.key", 420, key),
            ("web", 420, stored_pem),
            // A PFX kept as is holds no PEM block.
            ("tls.pfx.crt", 420, String::new()),
            ("tls.pfx.key", 420, String::new()),
            ("tls.pfx", 420, fixture("legacy.pfx.b64")),
            // Other objects are unchanged.
            ("db", 420, "hunter2".to_owned()),
            ("tls", 420, fixture("leaf.pem")),
        ]
    );
    assert_eq!(
        listed,
        [
            ("secret/tls", "t1"),
            ("secret/tls", "t1"),
            ("secret/tls", "t1"),
            ("secret/web", "w1"),
            ("secret/web", "w1"),
            ("secret/web", "w1"),
            ("secret/tls", "t1"),
            ("secret/tls", "t1"),
            ("secret/tls", "t1"),
            ("secret/db", "d1"),
            ("cert/tls", "c1"),
        ]
    );

    // Without the flag, one file per object as before.
    let mut plain = Served::start(vault.clone(), MountOptions::default()).await;
    let response = plain
        .mount(driver_request(
            &[("objects", &objects(&["objectName: web;objectType: secret"]))],
            Some(&token),
        ))
        .await
        .unwrap();
    assert_eq!(files(&response).len(), 1);
}

#[tokio::test]
async fn separate_files_follow_version_history_and_refuse_a_collision() {
    let vault = MemoryVault::default();
    for version in ["v1", "v2"] {
        vault.put(
            ObjectType::Secret,
            "tls",
            version,
            Payload::Secret {
                value: fixture("legacy.pfx.b64"),
                content_type: Some("application/x-pkcs12".into()),
                kid: true,
            },
        );
    }
    vault.put_secret("other", "o1", "x");
    let mut served = Served::start(vault.clone(), separate_files()).await;
    let token = service_account_jwt("shop", "web");
    let response = served
        .mount(driver_request(
            &[(
                "objects",
                &objects(&["objectName: tls;objectType: secret;objectVersionHistory: 2"]),
            )],
            Some(&token),
        ))
        .await
        .unwrap();
    let (written, listed) = (files(&response), versions(&response));
    let paths: Vec<_> = written.iter().map(|f| f.0).collect();
    assert_eq!(
        paths,
        [
            "tls/0.crt",
            "tls/0.key",
            "tls/0",
            "tls/1.crt",
            "tls/1.key",
            "tls/1"
        ]
    );
    assert_eq!(listed[0].0, "secret/tls/0");
    assert_eq!(listed[3].0, "secret/tls/1");

    // Another object's file where a .crt goes: the Go provider would
    // overwrite one with the other.
    let status = served
        .mount(driver_request(
            &[(
                "objects",
                &objects(&[
                    "objectName: tls;objectType: secret",
                    "objectName: other;objectType: secret;objectAlias: tls.crt",
                ]),
            )],
            Some(&token),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        status.message(),
        "failed to mount objects: objects[0] and objects[1] both write \"tls.crt\": give one \
         of them a different objectAlias"
    );
}
