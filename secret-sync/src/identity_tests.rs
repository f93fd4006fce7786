use super::*;
use crate::api::ServiceAccountSelector;

const CLIENT: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "11111111-2222-4333-8444-555555555555";

fn store(tenant: Option<&str>, namespace: Option<&str>, cluster: bool) -> AzureStore {
    AzureStore {
        vault_url: "https://kv.vault.azure.net".into(),
        cloud: AzureCloud::Public,
        tenant_id: tenant.map(str::to_owned),
        service_account: Some(ServiceAccountSelector {
            name: "app-sa".into(),
            namespace: namespace.map(str::to_owned),
            audiences: vec!["extra".into(), names::DEFAULT_AUDIENCE.into()],
        }),
        cluster,
        warnings: vec![],
    }
}

fn account(annotations: &[(&str, &str)]) -> ServiceAccountInfo {
    ServiceAccountInfo::new(
        "app",
        "app-sa",
        annotations
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

#[test]
fn the_service_account_is_in_the_external_secrets_namespace_unless_a_cluster_store_names_one() {
    let at = |s: &AzureStore| service_account_of(s, "app").unwrap();
    assert_eq!(
        at(&store(None, None, false)),
        ("app".into(), "app-sa".into())
    );
    assert_eq!(
        at(&store(None, Some("ops"), false)),
        ("app".into(), "app-sa".into())
    );
    assert_eq!(
        at(&store(None, Some("ops"), true)),
        ("ops".into(), "app-sa".into())
    );
    assert_eq!(
        at(&store(None, None, true)),
        ("app".into(), "app-sa".into())
    );
    let mut mounted = store(None, None, false);
    mounted.service_account = None;
    assert_eq!(service_account_of(&mounted, "app"), None);
}

#[test]
fn client_and_tenant_come_in_esos_order() {
    let sa = account(&[(names::CLIENT_ID_ANNOTATION, CLIENT)]);
    // The store's tenantId first.
    let id = resolve(&store(Some(TENANT), None, false), &sa, Some(OTHER_TENANT)).unwrap();
    assert_eq!(id.client_id.as_str(), CLIENT);
    assert_eq!(id.tenant_id.as_str(), TENANT);
    assert_eq!(id.audiences, [names::DEFAULT_AUDIENCE, "extra"]);
    // Then the annotation, then the controller's environment (walkthrough 3).
    let annotated = account(&[
        (names::CLIENT_ID_ANNOTATION, CLIENT),
        (names::TENANT_ID_ANNOTATION, TENANT),
    ]);
    assert_eq!(
        resolve(&store(None, None, false), &annotated, Some(OTHER_TENANT))
            .unwrap()
            .tenant_id
            .as_str(),
        TENANT
    );
    assert_eq!(
        resolve(&store(None, None, false), &sa, Some(OTHER_TENANT))
            .unwrap()
            .tenant_id
            .as_str(),
        OTHER_TENANT
    );
}

#[test]
fn missing_or_conflicting_ids_name_the_service_account_and_the_fix() {
    let err = |s: &AzureStore, a: &ServiceAccountInfo, env: Option<&str>| {
        resolve(s, a, env).unwrap_err().to_string()
    };
    let no_client = err(&store(Some(TENANT), None, false), &account(&[]), None);
    assert!(no_client.contains("missing clientID"), "{no_client}");
    assert!(no_client.contains("app/app-sa"), "{no_client}");
    assert!(
        no_client.contains(names::CLIENT_ID_ANNOTATION),
        "{no_client}"
    );
    let bad_client = err(
        &store(Some(TENANT), None, false),
        &account(&[(
            names::CLIENT_ID_ANNOTATION,
            "<client-id-of-the-app-identity>",
        )]),
        None,
    );
    assert!(bad_client.contains("app/app-sa"), "{bad_client}");
    let no_tenant = err(
        &store(None, None, false),
        &account(&[(names::CLIENT_ID_ANNOTATION, CLIENT)]),
        None,
    );
    assert!(no_tenant.contains("missing tenantID"), "{no_tenant}");
    let conflict = err(
        &store(Some(TENANT), None, false),
        &account(&[
            (names::CLIENT_ID_ANNOTATION, CLIENT),
            (names::TENANT_ID_ANNOTATION, OTHER_TENANT),
        ]),
        None,
    );
    assert!(conflict.contains("multiple tenantID found"), "{conflict}");
}
