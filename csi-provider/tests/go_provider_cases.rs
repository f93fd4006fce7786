//! The Go provider's own test cases (Azure/secrets-store-csi-driver-provider-azure
//! v1.8.2, commit d5f7cf5b: `pkg/provider/provider_test.go`,
//! `pkg/provider/validate_test.go`, `pkg/provider/types/parameters_test.go`),
//! each sent as a mount over the provider's real unix socket to objects the
//! emulator's Key Vault holds, written there as users write them
//! (`PUT /secrets`, `POST /certificates/{name}/import`, `PUT /keys`,
//! `POST /keys/{name}/create`). Each test names the Go test it holds us
//! to; the inputs and expected files of those tests are copied in
//! `tests/data/go-provider/` (see its README).
//!
//! What the Go tests feed their functions that no Key Vault can hold (a
//! bundle without a value or id, a certificate's secret that is not a
//! PFX, certificates without their private key behind a `kid`) is held by
//! the unit tests of `src/content.rs` instead; the list is in README.
// Helpers outside #[test] functions may unwrap too: this is test code.
#![allow(clippy::unwrap_used)]

mod common;

use std::{path::Path, sync::Arc, time::Duration};

use azure_wi_csi_provider::{
    keyvault::AzureKeyVault,
    metrics::Metrics,
    mount::{MountOptions, Mounter},
    proto::{CSIDriverProviderClient, MountRequest, MountResponse},
    server::{bind, connect, serve},
};
use azure_wi_emulator::{
    Config, Emulator, TokenSpec,
    config::{DEMO_CLIENT_ID, DEMO_OBJECT_ID, DEMO_TENANT, Role, RoleAssignment},
};
use base64::Engine as _;
use common::objects;
use serde_json::{Value, json};
use tonic::transport::Channel;

const VAULT: &str = "orders-kv";
const API: &str = "api-version=7.4";

