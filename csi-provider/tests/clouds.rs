//! `cloudName` over the provider's real unix socket, against the emulator:
//! the Go provider's names for the public cloud reach its vault, and a name
//! of no cloud is refused before anything is fetched, with a message that
//! names the parameter, the value and the accepted names.
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::{path::Path, sync::Arc};

use azure_wi_core::AzureCloud;
use azure_wi_csi_provider::{
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest},
    server::{bind, serve},
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_TENANT},
};
use common::{driver_request, objects};
use tonic::transport::Channel;

/// The provider serving `emulator`'s vaults on a socket in `dir`, and a
/// client of that socket; the server stops when the sender is dropped.
async fn provider(
    emulator: &Emulator,
    dir: &Path,
) -> (
    CSIDriverProviderClient<Channel>,
    tokio::sync::oneshot::Sender<()>,
) {
    let path = dir.join("azure.sock");
    let listener = bind(&path).unwrap();
    let mounter = Arc::new(Mounter::new(
        AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap(),
        MountOptions::default(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, mounter, Arc::new(Metrics::new()), async {
        let _ = stopped.await;
    }));
    let channel = azure_wi_csi_provider::server::connect(&path)
        .await
        .expect("the provider socket accepts connections");
    (CSIDriverProviderClient::new(channel), stop)
}

fn request(emulator: &Emulator, cloud_name: &str) -> MountRequest {
    let token = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    driver_request(
        &[
            ("keyvaultName", "orders-kv"),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            ("cloudName", cloud_name),
            (
                "objects",
                &objects(&["objectName: db-password; objectType: secret"]),
            ),
        ],
        Some(&token),
    )
}

#[tokio::test]
async fn the_public_clouds_names_mount_from_its_vault() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, _stop) = provider(&emulator, dir.path()).await;
    for name in ["AzurePublicCloud", "AzureCloud", "azurepubliccloud", ""] {
        mounts_the_secret(&mut client, &emulator, name).await;
    }
}

/// Mounts `db-password` with `cloudName: name` and checks the one file.
async fn mounts_the_secret(
    client: &mut CSIDriverProviderClient<Channel>,
    emulator: &Emulator,
    name: &str,
) {
    let response = client
        .mount(request(emulator, name))
        .await
        .unwrap_or_else(|status| panic!("{name:?}: {status:?}"))
        .into_inner();
    assert_eq!(response.error, None, "{name:?}");
    assert_eq!(response.files.len(), 1, "{name:?}");
    assert_eq!(response.files[0].path, "db-password", "{name:?}");
    assert_eq!(
        response.files[0].contents, b"s3cr3t-from-key-vault",
        "{name:?}"
    );
}

/// Each sovereign cloud's Go name mounts from that cloud's vault host,
/// with its Entra authority and Key Vault resource (the emulator refuses a
/// token for another cloud's Key Vault).
#[tokio::test]
async fn each_sovereign_clouds_name_mounts_from_its_own_vault() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, _stop) = provider(&emulator, dir.path()).await;
    for name in [
        "AzureUSGovernmentCloud",
        "AzureChinaCloud",
        "AzureGermanCloud",
    ] {
        mounts_the_secret(&mut client, &emulator, name).await;
    }
}

#[tokio::test]
async fn an_unknown_cloud_name_is_refused_naming_the_accepted_ones() {
    let emulator = Emulator::start(Config::demo()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut client, _stop) = provider(&emulator, dir.path()).await;
    let status = client
        .mount(request(&emulator, "AzureStackCloud"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let message = status.message();
    assert!(
        message.contains("SecretProviderClass parameter cloudName is \"AzureStackCloud\""),
        "{message}"
    );
    for cloud in AzureCloud::ALL {
        assert!(message.contains(cloud.name()), "{cloud}: {message}");
    }
    assert_eq!(
        (
            emulator.counters().token_requests(),
            emulator.counters().vault_requests()
        ),
        (0, 0),
        "nothing is fetched for a refused mount"
    );
}
