#![allow(clippy::unwrap_used)]

use super::*;

fn spec(yaml: &str) -> PushSecretSpec {
    yaml_serde::from_str(yaml).unwrap()
}

fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

const NO_LABELS: &BTreeMap<String, String> = &BTreeMap::new();

fn store(name: &str) -> StoreInfo<'_> {
    StoreInfo {
        name,
        kind: StoreKind::SecretStore,
        labels: NO_LABELS,
    }
}

/// `(secret key, remote key, bundle keys)` of each entry.
fn summary(entries: &[Entry]) -> Vec<(String, String, Option<Vec<String>>)> {
    entries
        .iter()
        .map(|e| {
            (
                secret_key(&e.data).to_owned(),
                e.data.match_.remote_ref.remote_key.clone(),
                e.bundle.as_ref().map(|b| b.keys().cloned().collect()),
            )
        })
        .collect()
}

/// ESO's `TestReverse` and `TestReverseKeys`
/// (runtime/esutils/utils_test.go).
#[test]
fn keys_are_reversed_as_eso_reverses_them() {
    use PushConversionStrategy::{None, ReverseUnicode};
    assert_eq!(
        reverse_key(None, "some-array_U005b_0_U005d_.entity"),
        "some-array_U005b_0_U005d_.entity"
    );
    assert_eq!(
        reverse_key(ReverseUnicode, "some-array_U005b_0_U005d_.entity"),
        "some-array[0].entity"
    );
    assert_eq!(reverse_key(ReverseUnicode, "_U0xxx_x_U005b_"), "_U0xxx_x[");
    // Beyond the BMP: five digits, as ESO's ConvertKeys writes them.
    assert_eq!(
        reverse_key(
            ReverseUnicode,
            "_U1f600_foo_U1f601_bar_U1f602_baz_U1f608_bing"
        ),
        "😀foo😁bar😂baz😈bing"
    );
    // Go's `{4,5}` is greedy: five digits when a `_` follows them.
    assert_eq!(reverse_key(ReverseUnicode, "_U00411_"), "\u{411}");
    assert_eq!(reverse_key(ReverseUnicode, "_U0041x_"), "_U0041x_");
    assert_eq!(reverse_key(ReverseUnicode, "__U0041_"), "_A");
    assert_eq!(
        reverse_keys(ReverseUnicode, &secret(&[("a_U0020_b", "1"), ("a b", "2")])).unwrap_err(),
        "secret name collision during conversion: a b"
    );
}

#[test]
fn explicit_data_is_pushed_as_written() {
    let spec = spec(
        "selector: {secret: {name: s}}
secretStoreRefs: [{name: kv}]
data:
- match: {secretKey: a, remoteRef: {remoteKey: ra}}
- match: {remoteRef: {remoteKey: all}}
",
    );
    let entries = entries_for_store(&spec, &secret(&[("a", "1")]), store("kv")).unwrap();
    assert_eq!(
        summary(&entries),
        [
            ("a".to_owned(), "ra".to_owned(), None),
            (String::new(), "all".to_owned(), None)
        ]
    );
}

#[test]
fn data_to_expands_per_key_after_rewrites_and_explicit_data_wins() {
    let spec = spec(
        r#"selector: {secret: {name: s}}
secretStoreRefs: [{name: kv}]
dataTo:
- storeRef: {name: kv}
  match: {regexp: "^db-"}
  rewrite:
  - regexp: {source: "^db-", target: "app-"}
  - transform: {template: "{{ .value | upper }}"}
data:
- match: {secretKey: db-pass, remoteRef: {remoteKey: explicit}}
"#,
    );
    let data = secret(&[("db-user", "u"), ("db-pass", "p"), ("other", "o")]);
    let entries = entries_for_store(&spec, &data, store("kv")).unwrap();
    assert_eq!(
        summary(&entries),
        [
            ("db-user".to_owned(), "APP-USER".to_owned(), None),
            ("db-pass".to_owned(), "explicit".to_owned(), None)
        ]
    );
    // Another store gets only the explicit entry.
    let other = entries_for_store(&spec, &data, store("elsewhere")).unwrap();
    assert_eq!(summary(&other).len(), 1);
}

#[test]
fn a_bundle_holds_only_the_matched_keys() {
    let spec = spec(
        r#"selector: {secret: {name: s}}
secretStoreRefs: [{name: kv}]
dataTo:
- storeRef: {name: kv}
  remoteKey: bundle
  match: {regexp: "^DB_"}
"#,
    );
    let data = secret(&[("DB_HOST", "h"), ("DB_USER", "u"), ("API", "a")]);
    let entries = entries_for_store(&spec, &data, store("kv")).unwrap();
    assert_eq!(
        summary(&entries),
        [(
            String::new(),
            "bundle".to_owned(),
            Some(vec!["DB_HOST".to_owned(), "DB_USER".to_owned()])
        )]
    );
    assert_eq!(
        entry_source(&entries[0], &data).unwrap(),
        secret(&[("DB_HOST", "h"), ("DB_USER", "u")])
    );
}