/// A Go test's input or expected output, from `tests/data/go-provider/`.
fn go(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/go-provider")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The emulator (its demo workload also an officer of secrets,
/// certificates and keys, to write the objects under test), the provider
/// serving it on a socket, and a bearer token for writing.
struct World {
    emulator: Emulator,
    client: CSIDriverProviderClient<Channel>,
    http: reqwest::Client,
    bearer: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(options: MountOptions) -> Self {
        let mut config = Config::demo();
        for role in [
            Role::SecretsOfficer,
            Role::CertificatesOfficer,
            Role::CryptoOfficer,
        ] {
            config.role_assignments.push(RoleAssignment {
                principal_id: DEMO_OBJECT_ID.to_owned(),
                role,
                scope: VAULT.to_owned(),
            });
        }
        let emulator = Emulator::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("azure.sock");
        let listener = bind(&path).unwrap();
        let mounter = Arc::new(Mounter::new(
            AzureKeyVault::with_http_client(emulator.client().unwrap()).unwrap(),
            options,
        ));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, mounter, Arc::new(Metrics::new()), async {
            let _ = stopped.await;
        }));
        let client = CSIDriverProviderClient::new(connect(&path).await.unwrap());
        let http = emulator.client().unwrap();
        let bearer = vault_token(&emulator, &http).await;
        Self {
            emulator,
            client,
            http,
            bearer,
            _stop: stop,
            _dir: dir,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}{path}?{API}", self.emulator.vault_url(VAULT));
        let response = self
            .http
            .request(method, &url)
            .bearer_auth(&self.bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// `PUT /secrets/{name}`; the new version's id.
    async fn put_secret(&self, name: &str, value: &str, content_type: Option<&str>) -> String {
        let mut body = json!({ "value": value });
        if let Some(content_type) = content_type {
            body["contentType"] = content_type.into();
        }
        let bundle = self
            .call(reqwest::Method::PUT, &format!("/secrets/{name}"), body)
            .await;
        version_of(&bundle["id"])
    }

    /// `GET /secrets/{name}`: what Key Vault serves for it.
    async fn secret(&self, name: &str) -> Value {
        let url = format!("{}/secrets/{name}?{API}", self.emulator.vault_url(VAULT));
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.bearer)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{name}");
        response.json().await.unwrap()
    }

    /// `POST /certificates/{name}/import` of `value` in `content_type`.
    async fn import_certificate(&self, name: &str, value: &str, content_type: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/certificates/{name}/import"),
            json!({ "value": value, "policy": { "secret_props": { "contentType": content_type } } }),
        )
        .await;
    }

    /// `PUT /keys/{name}` of a private JWK.
    async fn import_key(&self, name: &str, jwk: Value) {
        self.call(
            reqwest::Method::PUT,
            &format!("/keys/{name}"),
            json!({ "key": jwk }),
        )
        .await;
    }

    /// `POST /keys/{name}/create`; the public JWK Key Vault answers.
    async fn create_key(&self, name: &str, body: Value) -> Value {
        let bundle = self
            .call(reqwest::Method::POST, &format!("/keys/{name}/create"), body)
            .await;
        bundle["key"].clone()
    }

    /// A driver's mount request of `objects` with `parameters` over the
    /// class's usual ones (the vault, tenant and client of the emulator).
    fn request(&self, objects: &str, parameters: &[(&str, &str)]) -> MountRequest {
        let token = self
            .emulator
            .mint(&TokenSpec::new("team-a", "orders-api"))
            .unwrap();
        let mut all = vec![
            ("keyvaultName", VAULT),
            ("tenantID", DEMO_TENANT),
            ("clientID", DEMO_CLIENT_ID),
            ("objects", objects),
        ];
        all.extend_from_slice(parameters);
        let mut request = common::driver_request(&all, Some(&token));
        // The driver's pod identity is the emulator's workload.
        let mut attributes: Value = serde_json::from_str(&request.attributes).unwrap();
        attributes["csi.storage.k8s.io/pod.namespace"] = "team-a".into();
        attributes["csi.storage.k8s.io/serviceAccount.name"] = "orders-api".into();
        request.attributes = attributes.to_string();
        request
    }

    async fn mount_with(
        &mut self,
        objects: &str,
        parameters: &[(&str, &str)],
    ) -> Result<MountResponse, tonic::Status> {
        let request = self.request(objects, parameters);
        self.client
            .mount(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// Mounts `entries` (see [`objects`]) and expects success.
    async fn mount(&mut self, entries: &[&str]) -> MountResponse {
        self.mount_with(&objects(entries), &[])
            .await
            .unwrap_or_else(|status| panic!("{entries:?}: {status:?}"))
    }

    /// Mounts `entries` and expects a refusal; its status.
    async fn refused(&mut self, entries: &[&str]) -> tonic::Status {
        match self.mount_with(&objects(entries), &[]).await {
            Ok(response) => panic!("{entries:?} mounted: {:?}", common::files(&response)),
            Err(status) => status,
        }
    }
}

/// A Key Vault access token for the demo workload, exchanged as any
/// client would (client credentials with a federated assertion).
async fn vault_token(emulator: &Emulator, http: &reqwest::Client) -> String {
    let assertion = emulator
        .mint(&TokenSpec::new("team-a", "orders-api"))
        .unwrap();
    let url = format!(
        "{}{DEMO_TENANT}/oauth2/v2.0/token",
        emulator.authority_host()
    );
    let response: Value = http
        .post(url)
        .form(&[
            ("client_id", DEMO_CLIENT_ID),
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
            ("scope", "https://vault.azure.net/.default"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"))
        .to_owned()
}

/// The last segment of an object id.
fn version_of(id: &Value) -> String {
    id.as_str().unwrap().rsplit('/').next().unwrap().to_owned()
}

/// The response's file at `path` as text.
fn file(response: &MountResponse, path: &str) -> String {
    let file = response
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path} in {:?}", common::files(response)));
    String::from_utf8(file.contents.clone()).unwrap()
}

fn bytes<'a>(response: &'a MountResponse, path: &str) -> &'a [u8] {
    &response
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no file {path}"))
        .contents
}

fn paths(response: &MountResponse) -> Vec<&str> {
    response.files.iter().map(|f| f.path.as_str()).collect()
}

/// `TestGetContentBytes` and `validate_test.go`'s encoding cases: a secret
/// is written after `objectEncoding` (none and `utf-8` as stored, `base64`
/// and `hex` decoded, case-insensitive); keys and certificates as PEM.
#[tokio::test]
async fn content_bytes_follow_the_object_encoding() {
    let mut world = World::start(MountOptions::default()).await;
    world.put_secret("plain", "abcdefg", None).await;
    world.put_secret("utf8", "TestSecret1", None).await;
    world
        .put_secret("b64", "QmFzZTY0RW5jb2RlZFN0cmluZw==", None)
        .await;
    world
        .put_secret("hex", "486578456E636F646564537472696E67", None)
        .await;
    let response = world
        .mount(&[
            "objectName: plain; objectType: secret",
            "objectName: utf8; objectType: secret; objectEncoding: utf-8",
            "objectName: b64; objectType: secret; objectEncoding: base64",
            "objectName: hex; objectType: secret; objectEncoding: hex",
            "objectName: b64; objectType: secret; objectEncoding: BASE64; objectAlias: b64-upper",
        ])
        .await;
    assert_eq!(bytes(&response, "plain"), b"abcdefg");
    assert_eq!(bytes(&response, "utf8"), b"TestSecret1");
    assert_eq!(bytes(&response, "b64"), b"Base64EncodedString");
    assert_eq!(bytes(&response, "b64-upper"), b"Base64EncodedString");
    assert_eq!(bytes(&response, "hex"), b"HexEncodedString");

    // "Invalid encoding" (NotAnEncoding, utf-16): refused before any read.
    for encoding in ["NotAnEncoding", "utf-16"] {
        let status = world
            .refused(&[&format!(
                "objectName: plain; objectType: secret; objectEncoding: {encoding}"
            )])
            .await;
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        let message = status.message();
        // Go: "invalid objectEncoding: utf-16, should be hex, base64 or utf-8".
        assert!(
            message.contains(&format!(
                "objects[0] (plain): objectEncoding \"{encoding}\" is not valid: should be hex, base64 or utf-8"
            )),
            "{message}"
        );
    }
}

/// `validate_test.go`: `objectEncoding` and `objectFormat: pfx` are for
/// secrets only; an unknown `objectFormat` is refused; `PFX` is
/// case-insensitive.
#[tokio::test]
async fn format_and_encoding_are_checked_as_the_go_provider_checks_them() {
    let mut world = World::start(MountOptions::default()).await;
    let cases = [
        (
            "objectName: plain; objectType: cert; objectEncoding: base64",
            "objectEncoding \"base64\" is not valid: objectEncoding only supported for objectType: secret",
        ),
        (
            "objectName: plain; objectType: cert; objectFormat: pfx",
            "objectFormat \"pfx\" is not valid: PFX format only supported for objectType: secret",
        ),
        (
            "objectName: plain; objectType: secret; objectFormat: pkcs",
            "objectFormat \"pkcs\" is not valid: should be PEM or PFX",
        ),
    ];
    for (entry, expected) in cases {
        let status = world.refused(&[entry]).await;
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(expected), "{entry}: {status:?}");
    }
    // `PFX` in capitals is `pfx`: a plain secret is written as stored.
    world.put_secret("plain", "abcdefg", None).await;
    let response = world
        .mount(&["objectName: plain; objectType: secret; objectFormat: PFX"])
        .await;
    assert_eq!(bytes(&response, "plain"), b"abcdefg");
}

