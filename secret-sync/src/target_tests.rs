use super::*;
use crate::{api::ExternalSecret, plan::plan};

fn planned(yaml: &str) -> SyncPlan {
    let es: ExternalSecret = yaml_serde::from_str(yaml).unwrap();
    plan(&es).unwrap()
}

const ES: &str = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app-db-credentials, namespace: app}
spec:
  secretStoreRef: {name: azure-kv}
  target:
    name: app-db-credentials
    template:
      type: kubernetes.io/basic-auth
      metadata:
        labels: {team: a}
        annotations: {note: synced}
  dataFrom:
  - extract: {key: db-config}
  data:
  - secretKey: username
    remoteRef: {key: app-prod-db-username}
  - secretKey: port
    remoteRef: {key: db-config, property: port}
  - secretKey: ca
    remoteRef: {key: ca-b64, decodingStrategy: Base64}
"#;

fn owner() -> Owner {
    Owner {
        namespace: "app".into(),
        name: "app-db-credentials".into(),
        uid: "0b5cf4a2-0000-4000-8000-000000000001".into(),
    }
}

#[test]
fn data_is_extracts_then_data_with_property_and_decoding() {
    let plan = planned(ES);
    let fetched = Fetched {
        reads: vec![
            Remote::Value(b"admin".to_vec()),
            Remote::Value(br#"{"port":5432,"username":"from-extract"}"#.to_vec()),
            Remote::Value(b"aGVsbG8=".to_vec()),
        ],
        extracts: vec![Remote::Value(
            br#"{"port":5432,"username":"from-extract","host":"db"}"#.to_vec(),
        )],
        finds: vec![],
    };
    let data = assemble(&plan, &fetched).unwrap();
    let text = |k: &str| String::from_utf8(data[k].clone()).unwrap();
    // `data` wins over `dataFrom` for the same key.
    assert_eq!(text("username"), "admin");
    assert_eq!(text("host"), "db");
    assert_eq!(text("port"), "5432");
    assert_eq!(text("ca"), "hello");
}

#[test]
fn the_secret_is_marked_as_eso_marks_it() {
    let plan = planned(ES);
    let data: BTreeMap<String, Vec<u8>> = [("a".to_owned(), b"hi".to_vec())].into();
    let secret = desired_secret(&owner(), &plan, untemplated(&plan, data.clone()));
    let meta = &secret.metadata;
    assert_eq!(meta.name.as_deref(), Some("app-db-credentials"));
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels[MANAGED_LABEL], "true");
    assert_eq!(labels["team"], "a");
    assert_eq!(
        labels[CREATED_BY_LABEL],
        created_by("app", "app-db-credentials")
    );
    assert_eq!(meta.annotations.as_ref().unwrap()["note"], "synced");
    let reference = &meta.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            reference.kind.as_str(),
            reference.controller,
            reference.uid.as_str()
        ),
        (
            "ExternalSecret",
            Some(true),
            "0b5cf4a2-0000-4000-8000-000000000001"
        )
    );
    assert!(is_current(&secret, &data));

    // A hand edit is not current.
    let mut edited = secret.clone();
    edited
        .data
        .as_mut()
        .unwrap()
        .insert("a".into(), ByteString(b"changed".to_vec()));
    assert!(!is_current(&edited, &data));

    // Orphan: no owner, no created-by.
    let orphan = planned(&ES.replace(
        "name: app-db-credentials\n    template",
        "name: app-db-credentials\n    creationPolicy: Orphan\n    template",
    ));
    let secret = desired_secret(&owner(), &orphan, untemplated(&orphan, data));
    assert!(secret.metadata.owner_references.is_none());
    assert!(
        !secret
            .metadata
            .labels
            .unwrap()
            .contains_key(CREATED_BY_LABEL)
    );
}

#[test]
fn hashes_are_esos() {
    // Go: fmt.Sprintf("%+v", map[string][]byte{"a": []byte("hi"), "b": {}})
    // is "map[a:[104 105] b:[]]"; ESO stores hex SHA3-224 of it.
    let data: BTreeMap<String, Vec<u8>> =
        [("b".to_owned(), vec![]), ("a".to_owned(), b"hi".to_vec())].into();
    assert_eq!(
        data_hash(&data),
        hex(&Sha3_224::digest(b"map[a:[104 105] b:[]]"))
    );
    // SHA3-224("") is a published test vector; the empty map hashes "map[]".
    assert_eq!(
        hex(&Sha3_224::digest(b"")),
        "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"
    );
    assert_eq!(
        data_hash(&BTreeMap::new()),
        hex(&Sha3_224::digest(b"map[]"))
    );
}

/// `metadataPolicy: Fetch` through the assembly, decoded as ESO decodes
/// it: a `data` entry's tag with `decodingStrategy`, and an extract's
/// split tags rewritten, then decoded.
#[test]
fn fetched_tags_are_decoded_and_rewritten_as_values_are() {
    let plan = planned(
        r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: app, namespace: app}
spec:
  secretStoreRef: {name: azure-kv}
  dataFrom:
  - extract: {key: db, metadataPolicy: Fetch, decodingStrategy: Base64}
    rewrite:
    - regexp: {source: "^db_", target: "tag-"}
  data:
  - secretKey: owner
    remoteRef: {key: db, property: owner, metadataPolicy: Fetch, decodingStrategy: Base64}
  - secretKey: all
    remoteRef: {key: db, metadataPolicy: Fetch}
"#,
    );
    let tags = crate::remote::Metadata {
        tags: [("owner", "dGVhbS1h"), ("cfg", r#"{"a":"YQ=="}"#)]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..crate::remote::Metadata::default()
    };
    let fetched = Fetched {
        reads: vec![
            Remote::Metadata(tags.clone()),
            Remote::Metadata(tags.clone()),
        ],
        extracts: vec![Remote::Metadata(tags)],
        finds: vec![],
    };
    let data = assemble(&plan, &fetched).unwrap();
    let text = |k: &str| String::from_utf8(data[k].clone()).unwrap();
    assert_eq!(text("owner"), "team-a");
    assert_eq!(
        text("all"),
        r#"{"cfg":"{\"a\":\"YQ==\"}","owner":"dGVhbS1h"}"#
    );
    assert_eq!(text("tag-owner"), "team-a");
    assert_eq!(text("tag-cfg_a"), "a");
    assert_eq!(data.len(), 4);

    // A tag that does not decode fails the sync, naming the key.
    let mut broken = fetched.clone();
    broken.reads[0] = Remote::Metadata(crate::remote::Metadata {
        tags: [("owner".to_owned(), "not base64!".to_owned())].into(),
        ..crate::remote::Metadata::default()
    });
    broken.extracts.clear();
    let mut only_data = plan.clone();
    only_data.extracts.clear();
    let err = assemble(&only_data, &broken).unwrap_err().to_string();
    assert!(err.contains("the value of db is not base64"), "{err}");
}
