#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use azure_wi_template::{Delims, Env, Limits, Registry};

use super::*;
use crate::api::TargetTemplate;

fn template(yaml: &str) -> TargetTemplate {
    yaml_serde::from_str(yaml).unwrap()
}

fn bytes(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn run(
    t: &TargetTemplate,
    fetched: &BTreeMap<String, Vec<u8>>,
    sources: &Sources,
) -> Result<Rendered, RenderError> {
    let funcs: Registry = azure_wi_template::functions();
    let engine = Engine {
        funcs: &funcs,
        delims: &Delims::default(),
        limits: &Limits::default(),
    };
    let mut random = |b: &mut [u8]| b.fill(7);
    let mut env = Env {
        now: time::OffsetDateTime::UNIX_EPOCH,
        random: &mut random,
    };
    render(t, fetched, sources, &engine, &mut env)
}

fn text(data: &BTreeMap<String, Vec<u8>>, key: &str) -> String {
    String::from_utf8(data[key].clone()).unwrap()
}

/// ESO's `syncWithTemplate`/`syncWithTemplateV2`: `template.data`
/// replaces the values read (mergePolicy Replace), labels and annotations
/// of the template are rendered.
#[test]
fn template_data_replaces_the_values_read() {
    let t = template(
        r#"
type: Opaque
engineVersion: v2
metadata:
  labels: {foos: ball}
  annotations: {hihi: ga}
data:
  targetProperty: "{{ .targetProperty | toString | upper }} was templated"
  tplstatickey: tplstaticvalue
"#,
    );
    let out = run(
        &t,
        &bytes(&[("targetProperty", "someValue"), ("other", "x")]),
        &Sources::default(),
    )
    .unwrap();
    assert_eq!(text(&out.data, "targetProperty"), "SOMEVALUE was templated");
    assert_eq!(text(&out.data, "tplstatickey"), "tplstaticvalue");
    assert!(
        !out.data.contains_key("other"),
        "Replace drops the keys read"
    );
    assert_eq!(out.labels["foos"], "ball");
    assert_eq!(out.annotations["hihi"], "ga");
}

/// ESO's `templateShouldMerge` and `onlyMetadataFromTemplate`.
#[test]
fn merge_keeps_the_values_read_and_metadata_only_templates_keep_them_too() {
    let merge = template("mergePolicy: Merge\ndata:\n  key: '{{.targetProperty}}-foo'\n");
    let out = run(
        &merge,
        &bytes(&[("targetProperty", "someValue")]),
        &Sources::default(),
    )
    .unwrap();
    assert_eq!(text(&out.data, "key"), "someValue-foo");
    assert_eq!(text(&out.data, "targetProperty"), "someValue");

    let metadata_only = template("metadata:\n  labels: {foo: bar}\n  annotations: {foo: bar}\n");
    let out = run(
        &metadata_only,
        &bytes(&[("targetProperty", "someValue")]),
        &Sources::default(),
    )
    .unwrap();
    assert_eq!(text(&out.data, "targetProperty"), "someValue");
    assert_eq!(out.labels["foo"], "bar");
}

/// ESO's `syncWithTemplatePrecedence`: ConfigMap and Secret templates,
/// `template.data` over them.
#[test]
fn template_from_config_maps_and_secrets_with_data_winning() {
    let t = template(
        r#"
type: Opaque
templateFrom:
- configMap:
    name: template-cm
    items: [{key: tpl-from-key}]
- secret:
    name: template-secret
    items: [{key: tpl-from-sec-key}]
data:
  targetProperty: "{{ .targetProperty | toString | upper }} was templated"
  bar: "value from map: {{ .bar | toString }}"
  tplstatickey: tplstaticvalue
"#,
    );
    let mut sources = Sources::default();
    sources.config_maps.insert(
        "template-cm".into(),
        [(
            "tpl-from-key".to_owned(),
            "tpl-from-value: {{ .targetProperty | toString }} // {{ .bar | toString }}".to_owned(),
        )]
        .into(),
    );
    sources.secrets.insert(
        "template-secret".into(),
        bytes(&[(
            "tpl-from-sec-key",
            "tpl-from-sec-value: {{ .targetProperty | toString }} // {{ .bar | toString }}",
        )]),
    );
    let out = run(
        &t,
        &bytes(&[("targetProperty", "someValue"), ("bar", "map-bar-value")]),
        &sources,
    )
    .unwrap();
    assert_eq!(text(&out.data, "targetProperty"), "SOMEVALUE was templated");
    assert_eq!(text(&out.data, "bar"), "value from map: map-bar-value");
    assert_eq!(
        text(&out.data, "tpl-from-key"),
        "tpl-from-value: someValue // map-bar-value"
    );
    assert_eq!(
        text(&out.data, "tpl-from-sec-key"),
        "tpl-from-sec-value: someValue // map-bar-value"
    );
}

/// ESO's `syncTemplateFromKeysAndValues` and `syncTemplateFromLiteral`.
#[test]
fn keys_and_values_templates_and_literals_make_keys_labels_and_annotations() {
    let t = template(
        r#"
templateFrom:
- configMap:
    name: template-cm
    items: [{key: tpl-from-key, templateAs: KeysAndValues}]
- literal: "{{ .targetKey }}-literal: {{ .targetValue }}"
- literal: |

    {{- range $k, $v := ( .complex | fromJson )}}
    {{ $k }}: {{ $v }}
    {{- end }}
- target: Annotations
  literal: "{{ .targetKey }}-annotations: {{ .targetValue }}"
- target: labels
  literal: "{{ .targetKey }}-labels: {{ .targetValue }}"
"#,
    );
    let mut sources = Sources::default();
    sources.config_maps.insert(
        "template-cm".into(),
        [(
            "tpl-from-key".to_owned(),
            "{{ .targetKey }}-cm: {{ .targetValue }}".to_owned(),
        )]
        .into(),
    );
    let fetched = bytes(&[
        ("targetKey", "map-foo-value"),
        ("targetValue", "map-bar-value"),
        (
            "complex",
            r#"{"nested":"json","can":"be","templated":"successfully"}"#,
        ),
    ]);
    let out = run(&t, &fetched, &sources).unwrap();
    assert_eq!(text(&out.data, "map-foo-value-cm"), "map-bar-value");
    assert_eq!(text(&out.data, "map-foo-value-literal"), "map-bar-value");
    assert_eq!(text(&out.data, "nested"), "json");
    assert_eq!(text(&out.data, "can"), "be");
    assert_eq!(text(&out.data, "templated"), "successfully");
    assert_eq!(
        out.annotations["map-foo-value-annotations"],
        "map-bar-value"
    );
    assert_eq!(out.labels["map-foo-value-labels"], "map-bar-value");
    assert!(!out.data.contains_key("targetKey"));
}

/// ESO's `TestApplyTemplateRejectsPathStyleTemplateFromTarget`.
#[test]
fn template_from_targets_other_than_data_labels_annotations_are_refused() {
    for target in [
        "type",
        "metadata.annotations",
        "Metadata.Annotations",
        "immutable",
        "metadata.ownerReferences",
    ] {
        let t = template(&format!(
            "engineVersion: v2\nmetadata:\n  annotations: {{kubernetes.io/service-account.name: victim-sa}}\ntemplateFrom:\n- literal: kubernetes.io/service-account-token\n  target: {target}\n"
        ));
        let e = run(&t, &BTreeMap::new(), &Sources::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("is not allowed when targeting a Secret"),
            "{target}: {e}"
        );
    }
}

/// ESO's `TestApplyTemplateRejectsPrivilegedTemplate`, texts exactly.
#[test]
fn privileged_templates_are_refused_with_esos_texts() {
    for (yaml, want) in [
        (
            "type: kubernetes.io/service-account-token\nmetadata:\n  annotations: {kubernetes.io/service-account.name: kube-system-admin-sa}\n",
            r#"template.type="kubernetes.io/service-account-token" with annotation "kubernetes.io/service-account.name" is not allowed"#,
        ),
        (
            "type: kubernetes.io/service-account-token\ntemplateFrom:\n- literal: irrelevant\n  target: Annotations\n",
            r#"template.type="kubernetes.io/service-account-token" with templateFrom target="Annotations" is not allowed"#,
        ),
        (
            "type: bootstrap.kubernetes.io/token\n",
            r#"template.type="bootstrap.kubernetes.io/token" is not allowed"#,
        ),
    ] {
        assert_eq!(
            run(&template(yaml), &BTreeMap::new(), &Sources::default())
                .unwrap_err()
                .to_string(),
            want
        );
    }
}

/// ESO's `TestApplyTemplateAllowsWellKnownTemplateFromTargets`.
#[test]
fn well_known_targets_are_allowed_in_any_case() {
    let t = template(
        "templateFrom:\n- literal: 'greeting: hello'\n  target: data\n- literal: 'team: platform'\n  target: Annotations\n",
    );
    let out = run(&t, &BTreeMap::new(), &Sources::default()).unwrap();
    assert_eq!(text(&out.data, "greeting"), "hello");
    assert_eq!(out.annotations["team"], "platform");
}

#[test]
fn errors_name_the_key_and_the_reason_and_nothing_half_built_is_returned() {
    let t = template("data:\n  good: ok\n  bad: '{{ .missing }}'\n");
    let e = run(&t, &bytes(&[("present", "v")]), &Sources::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"could not execute template: unable to execute template at key bad: unable to execute template at key bad: template: bad:1:3: executing "bad" at <.missing>: map has no entry for key "missing""#
    );
    let t = template("data:\n  key: '{{ #xx }}'\n");
    assert!(
        run(&t, &BTreeMap::new(), &Sources::default())
            .unwrap_err()
            .to_string()
            .contains("unable to execute template at key key: unable to parse template at key key: template: key:1: unexpected")
    );
    let t = template("engineVersion: v1\ndata: {k: v}\n");
    assert!(matches!(
        run(&t, &BTreeMap::new(), &Sources::default()).unwrap_err(),
        RenderError::EngineV1
    ));
    let t = template("templateFrom:\n- configMap: {name: nope, items: [{key: a}]}\n");
    assert_eq!(
        run(&t, &BTreeMap::new(), &Sources::default())
            .unwrap_err()
            .to_string(),
        r#"error fetching templateFrom data: configmaps "nope" not found"#
    );
    let mut sources = Sources::default();
    sources.secrets.insert("s".into(), BTreeMap::new());
    let t = template("templateFrom:\n- secret: {name: s, items: [{key: a}]}\n");
    assert_eq!(
        run(&t, &BTreeMap::new(), &sources).unwrap_err().to_string(),
        "error fetching templateFrom data: error in secret s: missing key a"
    );
    let t = template("templateFrom:\n- literal: 'a: 1'\n");
    assert!(
        run(&t, &BTreeMap::new(), &Sources::default())
            .unwrap_err()
            .to_string()
            .contains("cannot unmarshal number into Go value of type string")
    );
}

#[test]
fn values_decoding_strategy_decodes_rendered_values() {
    let t = template(
        "templateFrom:\n- literal: 'k: {{ .v | b64enc }}'\n  valuesDecodingStrategy: Base64\n",
    );
    let out = run(&t, &bytes(&[("v", "plain")]), &Sources::default()).unwrap();
    assert_eq!(text(&out.data, "k"), "plain");
}

#[test]
fn source_names_are_each_named_once() {
    let t = template(
        "templateFrom:\n- configMap: {name: b, items: []}\n- configMap: {name: a, items: []}\n- configMap: {name: b, items: []}\n- secret: {name: s, items: []}\n",
    );
    assert_eq!(
        source_names(&t),
        (vec!["a".to_owned(), "b".to_owned()], vec!["s".to_owned()])
    );
}

/// A template nesting values as deep as its steps allow renders (or is
/// stopped) without exhausting the stack that drops and prints them.
#[test]
fn deeply_nested_values_do_not_exhaust_the_stack() {
    let t = template(
        "data:\n  deep: '{{ $l := list }}{{ range 150000 }}{{ $l = list $l }}{{ end }}{{ len $l }}'\n",
    );
    let out = run(&t, &BTreeMap::new(), &Sources::default()).unwrap();
    assert_eq!(text(&out.data, "deep"), "1");
    // As deep as the step limit lets it go: stopped, not crashed.
    let t = template(
        "data:\n  deep: '{{ $l := list }}{{ range 1000 }}{{ range 1000 }}{{ $l = list $l }}{{ end }}{{ end }}{{ len $l }}'\n",
    );
    let e = run(&t, &BTreeMap::new(), &Sources::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("template stopped after 1000000 steps"),
        "{e}"
    );
}

/// ESO's `TestScopeKeysAndValues`, `TestScopeValuesWithSecretFieldsNil`,
/// `TestExecuteTargetCaseInsensitive` and
/// `TestEngineForVersionSupportsDecodingStrategy`
/// (runtime/template/v2/template_test.go, runtime/template/engine_test.go):
/// scopes, targets in any case, the decoding of rendered values.
#[test]
fn scopes_targets_and_decoding_as_esos_engine_tests() {
    let data = bytes(&[("key", "foo"), ("value", "bar")]);
    // "test empty": an empty literal makes no key.
    let out = run(
        &template("templateFrom:\n- literal: ''\n"),
        &data,
        &Sources::default(),
    )
    .unwrap();
    assert!(out.data.is_empty() && out.labels.is_empty() && out.annotations.is_empty());
    for (target, place) in [("Data", 0), ("Annotations", 1), ("Labels", 2)] {
        // TestScopeKeysAndValues "test base64", "test Annotations", "test Labels".
        let t = template(&format!(
            "templateFrom:\n- literal: '{{{{ .key }}}}: {{{{ .value }}}}'\n  target: {target}\n"
        ));
        let out = run(&t, &data, &Sources::default()).unwrap();
        let got = match place {
            0 => text(&out.data, "foo"),
            1 => out.annotations["foo"].clone(),
            _ => out.labels["foo"].clone(),
        };
        assert_eq!(got, "bar", "{target}");
    }
    // TestScopeValuesWithSecretFieldsNil: a static template as a value.
    let mut sources = Sources::default();
    sources
        .config_maps
        .insert("cm".into(), [("foo".to_owned(), "bar".to_owned())].into());
    for target in ["Data", "Annotations", "Labels"] {
        let t = template(&format!(
            "templateFrom:\n- configMap: {{name: cm, items: [{{key: foo}}]}}\n  target: {target}\n"
        ));
        let out = run(&t, &data, &sources).unwrap();
        let got = match target {
            "Data" => text(&out.data, "foo"),
            "Annotations" => out.annotations["foo"].clone(),
            _ => out.labels["foo"].clone(),
        };
        assert_eq!(got, "bar", "{target}");
    }
    // TestExecuteTargetCaseInsensitive.
    for target in ["Annotations", "annotations", "ANNOTATIONS", "AnNoTaTiOnS"] {
        let t = template(&format!(
            "templateFrom:\n- configMap: {{name: cm, items: [{{key: foo}}]}}\n  target: {target}\n"
        ));
        let out = run(&t, &data, &sources).unwrap();
        assert_eq!(out.annotations["foo"], "bar", "{target}");
        assert!(out.labels.is_empty() && out.data.is_empty(), "{target}");
    }
    // TestEngineForVersionSupportsDecodingStrategy.
    let t = template(
        "templateFrom:\n- literal: \"message: SGVsbG8=\\n\"\n  valuesDecodingStrategy: Base64\n",
    );
    let out = run(&t, &BTreeMap::new(), &Sources::default()).unwrap();
    assert_eq!(text(&out.data, "message"), "Hello");
}