/// `TestFormatKeyVaultObject` and `parameters_test.go`'s "trim spaces":
/// whitespace around every field and parameter is dropped.
#[tokio::test]
async fn whitespace_around_fields_and_parameters_is_trimmed() {
    let mut world = World::start(MountOptions::default()).await;
    world
        .put_secret("secret1", "QmFzZTY0RW5jb2RlZFN0cmluZw==", None)
        .await;
    let entries = objects(&[
        r#"objectName: "secret1     "; objectVersion: ""; objectEncoding: "base64   "; objectType: "  secret"; objectAlias: """#,
    ]);
    let padded_objects = format!("  {entries}  ");
    let padded_vault = format!(" {VAULT} ");
    let padded_tenant = format!(" {DEMO_TENANT} ");
    let response = world
        .mount_with(
            &padded_objects,
            &[
                ("keyvaultName", &padded_vault),
                ("tenantID", &padded_tenant),
                ("cloudName", " AzurePublicCloud "),
            ],
        )
        .await
        .unwrap();
    assert_eq!(paths(&response), ["secret1"]);
    assert_eq!(bytes(&response, "secret1"), b"Base64EncodedString");
    assert_eq!(response.object_version[0].id, "secret/secret1");
}

/// `TestGetLatestNKeyVaultObjects`: with `objectVersionHistory`, versions
/// newest first by creation time as `<file>/<index>`, from the newest or
/// from `objectVersion`, all of them when fewer exist.
#[tokio::test]
async fn version_history_is_newest_first_from_the_asked_version() {
    let mut world = World::start(MountOptions::default()).await;
    // Oldest first, a second apart: Key Vault's `created` is in seconds.
    let mut ids = Vec::new();
    for value in ["e", "d", "c", "b", "a"] {
        if !ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        ids.push(world.put_secret("secret1", value, None).await);
    }
    let version = |value: &str| {
        let at = ["e", "d", "c", "b", "a"]
            .iter()
            .position(|v| *v == value)
            .unwrap();
        ids[at].clone()
    };

    // "filename is name/index when no alias provided" (and with "latest").
    let response = world
        .mount(&["objectName: secret1; objectType: secret; objectVersion: latest; objectVersionHistory: 5"])
        .await;
    for (index, value) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        assert_eq!(file(&response, &format!("secret1/{index}")), *value);
        let entry = &response.object_version[index];
        assert_eq!(entry.id, format!("secret/secret1/{index}"));
        assert_eq!(entry.version, version(value));
    }

    // "starts with latest version when no version specified".
    let response = world
        .mount(&["objectName: secret1; objectType: secret; objectVersionHistory: 2"])
        .await;
    assert_eq!(paths(&response), ["secret1/0", "secret1/1"]);
    assert_eq!(file(&response, "secret1/0"), "a");
    assert_eq!(file(&response, "secret1/1"), "b");

    // "fewer than ObjectVersionHistory results returns all versions".
    let response = world
        .mount(&["objectName: secret1; objectType: secret; objectVersionHistory: 200"])
        .await;
    assert_eq!(response.files.len(), 5);

    // "starts at ObjectVersion when specified".
    let c = version("c");
    let response = world
        .mount(&[&format!(
            "objectName: secret1; objectType: secret; objectVersion: {c}; objectVersionHistory: 5"
        )])
        .await;
    assert_eq!(paths(&response), ["secret1/0", "secret1/1", "secret1/2"]);
    for (index, value) in ["c", "d", "e"].iter().enumerate() {
        assert_eq!(file(&response, &format!("secret1/{index}")), *value);
    }

    // An alias names the directory (`GetFileName`, `GetObjectUID`).
    let response = world
        .mount(&[
            "objectName: secret1; objectType: secret; objectAlias: alias; objectVersionHistory: 2",
        ])
        .await;
    assert_eq!(paths(&response), ["alias/0", "alias/1"]);
    assert_eq!(response.object_version[1].id, "secret/secret1/1");
}

