use super::*;
use crate::config::{DEMO_OBJECT_ID, RoleAssignment};

fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const BASE: &str = "https://orders-kv.vault.azure.net";

#[test]
fn routes_the_paths_clients_send() {
    let get = |p| route("GET", p).unwrap();
    assert_eq!(
        get("/secrets/db-password"),
        Op::Get {
            name: "db-password".into(),
            version: None
        }
    );
    assert_eq!(
        get("/secrets/db-password/"),
        Op::Get {
            name: "db-password".into(),
            version: None
        }
    );
    assert_eq!(
        get("/secrets/db-password/abc"),
        Op::Get {
            name: "db-password".into(),
            version: Some("abc".into())
        }
    );
    assert_eq!(
        get("/secrets/db-password/versions"),
        Op::ListVersions {
            name: "db-password".into()
        }
    );
    assert_eq!(get("/secrets"), Op::List);
    assert_eq!(
        route("PUT", "/secrets/x").unwrap(),
        Op::Set { name: "x".into() }
    );
    assert_eq!(route("DELETE", "/secrets/x").unwrap_err().status, 405);
    assert_eq!(route("GET", "/keys/x").unwrap_err().status, 404);
}

#[test]
fn rbac_by_object_id_role_and_scope() {
    let mut config = Config::demo();
    let user = json!({"oid": DEMO_OBJECT_ID, "appid": "a", "iss": "i"});
    let get = Op::Get {
        name: "db-password".into(),
        version: None,
    };
    let set = Op::Set {
        name: "db-password".into(),
    };
    authorize(&config, "orders-kv", &get, &user).unwrap();
    let denied = authorize(&config, "orders-kv", &set, &user).unwrap_err();
    assert_eq!(
        (denied.status, denied.code, denied.inner),
        (403, "Forbidden", Some("ForbiddenByRbac"))
    );
    assert!(
        denied
            .message
            .contains("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'")
    );
    let stranger = json!({"oid": "someone-else"});
    assert_eq!(
        authorize(&config, "orders-kv", &get, &stranger)
            .unwrap_err()
            .status,
        403
    );
    // A role on one secret covers that secret only.
    config.role_assignments = vec![RoleAssignment {
        principal_id: DEMO_OBJECT_ID.into(),
        role: Role::SecretsOfficer,
        scope: "orders-kv/secrets/api-key".into(),
    }];
    authorize(
        &config,
        "orders-kv",
        &Op::Set {
            name: "api-key".into(),
        },
        &user,
    )
    .unwrap();
    assert_eq!(
        authorize(&config, "orders-kv", &get, &user)
            .unwrap_err()
            .status,
        403
    );
    assert_eq!(
        authorize(&config, "orders-kv", &Op::List, &user)
            .unwrap_err()
            .status,
        403
    );
}

#[test]
fn get_set_versions_and_errors() {
    let config = Config::demo();
    let mut store = Store::new(&config);
    let query = q(&[("api-version", "2025-07-01")]);
    let get = |store: &mut Store, name: &str, version: Option<&str>| {
        store.execute(
            &config,
            "orders-kv",
            &Op::Get {
                name: name.into(),
                version: version.map(Into::into),
            },
            BASE,
            &query,
            b"",
        )
    };
    let latest = get(&mut store, "db-password", None).unwrap();
    assert_eq!(latest["value"], "s3cr3t-from-key-vault");
    let id = latest["id"].as_str().unwrap();
    let version = id.rsplit('/').next().unwrap();
    assert_eq!(version.len(), 32);
    assert!(id.starts_with("https://orders-kv.vault.azure.net/secrets/db-password/"));
    assert_eq!(
        get(&mut store, "db-password", Some(version)).unwrap()["value"],
        "s3cr3t-from-key-vault"
    );
    let missing = get(&mut store, "nope", None).unwrap_err();
    assert_eq!((missing.status, missing.code), (404, "SecretNotFound"));
    assert!(
        missing
            .message
            .starts_with("A secret with (name/id) nope was not found in this key vault.")
    );

    let set = Op::Set {
        name: "new-one".into(),
    };
    let created = store
        .execute(
            &config,
            "orders-kv",
            &set,
            BASE,
            &query,
            br#"{"value":"v1","contentType":"text/plain"}"#,
        )
        .unwrap();
    assert_eq!(created["value"], "v1");
    assert_eq!(
        get(&mut store, "new-one", None).unwrap()["contentType"],
        "text/plain"
    );
    let disabled = store
        .execute(
            &config,
            "orders-kv",
            &set,
            BASE,
            &query,
            br#"{"value":"v2","attributes":{"enabled":false}}"#,
        )
        .unwrap();
    assert_eq!(disabled["attributes"]["enabled"], false);
    assert_eq!(
        get(&mut store, "new-one", None).unwrap_err().inner,
        Some("SecretDisabled")
    );
    let bad = store.execute(
        &config,
        "orders-kv",
        &Op::Set {
            name: "bad_name".into(),
        },
        BASE,
        &query,
        br#"{"value":"x"}"#,
    );
    assert_eq!(bad.unwrap_err().code, "BadParameter");
}

