//! The pure halves of the mount flow: version history selection and the
//! response layout. The flow with a vault is tested in tests/mount_flow.rs.

use std::time::{Duration, SystemTime};

use azure_wi_core::AzureCloud;

use azure_wi_auth::{SecretProperties, SecretValue};

use super::*;
use crate::{
    attributes::PodInfo,
    identity::{ServiceAccountToken, tests::jwt},
    mode::FileMode,
    objects::{Encoding, Format},
    plan::PlannedObject,
};

fn vault() -> Vault {
    Vault {
        name: "kv1".parse().unwrap(),
        cloud: AzureCloud::Public,
    }
}

fn spec(name: &str, object_type: ObjectType, version: Option<&str>, history: u32) -> ObjectSpec {
    ObjectSpec {
        name: name.into(),
        object_type,
        version: version.map(str::to_owned),
        alias: None,
        encoding: Encoding::Utf8,
        format: Format::Pem,
        file_permission: None,
        version_history: history,
    }
}

fn info(version: &str, enabled: bool, created_secs: Option<u64>) -> VersionInfo {
    VersionInfo {
        version: version.into(),
        enabled,
        created: created_secs.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s)),
    }
}

fn listing() -> Vec<VersionInfo> {
    vec![
        info("v2", true, Some(200)),
        info("v4", true, Some(400)),
        info("v1", true, Some(100)),
        info("v3-disabled", false, Some(300)),
        info("v5", true, Some(500)),
    ]
}

#[test]
fn history_is_enabled_versions_newest_first_exactly_n() {
    let got = select_history(
        &vault(),
        &spec("db", ObjectType::Secret, None, 3),
        listing(),
    )
    .unwrap();
    assert_eq!(got, ["v5", "v4", "v2"], "exactly N, never N+1");
    let all = select_history(
        &vault(),
        &spec("db", ObjectType::Secret, None, 10),
        listing(),
    )
    .unwrap();
    assert_eq!(all, ["v5", "v4", "v2", "v1"]);
}

#[test]
fn history_starts_at_object_version() {
    let got = select_history(
        &vault(),
        &spec("db", ObjectType::Secret, Some("v4"), 2),
        listing(),
    )
    .unwrap();
    assert_eq!(got, ["v4", "v2"]);
    let err = select_history(
        &vault(),
        &spec("db", ObjectType::Secret, Some("v3-disabled"), 2),
        listing(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret db: objectVersion \"v3-disabled\" is not an enabled version of the object, so its objectVersionHistory cannot start there"
    );
}

#[test]
fn history_without_enabled_versions_is_not_found() {
    let err = select_history(
        &vault(),
        &spec("db", ObjectType::Key, None, 2),
        vec![info("v1", false, None)],
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::ObjectNotFound { version: None, .. }),
        "{err}"
    );
    let undated = select_history(
        &vault(),
        &spec("db", ObjectType::Key, None, 5),
        vec![
            info("a", true, None),
            info("b", true, Some(1)),
            info("c", true, None),
        ],
    )
    .unwrap();
    assert_eq!(undated, ["b", "a", "c"]);
}

fn plan(objects: Vec<(ObjectSpec, &str, u32)>) -> MountPlan {
    MountPlan {
        vault: vault(),
        identity: Identity {
            tenant: "t".parse().unwrap(),
            client_id: "c".parse().unwrap(),
            cloud: AzureCloud::Public,
            mode: crate::parameters::IdentityMode::WorkloadIdentity,
            token: ServiceAccountToken::new(jwt("i", "s")),
        },
        objects: objects
            .into_iter()
            .map(|(spec, path, mode)| PlannedObject {
                spec,
                path: path.into(),
                mode: FileMode::new(mode).unwrap(),
            })
            .collect(),
        pod: PodInfo::default(),
    }
}

fn secret(name: &str, version: &str, value: &str) -> Fetched {
    Fetched::Secret(Secret {
        properties: SecretProperties::from_id(&format!(
            "https://kv1.vault.azure.net/secrets/{name}/{version}"
        ))
        .unwrap(),
        value: SecretValue::new(value),
    })
}

#[test]
fn layout_of_single_and_history_objects() {
    let plan = plan(vec![
        (
            spec("db", ObjectType::Secret, None, 0),
            "db-password",
            0o644,
        ),
        (spec("api", ObjectType::Secret, None, 2), "api", 0o400),
    ]);
    let fetched = vec![
        vec![secret("db", "aaa", "one")],
        vec![secret("api", "new", "two"), secret("api", "old", "three")],
    ];
    let response = assemble(&plan, &fetched, &MountOptions::default()).unwrap();
    let files: Vec<_> = response
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.mode, f.contents.as_slice()))
        .collect();
    assert_eq!(
        files,
        [
            ("db-password", 420, &b"one"[..]),
            ("api/0", 256, &b"two"[..]),
            ("api/1", 256, &b"three"[..]),
        ]
    );
    let versions: Vec<_> = response
        .object_version
        .iter()
        .map(|v| (v.id.as_str(), v.version.as_str()))
        .collect();
    assert_eq!(
        versions,
        [
            ("secret/db", "aaa"),
            ("secret/api/0", "new"),
            ("secret/api/1", "old")
        ]
    );
    assert_eq!(response.error, None);
}

#[test]
fn responses_over_the_driver_limit_are_refused() {
    let plan = plan(vec![(
        spec("big", ObjectType::Secret, None, 0),
        "big",
        0o644,
    )]);
    let value = "x".repeat(DRIVER_MAX_RESPONSE_BYTES);
    let err = assemble(
        &plan,
        &[vec![secret("big", "v", &value)]],
        &MountOptions::default(),
    )
    .unwrap_err();
    match err {
        Error::ResponseTooLarge { size, limit } => {
            assert!(size > DRIVER_MAX_RESPONSE_BYTES);
            assert_eq!(limit, DRIVER_MAX_RESPONSE_BYTES);
        }
        other => panic!("{other}"),
    }
    // Just under the limit passes.
    let small = "x".repeat(DRIVER_MAX_RESPONSE_BYTES - 100);
    assert!(
        assemble(
            &plan,
            &[vec![secret("big", "v", &small)]],
            &MountOptions::default()
        )
        .is_ok()
    );
}

#[test]
fn content_errors_stop_the_mount_naming_the_object() {
    let mut hex = spec("blob", ObjectType::Secret, None, 0);
    hex.encoding = Encoding::Hex;
    let plan = plan(vec![(hex, "blob", 0o644)]);
    let err = assemble(
        &plan,
        &[vec![secret("blob", "v", "zz")]],
        &MountOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("secret blob: the value is not valid hex"),
        "{err}"
    );
}