/// `TestDecodePKCS12`, `TestGetSecret` and `TestGetCertificate` over the
/// Go tests' two PFX (an RSA leaf made on Windows; an EC leaf with its
/// intermediate and root), imported as certificates: the secret is the
/// key then the chain leaf first, in Go's bytes; `objectFormat: pfx` keeps
/// the vault's PFX; the certificate is the leaf's PEM.
#[tokio::test]
async fn imported_pfx_certificates_mount_as_the_go_provider_decodes_them() {
    let mut world = World::start(MountOptions::default()).await;
    for (name, data) in [
        ("demo-test-com", "decode-pkcs12-rsa"),
        ("foo", "decode-pkcs12-ec-chain"),
    ] {
        world
            .import_certificate(
                name,
                go(&format!("{data}.pfx.b64")).trim(),
                "application/x-pkcs12",
            )
            .await;
        let expected = go(&format!("{data}.expected.pem"));
        let leaf_at = expected.find("-----BEGIN CERTIFICATE-----").unwrap();
        let leaf_end = expected[leaf_at..]
            .find("-----END CERTIFICATE-----\n")
            .unwrap()
            + leaf_at
            + "-----END CERTIFICATE-----\n".len();
        let served = world.secret(name).await;
        assert_eq!(served["contentType"], "application/x-pkcs12", "{name}");

        let response = world
            .mount(&[
                &format!("objectName: {name}; objectType: secret"),
                &format!("objectName: {name}; objectType: secret; objectFormat: pem; objectAlias: {name}.pem"),
                &format!("objectName: {name}; objectType: secret; objectFormat: pfx; objectAlias: {name}.pfx"),
                &format!("objectName: {name}; objectType: secret; objectFormat: pfx; objectEncoding: base64; objectAlias: {name}.p12"),
                &format!("objectName: {name}; objectType: cert; objectAlias: {name}.crt"),
            ])
            .await;
        assert_eq!(file(&response, name), expected, "{name}");
        assert_eq!(file(&response, &format!("{name}.pem")), expected, "{name}");
        assert_eq!(
            file(&response, &format!("{name}.pfx")),
            served["value"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            bytes(&response, &format!("{name}.p12")),
            base64::engine::general_purpose::STANDARD
                .decode(served["value"].as_str().unwrap())
                .unwrap(),
            "{name}"
        );
        assert_eq!(
            file(&response, &format!("{name}.crt")),
            expected[leaf_at..leaf_end],
            "{name}"
        );
    }
}

/// `TestGetSecret`'s "write cert and key in separate files" over the
/// imported PFX, and `TestSplitCertAndKey` over an imported PEM bundle:
/// `.crt` holds the certificates, `.key` the key, then the usual file.
#[tokio::test]
async fn separate_files_split_imported_certificates_as_the_go_provider_does() {
    let separate = MountOptions {
        write_cert_and_key_in_separate_files: true,
        ..MountOptions::default()
    };
    let mut world = World::start(separate).await;
    world
        .import_certificate(
            "secret1",
            go("decode-pkcs12-rsa.pfx.b64").trim(),
            "application/x-pkcs12",
        )
        .await;
    let expected = go("decode-pkcs12-rsa.expected.pem");
    let certs_at = expected.find("-----BEGIN CERTIFICATE-----").unwrap();
    let response = world
        .mount(&["objectName: secret1; objectType: secret"])
        .await;
    assert_eq!(paths(&response), ["secret1.crt", "secret1.key", "secret1"]);
    assert_eq!(file(&response, "secret1.crt"), expected[certs_at..]);
    assert_eq!(file(&response, "secret1.key"), expected[..certs_at]);
    assert_eq!(file(&response, "secret1"), expected);

    // A PEM bundle (the Go test's certificate, then its key) is written as
    // Key Vault serves it; its `.crt` and `.key` split it.
    let key = &expected[..certs_at];
    let cert = &expected[certs_at..];
    world
        .import_certificate("pem1", &format!("{cert}{key}"), "application/x-pem-file")
        .await;
    let served = world.secret("pem1").await;
    assert_eq!(served["contentType"], "application/x-pem-file");
    let response = world.mount(&["objectName: pem1; objectType: secret"]).await;
    assert_eq!(file(&response, "pem1"), served["value"].as_str().unwrap());
    assert_eq!(file(&response, "pem1.crt"), cert);
    assert_eq!(file(&response, "pem1.key"), key);
}

/// `TestFetchCertChain` and `TestFetchCertChainWithLeafMissingSKI` through
/// the vault: a PFX whose chain comes in every order is written leaf
/// first, then each issuer up to the root, whether or not the leaf carries
/// a subject key identifier. Key Vault serves an imported PFX with its leaf
/// first (the emulator as well), so the orders that reach the provider are
/// those of the certificates above the leaf; the Go tests' own
/// certificates, whose keys are not published, are held in every order by
/// the unit tests of `src/content.rs`.
#[tokio::test]
async fn chains_in_every_order_are_written_leaf_first() {
    let mut world = World::start(MountOptions::default()).await;
    for (leaf_has_ski, depth) in [(true, 1), (false, 2)] {
        let chain = Chain::new(depth, leaf_has_ski);
        let mut above_leaf: Vec<usize> = (0..chain.certs.len() - 1).collect();
        let expected = chain.expected_pem();
        for (n, order) in permutations(&mut above_leaf).into_iter().enumerate() {
            let name = format!("chain-{depth}-{n}");
            // The leaf in the middle or at the end of the archive, too.
            let mut archive: Vec<usize> = order.clone();
            archive.insert(n % (order.len() + 1), chain.certs.len() - 1);
            world
                .import_certificate(&name, &chain.pfx(&archive), "application/x-pkcs12")
                .await;
            let response = world
                .mount(&[&format!("objectName: {name}; objectType: secret")])
                .await;
            assert_eq!(file(&response, &name), expected, "{name}: {archive:?}");
        }
    }
}

/// `TestFetchCertChainWarning`: a chain missing its intermediate is written
/// leaf first, then what the archive holds in its order.
#[tokio::test]
async fn an_incomplete_chain_keeps_what_it_has() {
    let mut world = World::start(MountOptions::default()).await;
    let chain = Chain::new(1, true);
    // Root and leaf only (the leaf's issuer is missing).
    let archive = [0, 2];
    world
        .import_certificate("incomplete", &chain.pfx(&archive), "application/x-pkcs12")
        .await;
    let response = world
        .mount(&["objectName: incomplete; objectType: secret"])
        .await;
    let expected = format!(
        "{}{}{}",
        chain.key_pem(),
        pem("CERTIFICATE", &chain.certs[2]),
        pem("CERTIFICATE", &chain.certs[0])
    );
    assert_eq!(file(&response, "incomplete"), expected);
}

/// `TestGetCurve` and `getKey`: an RSA key (the Go tests' PKCS#1 key) and
/// EC keys on P-256 (their SEC1 key), P-384 and P-521 are written as PKIX
/// `PUBLIC KEY` PEM; a P-256K key is refused naming the curve, as Go's
/// `x509` has no P-256K.
#[tokio::test]
async fn keys_are_written_as_pkix_public_keys_and_p256k_is_refused() {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::{EncodePublicKey as _, LineEnding};
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

    let mut world = World::start(MountOptions::default()).await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);

    let rsa_key = rsa::RsaPrivateKey::from_pkcs1_pem(&go("rsa-pkcs1-key.pem")).unwrap();
    let primes = rsa_key.primes();
    world
        .import_key(
            "rsa",
            json!({
                "kty": "RSA",
                "n": b64(&rsa_key.n().to_bytes_be()),
                "e": b64(&rsa_key.e().to_bytes_be()),
                "d": b64(&rsa_key.d().to_bytes_be()),
                "p": b64(&primes[0].to_bytes_be()),
                "q": b64(&primes[1].to_bytes_be()),
                "dp": b64(&rsa_key.dp().unwrap().to_bytes_be()),
                "dq": b64(&rsa_key.dq().unwrap().to_bytes_be()),
                "qi": b64(&rsa_key.crt_coefficient().unwrap().to_bytes_be()),
            }),
        )
        .await;
    let rsa_pem = rsa_key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let ec_key = p256::SecretKey::from_sec1_pem(&go("ec-sec1-key.pem")).unwrap();
    let point = ec_key.public_key().to_encoded_point(false);
    world
        .import_key(
            "ec256",
            json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(point.x().unwrap()),
                "y": b64(point.y().unwrap()),
                "d": b64(&ec_key.to_bytes()),
            }),
        )
        .await;
    let ec256_pem = ec_key
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let coordinates = |jwk: &Value| {
        let decode = |c: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwk[c].as_str().unwrap())
                .unwrap()
        };
        [vec![4u8], decode("x"), decode("y")].concat()
    };
    let p384 = world
        .create_key("ec384", json!({"kty": "EC", "crv": "P-384"}))
        .await;
    let ec384_pem = p384::PublicKey::from_sec1_bytes(&coordinates(&p384))
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let p521 = world
        .create_key("ec521", json!({"kty": "EC", "crv": "P-521"}))
        .await;
    let ec521_pem = p521::PublicKey::from_sec1_bytes(&coordinates(&p521))
        .unwrap()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();

    let response = world
        .mount(&[
            "objectName: rsa; objectType: key",
            "objectName: ec256; objectType: key",
            "objectName: ec384; objectType: key",
            "objectName: ec521; objectType: key",
        ])
        .await;
    assert_eq!(file(&response, "rsa"), rsa_pem);
    assert_eq!(file(&response, "ec256"), ec256_pem);
    assert_eq!(file(&response, "ec384"), ec384_pem);
    assert_eq!(file(&response, "ec521"), ec521_pem);

    world
        .create_key("k256", json!({"kty": "EC", "crv": "P-256K"}))
        .await;
    let status = world.refused(&["objectName: k256; objectType: key"]).await;
    let message = status.message();
    assert!(
        message.contains("k256") && message.contains("P-256K") && message.contains("not supported"),
        "{message}"
    );
}

