use serde_json::json;

use super::*;
use crate::config::{DEMO_OBJECT_ID, Role, RoleAssignment};

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
    for (path, collection) in [
        ("secrets", Collection::Secrets),
        ("keys", Collection::Keys),
        ("certificates", Collection::Certificates),
    ] {
        let delete = route("DELETE", &format!("/{path}/x")).unwrap();
        assert_eq!(
            delete,
            Op::Delete {
                collection,
                name: "x".into()
            }
        );
        assert_eq!(
            delete.action(),
            format!("Microsoft.KeyVault/vaults/{path}/delete")
        );
        assert!(delete.is_write());
        assert_eq!(
            route("GET", &format!("/deleted{path}/x")).unwrap(),
            Op::GetDeleted {
                collection,
                name: "x".into()
            }
        );
    }
    let delete_secret = route("DELETE", "/secrets/x").unwrap();
    assert!(Role::SecretsOfficer.grants(delete_secret.action()));
    assert!(!Role::SecretsUser.grants(delete_secret.action()));
    assert!(Role::CryptoOfficer.grants(route("DELETE", "/keys/x").unwrap().action()));
    assert!(!Role::CryptoUser.grants(route("DELETE", "/keys/x").unwrap().action()));
    assert!(Role::CertificatesOfficer.grants(route("DELETE", "/certificates/x").unwrap().action()));
    assert!(!Role::CertificateUser.grants(route("DELETE", "/certificates/x").unwrap().action()));
    assert_eq!(route("DELETE", "/secrets/x/v").unwrap_err().status, 405);
    assert_eq!(route("GET", "/deletedstorage/x").unwrap_err().status, 404);
    assert_eq!(route("GET", "/storage/x").unwrap_err().status, 404);
    assert_eq!(route("PATCH", "/keys/x/a/b").unwrap_err().status, 405);
    let update_secret = route("PATCH", "/secrets/x/").unwrap();
    assert_eq!(
        update_secret,
        Op::UpdateSecret {
            name: "x".into(),
            version: None
        }
    );
    assert!(update_secret.is_write());
    assert!(Role::SecretsOfficer.grants(update_secret.action()));
    assert!(!Role::SecretsUser.grants(update_secret.action()));
    for (path, op) in [
        (
            "/keys/x/",
            Op::UpdateKey {
                name: "x".into(),
                version: None,
            },
        ),
        (
            "/keys/x/v1",
            Op::UpdateKey {
                name: "x".into(),
                version: Some("v1".into()),
            },
        ),
        (
            "/certificates/x/",
            Op::UpdateCertificate {
                name: "x".into(),
                version: None,
            },
        ),
    ] {
        assert_eq!(route("PATCH", path).unwrap(), op, "{path}");
    }
    let update_cert = Op::UpdateCertificate {
        name: "x".into(),
        version: None,
    };
    assert!(Role::CertificatesOfficer.grants(update_cert.action()));
    assert!(!Role::CertificateUser.grants(update_cert.action()));
    let update_key = Op::UpdateKey {
        name: "x".into(),
        version: None,
    };
    assert!(Role::CryptoOfficer.grants(update_key.action()));
    let create = route("POST", "/keys/x/create").unwrap();
    assert_eq!(create, Op::CreateKey { name: "x".into() });
    let import_key = route("PUT", "/keys/x").unwrap();
    assert_eq!(import_key, Op::ImportKey { name: "x".into() });
    for (op, action) in [
        (&create, "Microsoft.KeyVault/vaults/keys/create/action"),
        (&import_key, "Microsoft.KeyVault/vaults/keys/import/action"),
    ] {
        assert_eq!(op.action(), action);
        assert!(op.is_write());
        assert_eq!(op.object(), Some(("keys", "x")));
        assert!(Role::CryptoOfficer.grants(action));
        assert!(!Role::CryptoUser.grants(action));
        assert!(!Role::Reader.grants(action));
    }
    let import = route("POST", "/certificates/x/import").unwrap();
    assert_eq!(import, Op::ImportCertificate { name: "x".into() });
    assert_eq!(
        import.action(),
        "Microsoft.KeyVault/vaults/certificates/import/action"
    );
    assert!(import.is_write());
    assert!(Role::CertificatesOfficer.grants(import.action()));
    assert!(!Role::CertificateUser.grants(import.action()));
    assert!(
        !Role::CertificatesOfficer.grants("Microsoft.KeyVault/vaults/secrets/getSecret/action")
    );
    assert_eq!(route("POST", "/certificates/x").unwrap_err().status, 405);
    let get = |name: &str, version: Option<&str>| Read::Get {
        name: name.into(),
        version: version.map(Into::into),
    };
    assert_eq!(route("GET", "/keys/x").unwrap(), Op::Keys(get("x", None)));
    assert_eq!(route("GET", "/keys/x/").unwrap(), Op::Keys(get("x", None)));
    assert_eq!(
        route("GET", "/keys/x/abc").unwrap(),
        Op::Keys(get("x", Some("abc")))
    );
    assert_eq!(route("GET", "/keys").unwrap(), Op::Keys(Read::List));
    assert_eq!(
        route("GET", "/certificates/x/versions").unwrap(),
        Op::Certificates(Read::ListVersions { name: "x".into() })
    );
    assert_eq!(
        route("GET", "/certificates/").unwrap(),
        Op::Certificates(Read::List)
    );
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
    let mut store = Store::new(&config).unwrap();
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
    let mut store = Store::new(&config).unwrap();
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
    let mut store = Store::new(&config).unwrap();
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

