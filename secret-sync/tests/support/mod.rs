//! What the control-plane tests of secret-sync share.

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{Api, Client, ResourceExt, api::PostParams};
use secret_sync::api::crd;

/// Installs secret-sync's CRDs and waits until each is established.
///
/// # Panics
///
/// When one cannot be created, or is not established within 20 s.
pub(crate) async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for definition in crd::all() {
        crds.create(&PostParams::default(), &definition)
            .await
            .expect("the CRD is created");
    }
    for definition in crd::all() {
        let name = definition.name_any();
        let started = Instant::now();
        loop {
            let established = crds
                .get(&name)
                .await
                .ok()
                .and_then(|c| c.status)
                .and_then(|s| s.conditions)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Established" && c.status == "True")
                });
            if established {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "CRD {name} not established within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