/// `TestGetSecretsStoreObjectContent`'s refusals, each before anything is
/// fetched, and its "error fetching from keyvault" naming the object.
#[tokio::test]
async fn parameters_are_refused_as_the_go_provider_refuses_them() {
    let mut world = World::start(MountOptions::default()).await;
    let secret = objects(&["objectName: secret1; objectType: secret; objectVersion: \"\""]);
    let cases: [(&[(&str, &str)], &str); 6] = [
        // Go: "keyvaultName is not provided", "tenantId is not provided".
        (&[("keyvaultName", "")], "keyvaultName is not set"),
        (&[("tenantID", "")], "tenantID is not set"),
        (&[("usePodIdentity", "tru")], "usePodIdentity"),
        (&[("useVMManagedIdentity", "tru")], "useVMManagedIdentity"),
        (&[("cloudName", "AzureCloud1")], "cloudName"),
        (&[("objects", "")], "objects is not set"),
    ];
    for (parameters, expected) in cases {
        let status = world.mount_with(&secret, parameters).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{parameters:?}"
        );
        assert!(
            status.message().contains(expected),
            "{parameters:?}: {status:?}"
        );
    }
    // "objects not configured as an array".
    let not_array = "\n        - |\n          objectName: secret1\n          objectType: secret\n          objectVersion: \"\"";
    let status = world.mount_with(not_array, &[]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("objects"), "{status:?}");
    assert_eq!(
        world.emulator.counters().vault_requests(),
        0,
        "nothing is fetched for a refused mount"
    );

    // "error fetching from keyvault": the object names itself.
    let status = world.mount_with(&secret, &[]).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert!(status.message().contains("secret1"), "{status:?}");
}

