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
        auth_secret: None,
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
    let id = resolve(
        &store(Some(TENANT), None, false),
        &sa,
        &FromSecrets::default(),
        Some(OTHER_TENANT),
    )
    .unwrap();
    assert_eq!(id.client_id.as_str(), CLIENT);
    assert_eq!(id.tenant_id.as_str(), TENANT);
    assert_eq!(id.audiences, [names::DEFAULT_AUDIENCE, "extra"]);
    // Then the annotation, then the controller's environment (walkthrough 3).
    let annotated = account(&[
        (names::CLIENT_ID_ANNOTATION, CLIENT),
        (names::TENANT_ID_ANNOTATION, TENANT),
    ]);
    assert_eq!(
        resolve(
            &store(None, None, false),
            &annotated,
            &FromSecrets::default(),
            Some(OTHER_TENANT)
        )
        .unwrap()
        .tenant_id
        .as_str(),
        TENANT
    );
    assert_eq!(
        resolve(
            &store(None, None, false),
            &sa,
            &FromSecrets::default(),
            Some(OTHER_TENANT)
        )
        .unwrap()
        .tenant_id
        .as_str(),
        OTHER_TENANT
    );
}

#[test]
fn missing_or_conflicting_ids_name_the_service_account_and_the_fix() {
    let err = |s: &AzureStore, a: &ServiceAccountInfo, env: Option<&str>| {
        resolve(s, a, &FromSecrets::default(), env)
            .unwrap_err()
            .to_string()
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

/// ESO's `authSecretRef` with workload identity: the client id from the
/// Secret, never also on the ServiceAccount; the tenant from the Secret
/// first; a Secret ref without `clientId` refused with ESO's text; where
/// the keys are looked up.
#[test]
fn auth_secret_ref_supplies_the_client_and_tenant_as_eso_reads_them() {
    use crate::api::{AuthSecretRef, SecretKeySelector};
    let selector = |name: &str, key: &str, namespace: Option<&str>| SecretKeySelector {
        name: name.into(),
        key: key.into(),
        namespace: namespace.map(str::to_owned),
    };
    let mut with_secret = store(None, None, false);
    with_secret.auth_secret = Some(AuthSecretRef {
        client_id: Some(selector("ids", "client", Some("elsewhere"))),
        tenant_id: Some(selector("ids", "tenant", None)),
        unsupported: Default::default(),
    });
    let values = FromSecrets {
        client_id: Some(format!("{CLIENT}\n")),
        tenant_id: Some(TENANT.to_owned()),
    };
    let id = resolve(&with_secret, &account(&[]), &values, Some(OTHER_TENANT)).unwrap();
    assert_eq!(id.client_id.as_str(), CLIENT);
    assert_eq!(id.tenant_id.as_str(), TENANT);

    let both = resolve(
        &with_secret,
        &account(&[(names::CLIENT_ID_ANNOTATION, CLIENT)]),
        &values,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        both.starts_with("multiple clientID found. Check secretRef and serviceAccountRef"),
        "{both}"
    );
    let conflicting = resolve(
        &with_secret,
        &account(&[(names::TENANT_ID_ANNOTATION, OTHER_TENANT)]),
        &values,
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        conflicting.starts_with("multiple tenantID found"),
        "{conflicting}"
    );

    let mut no_client = with_secret.clone();
    no_client.auth_secret.as_mut().unwrap().client_id = None;
    let missing = resolve(
        &no_client,
        &account(&[(names::CLIENT_ID_ANNOTATION, CLIENT)]),
        &FromSecrets::default(),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        missing.starts_with("missing accessKeyID/secretAccessKey in store config"),
        "{missing}"
    );

    // A SecretStore looks in the ExternalSecret's namespace; a
    // ClusterSecretStore honours the selector's namespace.
    let key = |field, namespace: &str, key: &str| SecretKeyRef {
        field,
        namespace: namespace.into(),
        name: "ids".into(),
        key: key.into(),
    };
    let (client, _) = auth_secret_keys(&with_secret, "app");
    assert_eq!(client, Some(key("clientId", "app", "client")));
    let mut cluster = with_secret.clone();
    cluster.cluster = true;
    let (client, tenant) = auth_secret_keys(&cluster, "app");
    assert_eq!(client.unwrap().namespace, "elsewhere");
    assert_eq!(tenant, Some(key("tenantId", "app", "tenant")));
}