#[test]
fn lists_page_with_absolute_next_links_and_no_values() {
    let config = Config::demo();
    let mut store = Store::new(&config);
    let first = store
        .execute(
            &config,
            "orders-kv",
            &Op::List,
            BASE,
            &q(&[("api-version", "7.6"), ("maxresults", "1")]),
            b"",
        )
        .unwrap();
    assert_eq!(first["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        first["value"][0]["id"],
        "https://orders-kv.vault.azure.net/secrets/api-key"
    );
    assert!(first["value"][0].get("value").is_none());
    let next = first["nextLink"].as_str().unwrap();
    assert_eq!(
        next,
        "https://orders-kv.vault.azure.net/secrets?api-version=7.6&$skiptoken=1&maxresults=1"
    );
    let second = store
        .execute(
            &config,
            "orders-kv",
            &Op::List,
            BASE,
            &q(&[
                ("api-version", "7.6"),
                ("maxresults", "1"),
                ("$skiptoken", "1"),
            ]),
            b"",
        )
        .unwrap();
    assert_eq!(
        second["value"][0]["id"],
        "https://orders-kv.vault.azure.net/secrets/db-password"
    );
    assert!(second["nextLink"].is_null());
    let versions = store
        .execute(
            &config,
            "orders-kv",
            &Op::ListVersions {
                name: "db-password".into(),
            },
            BASE,
            &q(&[]),
            b"",
        )
        .unwrap();
    assert_eq!(versions["value"].as_array().unwrap().len(), 2);
    let bad = store.execute(
        &config,
        "orders-kv",
        &Op::List,
        BASE,
        &q(&[("maxresults", "26")]),
        b"",
    );
    assert_eq!(bad.unwrap_err().code, "BadParameter");
}

#[test]
fn throttles_per_window_and_says_when_to_come_back() {
    let mut config = Config::demo();
    config.throttle.reads_per_10s = 2;
    let mut store = Store::new(&config);
    let now = Instant::now();
    store.admit(&config, "orders-kv", &Op::List, now).unwrap();
    store.admit(&config, "orders-kv", &Op::List, now).unwrap();
    let err = store
        .admit(&config, "orders-kv", &Op::List, now)
        .unwrap_err();
    assert_eq!((err.status, err.code), (429, "Throttled"));
    assert!((1..=10).contains(&err.retry_after.unwrap()));
    // Writes have their own budget; a new window starts afresh.
    store
        .admit(&config, "orders-kv", &Op::Set { name: "x".into() }, now)
        .unwrap();
    store
        .admit(
            &config,
            "orders-kv",
            &Op::List,
            now + Duration::from_secs(10),
        )
        .unwrap();
}

#[test]
fn the_challenge_separates_parameters_with_comma_space() {
    assert_eq!(
        challenge("https://login.microsoftonline.com/", "t1"),
        "Bearer authorization=\"https://login.microsoftonline.com/t1\", resource=\"https://vault.azure.net\""
    );
}