/// `parameters_test.go`'s file names and permissions: an absolute alias or
/// one with `..` is refused, `filePermission` is octal.
#[tokio::test]
async fn file_names_and_permissions_are_checked() {
    let mut world = World::start(MountOptions::default()).await;
    world.put_secret("secret1", "v", None).await;
    for (entry, expected) in [
        (
            "objectName: secret1; objectType: secret; objectAlias: /etc/passwd",
            "relative",
        ),
        (
            "objectName: secret1; objectType: secret; objectAlias: a/../../b",
            "..",
        ),
        (
            "objectName: secret1; objectType: secret; objectAlias: ../b",
            "..",
        ),
        (
            "objectName: secret1; objectType: secret; filePermission: \"900\"",
            "filePermission",
        ),
        (
            "objectName: secret1; objectType: secret; filePermission: \"0900\"",
            "filePermission",
        ),
    ] {
        let status = world.refused(&[entry]).await;
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{entry}");
        assert!(status.message().contains(expected), "{entry}: {status:?}");
    }
    let response = world
        .mount(&["objectName: secret1; objectType: secret; filePermission: \"0600\""])
        .await;
    assert_eq!(response.files[0].mode, 0o600);
    let response = world
        .mount(&["objectName: secret1; objectType: secret"])
        .await;
    assert_eq!(response.files[0].mode, 0o644);
}

