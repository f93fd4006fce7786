//! End to end over a real unix socket: a tonic client sends what the
//! driver sends and gets what the driver would write.
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::{os::unix::fs::PermissionsExt, path::Path, sync::Arc};

use azure_wi_csi_provider::{
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    objects::ObjectType,
    proto::{CSIDriverProviderClient, VersionRequest},
    server::{bind, serve},
};
use common::*;
use tonic::transport::Channel;

/// A channel to the socket, with `:authority` localhost as the driver's.
async fn connect(path: &Path) -> Channel {
    azure_wi_csi_provider::server::connect(path)
        .await
        .expect("the provider socket accepts connections")
}

#[tokio::test]
async fn driver_shaped_mount_over_the_provider_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("azure.sock");
    // A stale socket from a previous run.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let listener = bind(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the socket is root-only");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["azure.sock"], "no temporary socket left behind");

    let vault = MemoryVault::default();
    vault.put_secret("db-password", "0123456789abcdef0123456789abcdef", "hunter2");
    let (_, leaf) = pem_rfc7468::decode_vec(fixture("leaf.pem").as_bytes()).unwrap();
    vault.put(ObjectType::Cert, "tls", "c1", Payload::Cert(leaf));
    let mounter = Arc::new(Mounter::new(vault.clone(), MountOptions::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = Arc::new(Metrics::new());
    let server = tokio::spawn(serve(listener, mounter, Arc::clone(&metrics), async {
        let _ = stopped.await;
    }));

    let channel = connect(&path).await;
    let mut client = CSIDriverProviderClient::new(channel.clone());
    let version = client
        .version(VersionRequest {
            version: "v1alpha1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(version.version, "v1alpha1");
    assert_eq!(version.runtime_name, "azure-wi-csi-provider");
    assert_eq!(version.runtime_version, env!("CARGO_PKG_VERSION"));

    let token = service_account_jwt("shop", "web");
    let request = driver_request(
        &[(
            "objects",
            &objects(&[
                "objectName: db-password;objectType: secret",
                "objectName: tls;objectType: cert;filePermission: '0640'",
            ]),
        )],
        Some(&token),
    );
    let response = client.mount(request).await.unwrap().into_inner();
    assert_eq!(response.files.len(), 2);
    assert_eq!(response.files[0].path, "db-password");
    assert_eq!(response.files[0].mode, 420);
    assert_eq!(response.files[0].contents, b"hunter2");
    assert_eq!(response.files[1].path, "tls");
    assert_eq!(response.files[1].mode, 0o640);
    assert_eq!(response.files[1].contents, fixture("leaf.pem").as_bytes());
    let ids: Vec<_> = response
        .object_version
        .iter()
        .map(|v| (v.id.as_str(), v.version.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("secret/db-password", "0123456789abcdef0123456789abcdef"),
            ("cert/tls", "c1")
        ]
    );
    assert_eq!(response.error, None);
    assert_eq!(vault.seen_tokens(), [token.clone(), token.clone()]);

    // A failure is a gRPC status whose text says what to fix.
    let status = client
        .mount(driver_request(
            &[("objects", &objects(&["objectName: a;objectType: secret"]))],
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains("kubectl get csidriver secrets-store.csi.k8s.io -o yaml"),
        "{}",
        status.message()
    );

    // grpc.health.v1 answers for the whole server and the provider service.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for service in ["", "v1alpha1.CSIDriverProvider"] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status(),
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }

    azure_wi_csi_provider::server::health_check(&path, std::time::Duration::from_secs(5))
        .await
        .unwrap();

    // Each mount counted by outcome.
    let text = metrics.encode();
    assert!(
        text.contains("azure_wi_csi_mounts_total{outcome=\"ok\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("azure_wi_csi_mounts_total{outcome=\"missing_tokens\"} 1\n"),
        "{text}"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    let err = azure_wi_csi_provider::server::health_check(&path, std::time::Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.contains("connecting"), "{err}");
}