mod keys_and_certificates {
    use std::sync::{Mutex, OnceLock};

    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use sha1::Digest as _;

    use super::*;
    use crate::config::{
        CertificateSeed, CertificateVersionSeed, Curve, KeySeed, KeySpec, KeyVersionSeed,
    };

    /// Key generation is slow in debug builds: one store for the module.
    fn store() -> std::sync::MutexGuard<'static, Store> {
        static STORE: OnceLock<Mutex<Store>> = OnceLock::new();
        STORE
            .get_or_init(|| {
                Mutex::new(Store::new(&Config::demo_with_keys_and_certificates()).unwrap())
            })
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn run(op: &Op) -> Result<Value, KvError> {
        let config = Config::demo_with_keys_and_certificates();
        store().execute(
            &config,
            "orders-kv",
            op,
            BASE,
            &q(&[("api-version", "2025-07-01")]),
            b"",
        )
    }

    fn get_key(name: &str, version: Option<&str>) -> Result<Value, KvError> {
        run(&Op::Keys(Read::Get {
            name: name.into(),
            version: version.map(Into::into),
        }))
    }

    /// `op` with `body` on `store`'s vault `orders-kv`, as a write
    /// request of the current API version.
    fn write(store: &mut Store, config: &Config, op: &Op, body: &Value) -> Result<Value, KvError> {
        store.execute(
            config,
            "orders-kv",
            op,
            BASE,
            &q(&[("api-version", "2025-07-01")]),
            body.to_string().as_bytes(),
        )
    }