/// A CA chain made here (root, `depth` intermediates, a leaf), with the
/// leaf's key, for PFX in any order.
struct Chain {
    /// DER, root first, leaf last.
    certs: Vec<Vec<u8>>,
    key: rcgen::KeyPair,
}

impl Chain {
    fn new(depth: usize, leaf_has_ski: bool) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_params = |name: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.use_authority_key_identifier_extension = true;
            params
        };
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("test-ca");
        let root = root_params.self_signed(&root_key).unwrap();
        let mut certs = vec![root.der().to_vec()];
        let mut issuer = Issuer::new(root_params, root_key);
        for level in 1..=depth {
            let key = KeyPair::generate().unwrap();
            let params = ca_params(&format!("test-int{level}"));
            let cert = params.signed_by(&key, &issuer).unwrap();
            certs.push(cert.der().to_vec());
            issuer = Issuer::new(params, key);
        }
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["example.com".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "test-leaf");
        params.use_authority_key_identifier_extension = true;
        // rcgen writes a subject key identifier only with basic constraints.
        params.is_ca = if leaf_has_ski {
            IsCa::ExplicitNoCa
        } else {
            IsCa::NoCa
        };
        let leaf = params.signed_by(&key, &issuer).unwrap();
        certs.push(leaf.der().to_vec());
        Self { certs, key }
    }

    fn key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.key.serialize_der())
    }

    /// The key, then leaf to root.
    fn expected_pem(&self) -> String {
        let mut out = self.key_pem();
        for der in self.certs.iter().rev() {
            out.push_str(&pem("CERTIFICATE", der));
        }
        out
    }

    /// Base64 of a PFX (no password) holding the key and `order`'s
    /// certificates (indices into `certs`), in that order.
    fn pfx(&self, order: &[usize]) -> String {
        use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
        let key = PrivateKey::from_der(&self.key.serialize_der()).unwrap();
        let certs: Vec<Certificate> = order
            .iter()
            .map(|&i| Certificate::from_der(&self.certs[i]).unwrap())
            .collect();
        let mut store = KeyStore::new();
        store.add_entry(
            "leaf",
            KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(vec![1u8, 0, 0, 0], key, certs)),
        );
        let der = store.writer("").write().unwrap();
        base64::engine::general_purpose::STANDARD.encode(der)
    }
}

/// PEM as Go's `pem.EncodeToMemory` writes it: 64 columns, LF.
fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every order of `items`.
fn permutations(items: &mut [usize]) -> Vec<Vec<usize>> {
    fn go(items: &mut [usize], k: usize, out: &mut Vec<Vec<usize>>) {
        if k == items.len() {
            out.push(items.to_vec());
            return;
        }
        for i in k..items.len() {
            items.swap(k, i);
            go(items, k + 1, out);
            items.swap(k, i);
        }
    }
    let mut out = Vec::new();
    go(items, 0, &mut out);
    out
}
