#![allow(clippy::unwrap_used)]

use super::*;
use crate::{api::ExternalSecret, plan::plan};

fn plan_of(body: &str) -> SyncPlan {
    let yaml = format!(
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: e, namespace: n}}\nspec:\n  refreshInterval: 1m\n  secretStoreRef: {{name: kv}}\n{body}"
    );
    let es: ExternalSecret = yaml_serde::from_str(&yaml).unwrap();
    plan(&es).unwrap()
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

const TWO_SECRETS: &str = "  data:\n  - {secretKey: a, remoteRef: {key: db-user}}\n  - {secretKey: b, remoteRef: {key: db-password, property: x}}\n";

#[test]
fn only_current_secret_versions_can_be_told_by_a_listing() {
    assert!(listing_can_tell(&plan_of(TWO_SECRETS)));
    // A template in the spec changes only with it.
    assert!(listing_can_tell(&plan_of(
        "  target:\n    template:\n      data: {x: '{{ .a }}'}\n      templateFrom:\n      - literal: 'y: {{ .a }}'\n  data:\n  - {secretKey: a, remoteRef: {key: db-user}}\n"
    )));
    assert!(listing_can_tell(&plan_of(
        "  data:\n  - {secretKey: a, remoteRef: {key: secret/db-user, metadataPolicy: Fetch}}\n  dataFrom:\n  - extract: {key: app-config}\n"
    )));
    for body in [
        "  data:\n  - {secretKey: a, remoteRef: {key: key/signing}}\n",
        "  data:\n  - {secretKey: a, remoteRef: {key: cert/web-tls}}\n",
        "  data:\n  - {secretKey: a, remoteRef: {key: db-user, version: 0123456789abcdef0123456789abcdef}}\n",
        "  dataFrom:\n  - find: {name: {regexp: ^db}}\n",
        "  target:\n    template:\n      templateFrom:\n      - configMap: {name: tpl, items: [{key: k}]}\n  data:\n  - {secretKey: a, remoteRef: {key: db-user}}\n",
        "  target:\n    template:\n      templateFrom:\n      - secret: {name: tpl, items: [{key: k}]}\n  data:\n  - {secretKey: a, remoteRef: {key: db-user}}\n",
    ] {
        assert!(!listing_can_tell(&plan_of(body)), "{body}");
    }
}

#[test]
fn unchanged_means_every_object_listed_and_older_than_the_last_read() {
    let plan = plan_of(TWO_SECRETS);
    let listing = |pairs: &'static [(&'static str, u64)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, secs)| at(*secs))
        }
    };
    let since = at(1_000);
    assert!(unchanged(
        &plan,
        listing(&[("db-user", 10), ("db-password", 999), ("other", 5_000)]),
        since
    ));
    // Updated in the same second as the reference: a change.
    assert!(!unchanged(
        &plan,
        listing(&[("db-user", 10), ("db-password", 1_000)]),
        since
    ));
    assert!(!unchanged(
        &plan,
        listing(&[("db-user", 10), ("db-password", 1_500)]),
        since
    ));
    // Not listed (deleted, or disabled): a change, for the read to report.
    assert!(!unchanged(&plan, listing(&[("db-user", 10)]), since));
    // A plan a listing cannot tell about is never unchanged.
    assert!(!unchanged(
        &plan_of("  data:\n  - {secretKey: a, remoteRef: {key: key/signing}}\n"),
        listing(&[("signing", 1)]),
        since
    ));
    // Sub-second parts do not hide a same-second write.
    let sub = SystemTime::UNIX_EPOCH + Duration::from_millis(1_000_900);
    assert!(!unchanged(
        &plan,
        listing(&[("db-user", 10), ("db-password", 1_000)]),
        sub
    ));
}

/// Two uids, the first read of one counting no refresh as skipped, of the
/// other one.
fn uids_of_phases(full_read_every: u32) -> (String, String) {
    let find = |wanted| {
        (0..)
            .map(|i| format!("uid-{i}"))
            .find(|uid| phase(uid, full_read_every) == wanted)
            .unwrap()
    };
    (find(0), find(1))
}

#[test]
fn first_reads_spread_their_full_reads_over_the_cycle() {
    // 10,000 ExternalSecrets first read together, a full read every tenth
    // refresh: each refresh of the cycle holds about a tenth of them.
    let mut per_refresh = [0u32; 10];
    for i in 0..10_000 {
        let p = phase(&format!("0b6a1f3e-{i:04}-4000-8000-000000000000"), 10);
        per_refresh[usize::try_from(p).unwrap()] += 1;
    }
    assert!(
        per_refresh.iter().all(|&n| (880..=1_120).contains(&n)),
        "{per_refresh:?}"
    );
}

#[test]
fn every_nth_refresh_reads_everything_and_a_new_spec_always_does() {
    let fresh = Freshness::new(3);
    // A uid whose first read starts the cycle at its beginning, and one a
    // refresh into it.
    let (first, later) = uids_of_phases(3);
    assert_eq!(fresh.may_skip(&first, "1-a"), None, "never read");
    fresh.read(&first, "1-a", at(1_000));
    assert_eq!(
        fresh.may_skip(&first, "1-a"),
        Some(at(1_000) - CLOCK_MARGIN)
    );
    assert_eq!(fresh.may_skip(&first, "2-a"), None, "another spec");
    fresh.skipped(&first, at(1_060));
    assert_eq!(
        fresh.may_skip(&first, "1-a"),
        Some(at(1_060) - CLOCK_MARGIN)
    );
    fresh.skipped(&first, at(1_120));
    // Two skipped: the third refresh reads everything.
    assert_eq!(fresh.may_skip(&first, "1-a"), None);
    fresh.read(&first, "1-a", at(1_180));
    // After a full read (not a first one), the whole cycle again.
    fresh.skipped(&first, at(1_240));
    assert_eq!(
        fresh.may_skip(&first, "1-a"),
        Some(at(1_240) - CLOCK_MARGIN)
    );
    fresh.skipped(&first, at(1_300));
    assert_eq!(fresh.may_skip(&first, "1-a"), None);
    fresh.forget(&first);
    assert_eq!(fresh.may_skip(&first, "1-a"), None);
    // The other's first cycle is one refresh shorter, then whole.
    fresh.read(&later, "1-a", at(1_000));
    fresh.skipped(&later, at(1_060));
    assert_eq!(fresh.may_skip(&later, "1-a"), None);
    fresh.read(&later, "1-a", at(1_120));
    fresh.skipped(&later, at(1_180));
    assert_eq!(
        fresh.may_skip(&later, "1-a"),
        Some(at(1_180) - CLOCK_MARGIN)
    );
    // One: listings off.
    let never = Freshness::new(1);
    never.read("uid", "1-a", at(1_000));
    assert_eq!(never.may_skip("uid", "1-a"), None);
}

#[test]
fn identities_are_keyed_by_vault_and_reader() {
    assert_eq!(
        identity_key("https://kv.vault.azure.net", Some(("team-a", "app"))),
        "https://kv.vault.azure.net|team-a/app"
    );
    assert_eq!(
        identity_key("https://kv.vault.azure.net", None),
        "https://kv.vault.azure.net|controller"
    );
}
