#![allow(clippy::unwrap_used)]

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn regexp(source: &str, target: &str) -> KeyOp {
    KeyOp::Regexp {
        source: Regex::new(source).unwrap(),
        target: target.to_owned(),
    }
}

fn merge(
    strategy: MergeStrategy,
    conflict: MergeConflictPolicy,
    into: &str,
    priority: &[&str],
    priority_policy: MergePriorityPolicy,
) -> KeyOp {
    KeyOp::Merge(MergeOp {
        into: into.to_owned(),
        priority: priority.iter().map(|p| (*p).to_owned()).collect(),
        priority_policy,
        conflict_policy: conflict,
        strategy,
    })
}

fn rules(ops: Vec<KeyOp>) -> KeyRules {
    KeyRules {
        ops,
        conversion: ConversionStrategy::Default,
    }
}

/// A case: its name, the operations, the keys and values in and out.
type RewriteCase = (
    &'static str,
    Vec<KeyOp>,
    Vec<(&'static str, &'static str)>,
    Vec<(&'static str, &'static str)>,
);

/// ESO's `TestRewrite` (runtime/esutils/utils_test.go), every case (its
/// `RewriteMap` alone: the keys are checked after, as ESO's controller
/// checks them, so `app_p***word` is refused there).
#[test]
fn rewrite_as_eso_rewrites_keys() {
    use MergeConflictPolicy::Ignore;
    use MergePriorityPolicy::Strict;
    let cases: Vec<RewriteCase> = vec![
        (
            "using double merge",
            vec![
                merge(MergeStrategy::Json, Ignore, "merged", &["a"], Strict),
                merge(MergeStrategy::Extract, Ignore, "", &["b"], Strict),
            ],
            vec![
                ("a", r#"{"host": "dba", "pass": "yola", "port": 123}"#),
                ("b", r#"{"host": "dbb", "pass": "yolb"}"#),
            ],
            vec![("host", "dbb"), ("pass", "yolb"), ("port", "123")],
        ),
        (
            "using regexp and merge",
            vec![
                regexp("db/(.*)", "$1"),
                merge(MergeStrategy::Json, Ignore, "merged", &["a"], Strict),
            ],
            vec![
                ("db/a", r#"{"host": "dba.example.com"}"#),
                ("db/b", r#"{"host": "dbb.example.com", "pass": "yolo"}"#),
            ],
            vec![
                ("a", r#"{"host": "dba.example.com"}"#),
                ("b", r#"{"host": "dbb.example.com", "pass": "yolo"}"#),
                ("merged", r#"{"host":"dba.example.com","pass":"yolo"}"#),
            ],
        ),
        (
            "replace of a single key",
            vec![regexp("-", "_")],
            vec![("foo-bar", "bar")],
            vec![("foo_bar", "bar")],
        ),
        (
            "no operation",
            vec![regexp("hello", "world")],
            vec![("foo", "bar")],
            vec![("foo", "bar")],
        ),
        (
            "removing prefix from keys",
            vec![regexp("^my/initial/path/", "")],
            vec![("my/initial/path/foo", "bar")],
            vec![("foo", "bar")],
        ),
        (
            "using un-named capture groups",
            vec![regexp("f(.*)o", "a_new_path_$1")],
            vec![("foo", "bar"), ("foodaloo", "barr")],
            vec![("a_new_path_o", "bar"), ("a_new_path_oodalo", "barr")],
        ),
        (
            "using named and numbered capture groups",
            vec![regexp("f(?P<content>.*)o", "a_new_path_${content}_${1}")],
            vec![("foo", "bar"), ("floo", "barr")],
            vec![("a_new_path_o_o", "bar"), ("a_new_path_lo_lo", "barr")],
        ),
        (
            "using sequenced rewrite operations",
            vec![
                regexp("my/(.*?)/bar/(.*)", "$1-$2"),
                regexp("-", "_"),
                regexp("ass", "***"),
            ],
            vec![("my/app/bar/key", "bar"), ("my/app/bar/password", "barr")],
            vec![("app_key", "bar"), ("app_p***word", "barr")],
        ),
        (
            "using transform rewrite operation to create env var format keys",
            vec![
                regexp("my/(.*?)/bar/(.*)", "$1-$2"),
                transform(1, r#"{{ .value | upper | replace "-" "_" }}"#).unwrap(),
            ],
            vec![("my/app/bar/key", "bar")],
            vec![("APP_KEY", "bar")],
        ),
    ];
    for (name, ops, input, expected) in cases {
        assert_eq!(
            rewrite(&ops, map(&input)).unwrap(),
            map(&expected),
            "{name}"
        );
    }
}

/// ESO's `TestRewriteMerge`, every case.
#[test]
fn merge_as_eso_merges() {
    use MergeConflictPolicy::{Error as Conflicts, Ignore};
    use MergePriorityPolicy::{IgnoreNotFound, Strict};
    let creds = [
        (
            "mongo-credentials",
            r#"{"username": "foz", "password": "baz"}"#,
        ),
        (
            "redis-credentials",
            r#"{"host": "redis.example.com", "port": "6379"}"#,
        ),
    ];
    let merged = [
        ("username", "foz"),
        ("password", "baz"),
        ("host", "redis.example.com"),
        ("port", "6379"),
    ];
    let ok = |op: KeyOp, input: &[(&str, &str)]| make_keys(&rules(vec![op]), map(input));
    // using empty merge
    assert_eq!(
        ok(
            merge(MergeStrategy::Extract, Conflicts, "", &[], Strict),
            &creds
        )
        .unwrap(),
        map(&merged)
    );
    // using priority
    let mut with_other = creds.to_vec();
    with_other.push((
        "other-credentials",
        r#"{"key": "value", "host": "other.example.com"}"#,
    ));
    let mut want = merged.to_vec();
    want.push(("key", "value"));
    assert_eq!(
        ok(
            merge(
                MergeStrategy::Extract,
                Ignore,
                "",
                &["mongo-credentials", "redis-credentials"],
                Strict
            ),
            &with_other
        )
        .unwrap(),
        map(&want)
    );
    // using priority with keys not in input (default strict)
    let e = ok(
        merge(
            MergeStrategy::Extract,
            Ignore,
            "",
            &[
                "non-existent-key",
                "another-missing-key",
                "mongo-credentials",
            ],
            Strict,
        ),
        &creds,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"error applying rewrite to keys: failed rewrite operation[0]: merge failed with key "non-existent-key" not found in input map"#
    );
    // using priority with keys not in input and ignore policy
    assert_eq!(
        ok(
            merge(
                MergeStrategy::Extract,
                Ignore,
                "",
                &["non-existent-key", "mongo-credentials"],
                IgnoreNotFound
            ),
            &creds
        )
        .unwrap(),
        map(&merged)
    );
    // using conflict policy error
    let e = ok(
        merge(MergeStrategy::Extract, Conflicts, "", &[], Strict),
        &[
            (
                "mongo-credentials",
                r#"{"username": "foz", "password": "baz"}"#,
            ),
            (
                "redis-credentials",
                r#"{"username": "redis", "port": "6379"}"#,
            ),
        ],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("merge failed with conflicts: username"),
        "{e}"
    );
    // using JSON strategy: Go's json.Marshal of the merged map (sorted keys).
    let mut want = creds.to_vec();
    want.push((
        "credentials",
        r#"{"host":"redis.example.com","password":"baz","port":"6379","username":"foz"}"#,
    ));
    assert_eq!(
        ok(
            merge(MergeStrategy::Json, Conflicts, "credentials", &[], Strict),
            &creds
        )
        .unwrap(),
        map(&want)
    );
    // using JSON strategy without into
    let e = ok(
        merge(MergeStrategy::Json, Conflicts, "", &[], Strict),
        &creds,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("merge failed with missing 'into' field"),
        "{e}"
    );
    // with invalid JSON
    let e = ok(
        merge(MergeStrategy::Extract, Conflicts, "", &[], Strict),
        &[("invalid-json", r#"{"username": "foz", "password": "baz""#)],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("merge failed with failed to unmarshal JSON"),
        "{e}"
    );
}

/// ESO's `TestConvertKeys`, every case (an omitted strategy is `Default`).
#[test]
fn conversion_as_eso_converts_keys() {
    let convert = |strategy, input: &[(&str, &str)]| {
        make_keys(
            &KeyRules {
                ops: Vec::new(),
                conversion: strategy,
            },
            map(input),
        )
    };
    assert_eq!(
        convert(ConversionStrategy::Default, &[("foo$bar%baz*bing", "noop")]).unwrap(),
        map(&[("foo_bar_baz_bing", "noop")])
    );
    let e = convert(
        ConversionStrategy::Default,
        &[("foo$bar%baz*bing", "noop"), ("foo_bar_baz$bing", "noop")],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "error applying conversion strategy Default to keys: secret name collision during conversion: foo_bar_baz_bing"
    );
    assert_eq!(
        convert(
            ConversionStrategy::Default,
            &[("/foo/bar/baz/bing", "noop"), ("foo/bar/baz/bing/", "noop")]
        )
        .unwrap(),
        map(&[("_foo_bar_baz_bing", "noop"), ("foo_bar_baz_bing_", "noop")])
    );
    assert_eq!(
        convert(
            ConversionStrategy::Unicode,
            &[("😀foo😁bar😂baz😈bing", "noop")]
        )
        .unwrap(),
        map(&[("_U1f600_foo_U1f601_bar_U1f602_baz_U1f608_bing", "noop")])
    );
}

/// ESO's `ValidateKeys`: an empty key is dropped, a bad one refused.
#[test]
fn keys_a_secret_cannot_hold_are_refused_and_empty_ones_dropped() {
    let rewritten = |input: &[(&str, &str)]| make_keys(&rules(vec![regexp("^x", "")]), map(input));
    assert_eq!(
        rewritten(&[("x", "v"), ("xa", "w")]).unwrap(),
        map(&[("a", "w")])
    );
    let e = rewritten(&[("a/b", "v")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): key has invalid character /, only alphanumeric, '-', '.' and '_' are allowed: a/b"
    );
    let long = "a".repeat(254);
    assert!(
        rewritten(&[(long.as_str(), "v")])
            .unwrap_err()
            .to_string()
            .contains("key has length 254 but max is 253")
    );
}