    fn b64url(v: &Value) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
    }

    #[test]
    fn keys_are_public_json_web_keys_with_their_versions() {
        let rsa = get_key("signing-rsa", None).unwrap();
        let jwk = &rsa["key"];
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(b64url(&jwk["n"]).len() * 8, 4096);
        assert_eq!(jwk["e"], "AQAB");
        assert!(jwk.get("d").is_none(), "a private part leaked: {jwk}");
        assert!(
            jwk["kid"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{BASE}/keys/signing-rsa/"))
        );
        assert_eq!(rsa["attributes"]["enabled"], true);

        let versions = run(&Op::Keys(Read::ListVersions {
            name: "signing-rsa".into(),
        }))
        .unwrap();
        let items = versions["value"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        // A disabled version is listed and readable, with enabled: false.
        assert_eq!(items[1]["attributes"]["enabled"], false);
        let disabled_id = items[1]["kid"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let disabled = get_key("signing-rsa", Some(disabled_id)).unwrap();
        assert_eq!(disabled["attributes"]["enabled"], false);
        assert_eq!(b64url(&disabled["key"]["n"]).len() * 8, 3072);

        let ec = get_key("signing-ec", None).unwrap();
        assert_eq!(ec["key"]["crv"], "P-521");
        assert_eq!(b64url(&ec["key"]["x"]).len(), 66);
        assert_eq!(b64url(&ec["key"]["y"]).len(), 66);
        assert_eq!(ec["key"]["key_ops"], json!(["sign", "verify"]));

        let listed = run(&Op::Keys(Read::List)).unwrap();
        let kids: Vec<&str> = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kid"].as_str().unwrap())
            .collect();
        // A certificate's key is listed too, managed.
        assert_eq!(
            kids,
            [
                format!("{BASE}/keys/signing-ec"),
                format!("{BASE}/keys/signing-rsa"),
                format!("{BASE}/keys/web-tls"),
                format!("{BASE}/keys/web-tls-pem"),
            ]
        );

        let missing = get_key("nope", None).unwrap_err();
        assert_eq!((missing.status, missing.code), (404, "KeyNotFound"));
        assert!(
            missing
                .message
                .starts_with("A key with (name/id) nope was not found")
        );
        let missing = get_key("signing-rsa", Some("0123")).unwrap_err();
        assert!(
            missing.message.contains("signing-rsa/0123"),
            "{}",
            missing.message
        );
    }

    #[test]
    fn a_certificate_is_a_certificate_a_key_and_a_secret_of_one_version() {
        let cert = run(&Op::Certificates(Read::Get {
            name: "web-tls".into(),
            version: None,
        }))
        .unwrap();
        let id = cert["id"].as_str().unwrap();
        let version = id.rsplit('/').next().unwrap();
        assert_eq!(cert["kid"], format!("{BASE}/keys/web-tls/{version}"));
        assert_eq!(cert["sid"], format!("{BASE}/secrets/web-tls/{version}"));
        let der = STANDARD.decode(cert["cer"].as_str().unwrap()).unwrap();
        assert_eq!(
            cert["x5t"],
            URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der))
        );
        assert_eq!(
            cert["policy"]["secret_props"]["contentType"],
            "application/x-pkcs12"
        );
        assert_eq!(cert["policy"]["key_props"]["key_size"], 2048);
        assert_eq!(cert["policy"]["issuer"]["name"], "Self");

        let key = get_key("web-tls", Some(version)).unwrap();
        assert_eq!(key["managed"], true);
        assert_eq!(key["key"]["kty"], "RSA");

        let secret = run(&Op::Get {
            name: "web-tls".into(),
            version: None,
        })
        .unwrap();
        assert_eq!(secret["contentType"], "application/x-pkcs12");
        assert_eq!(secret["kid"], cert["kid"]);
        assert_eq!(secret["managed"], true);
        let pfx = STANDARD.decode(secret["value"].as_str().unwrap()).unwrap();
        let archive = azure_wi_auth::pfx::read(&pfx, "").unwrap();
        assert_eq!(archive.certs[0], der);

        // The PEM certificate: key first, then leaf and the emulator CA.
        let pem_cert = run(&Op::Certificates(Read::Get {
            name: "web-tls-pem".into(),
            version: None,
        }))
        .unwrap();
        assert_eq!(pem_cert["policy"]["key_props"]["crv"], "P-384");
        let pem = run(&Op::Get {
            name: "web-tls-pem".into(),
            version: None,
        })
        .unwrap();
        assert_eq!(pem["contentType"], "application/x-pem-file");
        let text = pem["value"].as_str().unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
        assert_eq!(text.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        let leaf_pem = material::pem(
            "CERTIFICATE",
            &STANDARD.decode(pem_cert["cer"].as_str().unwrap()).unwrap(),
        );
        assert!(text.contains(&leaf_pem));
        assert!(text.ends_with(&material::pem("CERTIFICATE", store_ca())));
    }

    fn store_ca() -> &'static [u8] {
        static CA: OnceLock<Vec<u8>> = OnceLock::new();
        CA.get_or_init(|| store().key_vault_ca_der().to_vec())
    }

    #[test]
    fn a_disabled_certificate_version_is_readable_but_its_secret_is_not() {
        let versions = run(&Op::Certificates(Read::ListVersions {
            name: "web-tls".into(),
        }))
        .unwrap();
        let first = &versions["value"][0];
        assert_eq!(first["attributes"]["enabled"], false);
        let version = first["id"].as_str().unwrap().rsplit('/').next().unwrap();
        let cert = run(&Op::Certificates(Read::Get {
            name: "web-tls".into(),
            version: Some(version.into()),
        }))
        .unwrap();
        assert_eq!(cert["attributes"]["enabled"], false);
        let secret = run(&Op::Get {
            name: "web-tls".into(),
            version: Some(version.into()),
        })
        .unwrap_err();
        assert_eq!(
            (secret.status, secret.code, secret.inner),
            (403, "Forbidden", Some("SecretDisabled"))
        );
        let missing = run(&Op::Certificates(Read::Get {
            name: "nope".into(),
            version: None,
        }))
        .unwrap_err();
        assert_eq!((missing.status, missing.code), (404, "CertificateNotFound"));
    }

    #[test]
    fn a_certificates_secret_cannot_be_overwritten() {
        let config = Config::demo_with_keys_and_certificates();
        let error = store()
            .execute(
                &config,
                "orders-kv",
                &Op::Set {
                    name: "web-tls".into(),
                },
                BASE,
                &q(&[("api-version", "2025-07-01")]),
                br#"{"value":"x"}"#,
            )
            .unwrap_err();
        assert_eq!(error.status, 409);
    }

    #[test]
    fn roles_grant_what_azure_defines() {
        let mut config = Config::demo();
        let claims = json!({"oid": DEMO_OBJECT_ID, "appid": "a", "iss": "i"});
        let key = Op::Keys(Read::Get {
            name: "signing-rsa".into(),
            version: None,
        });
        let cert = Op::Certificates(Read::List);
        let secret = Op::Get {
            name: "db-password".into(),
            version: None,
        };
        let allowed =
            |config: &Config, op: &Op| authorize(config, "orders-kv", op, &claims).is_ok();
        // The demo's Secrets User reads secrets only.
        assert!(allowed(&config, &secret));
        let denied = authorize(&config, "orders-kv", &key, &claims).unwrap_err();
        assert_eq!(
            (denied.status, denied.inner),
            (403, Some("ForbiddenByRbac"))
        );
        assert!(
            denied
                .message
                .contains("Action: 'Microsoft.KeyVault/vaults/keys/read'")
        );
        assert!(
            denied
                .message
                .contains("/vaults/orders-kv/keys/signing-rsa'")
        );
        assert!(!allowed(&config, &cert));

        for (role, key_ok, cert_ok, secret_ok) in [
            (Role::CryptoUser, true, false, false),
            (Role::CertificateUser, true, true, true),
            (Role::Reader, true, true, false),
        ] {
            config.role_assignments = vec![RoleAssignment {
                principal_id: DEMO_OBJECT_ID.into(),
                role,
                scope: "orders-kv".into(),
            }];
            assert_eq!(
                (
                    allowed(&config, &key),
                    allowed(&config, &cert),
                    allowed(&config, &secret)
                ),
                (key_ok, cert_ok, secret_ok),
                "{role:?}"
            );
        }
        // A role on one key covers that key alone.
        config.role_assignments = vec![RoleAssignment {
            principal_id: DEMO_OBJECT_ID.into(),
            role: Role::CryptoUser,
            scope: "orders-kv/keys/signing-rsa".into(),
        }];
        assert!(allowed(&config, &key));
        let other = Op::Keys(Read::Get {
            name: "signing-ec".into(),
            version: None,
        });
        assert!(!allowed(&config, &other));
    }

    #[test]
    fn refuses_keys_and_certificates_key_vault_would_not_hold() {
        let with = |change: &dyn Fn(&mut crate::config::Vault)| {
            let mut config = Config::demo();
            change(&mut config.vaults[0]);
            config.validate().map_err(|e| e.to_string())
        };
        let key = |spec: KeySpec| KeySeed {
            name: "k".into(),
            versions: vec![KeyVersionSeed {
                key: spec,
                key_ops: None,
                enabled: true,
            }],
        };
        let e = with(&|v| v.keys = vec![key(KeySpec::rsa(1024))]).unwrap_err();
        assert!(e.contains("2048, 3072 or 4096"), "{e}");
        let cert = |name: &str, spec: KeySpec| CertificateSeed {
            name: name.into(),
            versions: vec![CertificateVersionSeed {
                key: spec,
                subject: "CN=x".into(),
                dns_names: Vec::new(),
                issuer: Default::default(),
                content_type: Default::default(),
                validity_months: 12,
                enabled: true,
            }],
        };
        let e =
            with(&|v| v.certificates = vec![cert("db-password", KeySpec::rsa(2048))]).unwrap_err();
        assert!(e.contains("owns the key and secret of its name"), "{e}");
        let e = with(&|v| v.certificates = vec![cert("c", KeySpec::ec(Curve::P521))]).unwrap_err();
        assert!(e.contains("P-521"), "{e}");

        // A given key must be what it says.
        let ec_pem = material::KeyMaterial::from_spec(&KeySpec::ec(Curve::P256))
            .unwrap()
            .pkcs8_pem();
        let mut spec = KeySpec::rsa(2048);
        spec.pkcs8_pem = Some(ec_pem.clone());
        assert!(
            material::KeyMaterial::from_spec(&spec)
                .unwrap_err()
                .contains("not of kty RSA")
        );
        let mut spec = KeySpec::ec(Curve::P256);
        spec.pkcs8_pem = Some(ec_pem);
        assert_eq!(
            material::KeyMaterial::from_spec(&spec).unwrap().public(),
            material::KeyMaterial::from_spec(&spec).unwrap().public()
        );
    }

    /// `POST /keys/{name}/create` and `PUT /keys/{name}` add a version a
    /// get and a list then serve, P-256K as `crv: P-256K` with 32-byte
    /// coordinates, with the tags given; refusals are 400 `BadParameter`
    /// and leave the key as it was.
    #[test]
    fn created_and_imported_keys_are_served_like_seeded_ones() {
        let config = Config::demo();
        let mut store = Store::new(&config).unwrap();
        let mut exec = |op: &Op, body: &Value| write(&mut store, &config, op, body);
        let made = exec(
            &Op::CreateKey { name: "k1".into() },
            &json!({"kty": "EC", "crv": "P-256K", "tags": {"team": "a"}}),
        )
        .unwrap();
        let jwk = &made["key"];
        assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("EC"), &json!("P-256K")));
        assert_eq!((b64url(&jwk["x"]).len(), b64url(&jwk["y"]).len()), (32, 32));
        assert!(jwk.get("d").is_none(), "never the private part");
        assert_eq!(made["tags"], json!({"team": "a"}));
        assert_eq!(made["attributes"]["exportable"], false);
        let kid = jwk["kid"].as_str().unwrap();
        assert!(kid.starts_with(&format!("{BASE}/keys/k1/")), "{kid}");
        let got = exec(
            &Op::Keys(Read::Get {
                name: "k1".into(),
                version: None,
            }),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(got, made);

        // The same point imported as a new version of another key.
        let imported_key = {
            use k256::elliptic_curve::sec1::ToEncodedPoint as _;
            let secret = k256::SecretKey::random(&mut rand::rngs::OsRng);
            let point = secret.public_key().to_encoded_point(false);
            let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
            json!({"kty": "EC", "crv": "P-256K", "x": b64(point.x().unwrap()),
                   "y": b64(point.y().unwrap()), "d": b64(&secret.to_bytes())})
        };
        let imported = exec(
            &Op::ImportKey { name: "k2".into() },
            &json!({"key": imported_key}),
        )
        .unwrap();
        assert_eq!(imported["key"]["x"], imported_key["x"]);
        assert_eq!(imported["key"]["y"], imported_key["y"]);
        assert!(imported.get("tags").is_none());

        let list = exec(&Op::Keys(Read::List), &Value::Null).unwrap();
        let kids: Vec<&str> = list["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kid"].as_str().unwrap())
            .collect();
        assert_eq!(
            kids,
            vec![format!("{BASE}/keys/k1"), format!("{BASE}/keys/k2")]
        );
        assert_eq!(list["value"][0]["tags"], json!({"team": "a"}));

        let refused = exec(
            &Op::CreateKey { name: "k1".into() },
            &json!({"kty": "EC", "crv": "P-192"}),
        )
        .unwrap_err();
        assert_eq!((refused.status, refused.code), (400, "BadParameter"));
        let versions = exec(
            &Op::Keys(Read::ListVersions { name: "k1".into() }),
            &Value::Null,
        )
        .unwrap();
        assert_eq!(versions["value"].as_array().unwrap().len(), 1);
        let bad_name =
            exec(&Op::CreateKey { name: "k_1".into() }, &json!({"kty": "EC"})).unwrap_err();
        assert_eq!(bad_name.status, 400);
    }

    /// A `PATCH` replaces the tags (and `enabled`, `key_ops`) of the
    /// version named, or the current one, and moves `updated`; get and list
    /// then show the new tags. A certificate's key and secret follow its
    /// `enabled`. A malformed update changes nothing.
    #[test]
    fn updates_replace_tags_and_attributes() {
        // Its own store: the shared one's objects are read by other tests.
        let mut config = Config::demo_with_keys_and_certificates();
        let vault = &mut config.vaults[0];
        vault.keys.retain(|k| k.name == "signing-ec");
        vault.certificates.retain(|c| c.name == "web-tls-pem");
        let mut store = Store::new(&config).unwrap();
        let mut exec = |op: &Op, body: &Value| write(&mut store, &config, op, body);
        let first = exec(
            &Op::Keys(Read::ListVersions {
                name: "signing-ec".into(),
            }),
            &Value::Null,
        )
        .unwrap()["value"][0]["kid"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let updated = exec(
            &Op::UpdateKey {
                name: "signing-ec".into(),
                version: Some(first.clone()),
            },
            &json!({"tags": {"owner": "team-a"}, "key_ops": ["verify"]}),
        )
        .unwrap();
        assert_eq!(updated["tags"], json!({"owner": "team-a"}));
        assert_eq!(updated["key"]["key_ops"], json!(["verify"]));
        assert!(updated["key"]["kid"].as_str().unwrap().ends_with(&first));
        let current = exec(
            &Op::Keys(Read::Get {
                name: "signing-ec".into(),
                version: None,
            }),
            &Value::Null,
        )
        .unwrap();
        assert!(current.get("tags").is_none(), "only the version named");

        let refused = exec(
            &Op::UpdateKey {
                name: "signing-ec".into(),
                version: Some(first.clone()),
            },
            &json!({"tags": {"n": 1}, "attributes": {"enabled": false}}),
        )
        .unwrap_err();
        assert_eq!((refused.status, refused.code), (400, "BadParameter"));
        let missing = exec(
            &Op::UpdateKey {
                name: "signing-ec".into(),
                version: Some("nope".into()),
            },
            &json!({}),
        )
        .unwrap_err();
        assert_eq!((missing.status, missing.code), (404, "KeyNotFound"));

        let cert = exec(
            &Op::UpdateCertificate {
                name: "web-tls-pem".into(),
                version: None,
            },
            &json!({"tags": {"env": "prod"}, "attributes": {"enabled": false}}),
        )
        .unwrap();
        assert_eq!(cert["tags"], json!({"env": "prod"}));
        assert_eq!(cert["attributes"]["enabled"], false);
        let listed = exec(&Op::Certificates(Read::List), &Value::Null).unwrap();
        let item = listed["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == format!("{BASE}/certificates/web-tls-pem"))
            .unwrap()
            .clone();
        assert_eq!(item["tags"], json!({"env": "prod"}));
        let secret = exec(
            &Op::Get {
                name: "web-tls-pem".into(),
                version: None,
            },
            &Value::Null,
        )
        .unwrap_err();
        assert_eq!(secret.inner, Some("SecretDisabled"));
        // Tags given as null clear them; enabled back restores the secret.
        let cleared = exec(
            &Op::UpdateCertificate {
                name: "web-tls-pem".into(),
                version: None,
            },
            &json!({"tags": null, "attributes": {"enabled": true}}),
        )
        .unwrap();
        assert!(cleared.get("tags").is_none());
        exec(
            &Op::Get {
                name: "web-tls-pem".into(),
                version: None,
            },
            &Value::Null,
        )
        .unwrap();
    }

    /// `nbf` and `exp` given on a secret's set and a key's create or
    /// update are kept and served as Unix seconds; an expired secret is
    /// still read (Key Vault answers 200, see `shapes::Window`); a time
    /// that is not Unix seconds is 400 and sets nothing.
    #[test]
    fn nbf_and_exp_are_kept_and_served() {
        let config = Config::demo();
        let mut store = Store::new(&config).unwrap();
        let mut exec = |op: &Op, body: &Value| write(&mut store, &config, op, body);
        let set = Op::Set { name: "old".into() };
        let secret = exec(
            &set,
            &json!({"value": "v", "attributes": {"nbf": 1_000, "exp": 2_000}}),
        )
        .unwrap();
        assert_eq!(
            (&secret["attributes"]["nbf"], &secret["attributes"]["exp"]),
            (&json!(1_000), &json!(2_000))
        );
        let read = exec(
            &Op::Get {
                name: "old".into(),
                version: None,
            },
            &Value::Null,
        )
        .unwrap();
        assert_eq!(
            (&read["value"], &read["attributes"]["exp"]),
            (&json!("v"), &json!(2_000))
        );
        let listed = exec(&Op::List, &Value::Null).unwrap();
        assert!(
            listed["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["attributes"]["exp"] == 2_000)
        );
        let update = Op::UpdateSecret {
            name: "old".into(),
            version: None,
        };
        let patched = exec(
            &update,
            &json!({"attributes": {"exp": 3_000}, "tags": {"t": "1"}, "contentType": "text/plain"}),
        )
        .unwrap();
        assert_eq!(
            (
                &patched["value"],
                &patched["attributes"]["nbf"],
                &patched["attributes"]["exp"],
                &patched["tags"],
                &patched["contentType"]
            ),
            (
                &json!("v"),
                &json!(1_000),
                &json!(3_000),
                &json!({"t": "1"}),
                &json!("text/plain")
            )
        );
        let refused = exec(&update, &json!({"attributes": {"nbf": 1.5}, "tags": {}})).unwrap_err();
        assert_eq!(refused.status, 400);
        let missing = exec(
            &Op::UpdateSecret {
                name: "old".into(),
                version: Some("nope".into()),
            },
            &json!({}),
        )
        .unwrap_err();
        assert_eq!((missing.status, missing.code), (404, "SecretNotFound"));
        let refused =
            exec(&set, &json!({"value": "v", "attributes": {"exp": "soon"}})).unwrap_err();
        assert_eq!((refused.status, refused.code), (400, "BadParameter"));

        let key = exec(
            &Op::CreateKey { name: "k".into() },
            &json!({"kty": "EC", "attributes": {"exp": 4_000_000_000_u64}}),
        )
        .unwrap();
        assert_eq!(key["attributes"]["exp"], 4_000_000_000_u64);
        assert!(key["attributes"].get("nbf").is_none());
        let update = Op::UpdateKey {
            name: "k".into(),
            version: None,
        };
        let updated = exec(&update, &json!({"attributes": {"nbf": 10}})).unwrap();
        assert_eq!(
            (&updated["attributes"]["nbf"], &updated["attributes"]["exp"]),
            (&json!(10), &json!(4_000_000_000_u64)),
            "an update keeps what it does not name"
        );
        let refused = exec(
            &update,
            &json!({"attributes": {"exp": -1}, "tags": {"a": "b"}}),
        )
        .unwrap_err();
        assert_eq!(refused.status, 400);
        let after = exec(
            &Op::Keys(Read::Get {
                name: "k".into(),
                version: None,
            }),
            &Value::Null,
        )
        .unwrap();
        assert!(
            after.get("tags").is_none(),
            "a refused update changes nothing"
        );
    }

    /// A delete answers the deleted bundle (`recoveryId`, `deletedDate`,
    /// `scheduledPurgeDate` 90 days on, no value), after which a get is 404
    /// `SecretNotFound`/`KeyNotFound`/`CertificateNotFound` and
    /// `/deleted{collection}/{name}` serves the same bundle; a certificate
    /// takes its key and secret with it; its key or secret alone cannot be
    /// deleted; a soft-deleted secret's name cannot be set again.
    #[test]
    fn deletes_are_soft_and_served_under_deleted() {
        let mut config = Config::demo_with_keys_and_certificates();
        let vault = &mut config.vaults[0];
        vault.keys.retain(|k| k.name == "signing-ec");
        vault.certificates.retain(|c| c.name == "web-tls-pem");
        let mut store = Store::new(&config).unwrap();
        let mut exec = |op: &Op| {
            store.execute(
                &config,
                "orders-kv",
                op,
                BASE,
                &q(&[("api-version", "2025-07-01")]),
                br#"{"value": "again"}"#,
            )
        };
        let delete = |collection, name: &str| Op::Delete {
            collection,
            name: name.into(),
        };
        let deleted = |collection, name: &str| Op::GetDeleted {
            collection,
            name: name.into(),
        };
        let gone = exec(&delete(Collection::Secrets, "api-key")).unwrap();
        assert_eq!(gone["recoveryId"], format!("{BASE}/deletedsecrets/api-key"));
        let at = gone["deletedDate"].as_u64().unwrap();
        assert_eq!(gone["scheduledPurgeDate"], at + 90 * 86_400);
        assert!(gone.get("value").is_none());
        assert!(
            gone["id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{BASE}/secrets/api-key/"))
        );
        assert_eq!(
            exec(&deleted(Collection::Secrets, "api-key")).unwrap(),
            gone
        );
        let get = exec(&Op::Get {
            name: "api-key".into(),
            version: None,
        })
        .unwrap_err();
        assert_eq!((get.status, get.code), (404, "SecretNotFound"));
        let again = exec(&Op::Set {
            name: "api-key".into(),
        })
        .unwrap_err();
        assert_eq!(
            (again.status, again.code, again.inner),
            (409, "Conflict", Some("ObjectIsDeletedButRecoverable"))
        );
        let twice = exec(&delete(Collection::Secrets, "api-key")).unwrap_err();
        assert_eq!((twice.status, twice.code), (404, "SecretNotFound"));
        let never = exec(&deleted(Collection::Secrets, "db-password")).unwrap_err();
        assert_eq!((never.status, never.code), (404, "SecretNotFound"));

        let key = exec(&delete(Collection::Keys, "signing-ec")).unwrap();
        assert_eq!(key["recoveryId"], format!("{BASE}/deletedkeys/signing-ec"));
        assert_eq!(key["key"]["kty"], "EC");
        assert_eq!(exec(&deleted(Collection::Keys, "signing-ec")).unwrap(), key);
        let get = exec(&Op::Keys(Read::Get {
            name: "signing-ec".into(),
            version: None,
        }))
        .unwrap_err();
        assert_eq!((get.status, get.code), (404, "KeyNotFound"));
        let again = exec(&Op::CreateKey {
            name: "signing-ec".into(),
        })
        .unwrap_err();
        assert_eq!(
            (again.status, again.code, again.inner),
            (409, "Conflict", Some("ObjectIsDeletedButRecoverable"))
        );
        assert!(
            again.message.starts_with(
                "Key signing-ec is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only"
            ),
            "{}",
            again.message
        );

        for (collection, name) in [
            (Collection::Keys, "web-tls-pem"),
            (Collection::Secrets, "web-tls-pem"),
        ] {
            let managed = exec(&delete(collection, name)).unwrap_err();
            assert_eq!(managed.status, 409, "{collection:?}");
        }
        let cert = exec(&delete(Collection::Certificates, "web-tls-pem")).unwrap();
        assert_eq!(
            cert["recoveryId"],
            format!("{BASE}/deletedcertificates/web-tls-pem")
        );
        assert!(cert["cer"].is_string());
        assert_eq!(
            exec(&deleted(Collection::Certificates, "web-tls-pem")).unwrap(),
            cert
        );
        let get = exec(&Op::Certificates(Read::Get {
            name: "web-tls-pem".into(),
            version: None,
        }))
        .unwrap_err();
        assert_eq!((get.status, get.code), (404, "CertificateNotFound"));
        let secret = exec(&Op::Get {
            name: "web-tls-pem".into(),
            version: None,
        })
        .unwrap_err();
        assert_eq!(secret.code, "SecretNotFound");
        let again = exec(&Op::ImportCertificate {
            name: "web-tls-pem".into(),
        })
        .unwrap_err();
        assert_eq!(
            (again.status, again.code, again.inner),
            (409, "Conflict", Some("ObjectIsDeletedButRecoverable"))
        );
        assert!(
            again
                .message
                .contains("the certificate can only be recovered or purged")
        );
    }
}