#[test]
fn data_to_chooses_stores_by_labels_and_kind() {
    let spec = spec(
        r#"selector: {secret: {name: s}}
secretStoreRefs: [{labelSelector: {matchLabels: {env: prod}}}]
dataTo:
- storeRef: {labelSelector: {matchLabels: {env: prod}}}
"#,
    );
    let prod: BTreeMap<String, String> = [("env".to_owned(), "prod".to_owned())].into();
    let labelled = StoreInfo {
        name: "kv",
        kind: StoreKind::SecretStore,
        labels: &prod,
    };
    let data = secret(&[("a", "1")]);
    assert_eq!(
        summary(&entries_for_store(&spec, &data, labelled).unwrap()).len(),
        1
    );
    assert!(
        entries_for_store(&spec, &data, store("kv"))
            .unwrap()
            .is_empty()
    );
    let cluster = StoreInfo {
        kind: StoreKind::ClusterSecretStore,
        ..labelled
    };
    assert!(entries_for_store(&spec, &data, cluster).unwrap().is_empty());
    assert_eq!(
        check_data_to_stores(&spec, &[store("kv")]).unwrap_err(),
        "dataTo[0]: labelSelector does not match any store in secretStoreRefs"
    );
    check_data_to_stores(&spec, &[labelled]).unwrap();
}

#[test]
fn bad_data_to_is_refused_with_esos_texts() {
    let refs = "selector: {secret: {name: s}}\nsecretStoreRefs: [{name: kv}]\n";
    for (data_to, error) in [
        ("- match: {regexp: a}", "dataTo[0]: storeRef is required"),
        (
            "- storeRef: {kind: SecretStore}",
            "dataTo[0]: storeRef must have name or labelSelector",
        ),
        (
            "- storeRef: {name: other}",
            "dataTo[0]: storeRef \"other\" not found in secretStoreRefs",
        ),
        (
            "- storeRef: {name: kv, kind: ClusterSecretStore}",
            "dataTo[0]: storeRef \"kv\" not found in secretStoreRefs",
        ),
    ] {
        let spec = spec(&format!("{refs}dataTo:\n{data_to}\n"));
        assert_eq!(check_data_to(&spec).unwrap_err(), error, "{data_to}");
    }
    let data = secret(&[("a", "1"), ("b", "2")]);
    for (data_to, error) in [
        (
            "- {storeRef: {name: kv}, remoteKey: r, rewrite: [{regexp: {source: a, target: b}}]}",
            "failed to expand dataTo: dataTo[0]: remoteKey and rewrite are mutually exclusive: rewrite is only supported in per-key mode (without remoteKey)",
        ),
        (
            "- {storeRef: {name: kv}, rewrite: [{regexp: {source: '.*', target: ''}}]}",
            "failed to expand dataTo: dataTo[0]: empty remote key produced for source key \"a\"",
        ),
        (
            "- {storeRef: {name: kv}, rewrite: [{transform: {template: '{{ .value'}}]}",
            "failed to expand dataTo: dataTo[0]: rewrite failed: rewrite[0]: invalid template: template: t:1: unclosed action",
        ),
        (
            "- {storeRef: {name: kv}, rewrite: [{transform: {template: '{{ fail \"no\" }}'}}]}",
            "failed to expand dataTo: dataTo[0]: rewrite failed: rewrite[0] on key \"a\": template exec: template: t:1:3: executing \"t\" at <fail>: error calling fail: no",
        ),
        (
            "- {storeRef: {name: kv}, match: {regexp: 'a'}}\n- {storeRef: {name: kv}, remoteKey: a}",
            "failed to expand dataTo: dataTo[1]: duplicate remote key \"a\" from source key \"(bundle)\" (conflicts with dataTo[0]:a)",
        ),
    ] {
        let spec = spec(&format!("{refs}dataTo:\n{data_to}\n"));
        assert_eq!(
            entries_for_store(&spec, &data, store("kv")).unwrap_err(),
            error,
            "{data_to}"
        );
    }
    let twice = spec(&format!(
        "{refs}data:\n- match: {{secretKey: a, remoteRef: {{remoteKey: r}}}}\n- match: {{secretKey: b, remoteRef: {{remoteKey: r}}}}\n"
    ));
    assert_eq!(
        entries_for_store(&twice, &data, store("kv")).unwrap_err(),
        "failed to merge data entries: duplicate remote key \"r\": source keys \"a\" and \"b\" both map to the same destination"
    );
}

#[test]
fn an_explicit_entry_with_reverse_unicode_reads_the_converted_key() {
    let spec = spec(
        r#"selector: {secret: {name: s}}
secretStoreRefs: [{name: kv}]
dataTo:
- storeRef: {name: kv}
data:
- match: {secretKey: "a b", remoteRef: {remoteKey: spaced}}
  conversionStrategy: ReverseUnicode
"#,
    );
    let data = secret(&[("a_U0020_b", "1"), ("c", "2")]);
    let entries = entries_for_store(&spec, &data, store("kv")).unwrap();
    // The dataTo entry for the same source key gives way.
    assert_eq!(
        summary(&entries),
        [
            ("c".to_owned(), "c".to_owned(), None),
            ("a b".to_owned(), "spaced".to_owned(), None)
        ]
    );
    assert_eq!(
        entry_source(&entries[1], &data).unwrap()["a b"],
        b"1".to_vec()
    );
}
