//! The report as text for a ticket (worst first, every finding with its
//! evidence and fix) or as JSON for scripts.

use std::fmt::Write as _;

use super::{Report, Severity, issuer::trailing_slash_note};

/// The report as text. `scope` says what was checked (`namespace team-a`);
/// `verbose` adds the checks that did not apply (a CRD not installed).
#[must_use]
pub fn text(report: &Report, scope: &str, verbose: bool) -> String {
    let mut out = String::new();
    let count = |severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    let _ = writeln!(
        out,
        "azwi doctor ({scope}): {} error(s), {} warning(s), {} info",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
    for finding in &report.findings {
        let level = finding.severity.to_string().to_uppercase();
        let _ = writeln!(
            out,
            "\n{level:<7} [{}] {}: {}",
            finding.area, finding.subject, finding.summary
        );
        for line in &finding.evidence {
            let _ = writeln!(out, "        evidence: {line}");
        }
        if !finding.fix.is_empty() {
            let _ = writeln!(out, "        fix: {}", finding.fix);
        }
        let _ = writeln!(out, "        rule: {}", finding.rule);
    }
    let notes: Vec<_> = report
        .notes
        .iter()
        .filter(|n| verbose || n.could_not_check)
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nNot checked:");
        for note in notes {
            let _ = writeln!(out, "  - [{}] {}", note.area, note.message);
        }
    }
    if !report.federated_credentials.is_empty() {
        let _ = writeln!(
            out,
            "\nFederated credentials (Entra compares each value exactly, case-sensitive):"
        );
        for fic in &report.federated_credentials {
            let _ = writeln!(out, "\n  ServiceAccount {}", fic.service_account);
            let _ = writeln!(
                out,
                "    issuer:   {:?} ({})",
                fic.issuer,
                trailing_slash_note(&fic.issuer)
            );
            let _ = writeln!(out, "    subject:  {:?}", fic.subject);
            let _ = writeln!(out, "    audience: {:?}", fic.audience);
            let _ = writeln!(out, "    {}", fic.az);
            for line in fic.terraform.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// The report as pretty JSON, with the exit code it leads to.
#[must_use]
pub fn json(report: &Report, scope: &str) -> String {
    let value = serde_json::json!({
        "scope": scope,
        "exit_code": report.exit_code(),
        "findings": report.findings,
        "notes": report.notes,
        "federated_credentials": report.federated_credentials,
    });
    let mut text = serde_json::to_string_pretty(&value)
        .expect("a report of strings and numbers always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Area, Finding, Note};

    fn report() -> Report {
        Report {
            findings: vec![
                Finding::new(Severity::Error, Area::Webhook, "no-webhook", "x", "broken")
                    .evidence("seen")
                    .fix("mend"),
            ],
            notes: vec![
                Note::skipped(Area::Delivery, "External Secrets: not installed"),
                Note::could_not_check(Area::Workloads, "could not check pods: forbidden"),
            ],
            federated_credentials: vec![crate::doctor::federated::FederatedCredential::new(
                "https://i.example",
                "ns",
                "sa",
            )],
        }
    }

    #[test]
    fn text_shows_evidence_fix_and_only_unchecked_notes_unless_verbose() {
        let text = text(&report(), "namespace ns", false);
        assert!(text.starts_with("azwi doctor (namespace ns): 1 error(s), 0 warning(s), 0 info\n"));
        assert!(text.contains(
            "\nERROR   [webhook] x: broken\n        evidence: seen\n        fix: mend\n"
        ));
        assert!(text.contains("could not check pods: forbidden"));
        assert!(!text.contains("not installed"));
        assert!(text.contains("issuer:   \"https://i.example\" (has no trailing slash)"));
        assert!(super::text(&report(), "", true).contains("not installed"));
    }

    #[test]
    fn json_carries_the_exit_code() {
        let value: serde_json::Value =
            serde_json::from_str(&json(&report(), "namespace ns")).expect("valid JSON");
        assert_eq!(value["exit_code"], 1);
        assert_eq!(value["findings"][0]["severity"], "error");
        assert_eq!(value["notes"][1]["could_not_check"], true);
    }
}
