//! The ServiceAccount token issuer as Entra sees it: the `issuer` of the
//! discovery document (trailing slash and all), whether anyone can fetch
//! that document without credentials, and whether the JWKS holds the key
//! the API server signs tokens with now.

use serde::Serialize;

use super::{Area, Finding, Severity};

/// What the collector learnt about the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerFacts {
    /// `issuer` of the API server's `/.well-known/openid-configuration`.
    pub issuer: String,
    /// `jwks_uri` of that document.
    pub jwks_uri: String,
    /// The result of unauthenticated GETs of
    /// `<issuer>/.well-known/openid-configuration` and its `jwks_uri`, as
    /// Entra makes them.
    pub anonymous: Anonymous,
    /// The header and claims of a token issued now, if one was requested.
    pub token: Option<IssuedToken>,
    /// The key ids of the API server's JWKS (`/openid/v1/jwks`), when read.
    pub jwks_kids: Option<Vec<String>>,
}

/// How the unauthenticated fetch of the issuer's documents went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "detail", rename_all = "kebab-case")]
pub enum Anonymous {
    /// A discovery document naming the same issuer, and the JWKS at its
    /// `jwks_uri`.
    Reachable {
        /// The key ids of the JWKS as published (what Entra verifies with).
        published_kids: Vec<String>,
    },
    /// Anything else: the URL and its status, TLS or network error, or
    /// what is wrong with the document.
    Failed(String),
}

/// The parts of a freshly issued token the checks compare (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedToken {
    /// The ServiceAccount it was issued for, `namespace/name`.
    pub service_account: String,
    /// Its `iss` claim.
    pub iss: String,
    /// Its header's `kid`.
    pub kid: String,
}

/// How the issuer string ends, said explicitly because Entra compares it
/// byte for byte.
#[must_use]
pub fn trailing_slash_note(issuer: &str) -> &'static str {
    if issuer.ends_with('/') {
        "ends with a trailing slash"
    } else {
        "has no trailing slash"
    }
}

/// The issuer findings.
#[must_use]
pub fn check(facts: &IssuerFacts) -> Vec<Finding> {
    let issuer = &facts.issuer;
    let subject = format!("issuer {issuer}");
    let mut findings = vec![
        Finding::new(
            Severity::Info,
            Area::Issuer,
            "issuer",
            &subject,
            format!(
                "the cluster's ServiceAccount issuer is {issuer:?} ({}); every federated credential must name it exactly so",
                trailing_slash_note(issuer)
            ),
        )
        .evidence(format!("discovery document: issuer {issuer:?}, jwks_uri {:?}", facts.jwks_uri)),
    ];
    if !issuer.starts_with("https://") {
        findings.push(
            Finding::new(
                Severity::Error,
                Area::Issuer,
                "issuer-not-https",
                &subject,
                "Entra only fetches issuer documents over HTTPS",
            )
            .evidence(format!("issuer {issuer:?}"))
            .fix("set kube-apiserver --service-account-issuer to a public https:// URL that serves the discovery document and JWKS"),
        );
    }
    if let Anonymous::Failed(why) = &facts.anonymous {
        findings.push(
            Finding::new(
                Severity::Error,
                Area::Issuer,
                "issuer-not-public",
                &subject,
                "the discovery document or JWKS cannot be fetched without credentials, so Entra cannot validate tokens (AADSTS50166 or 90061)",
            )
            .evidence(format!("without credentials: {why}"))
            .fix("publish the discovery document and JWKS anonymously: bind ClusterRole system:service-account-issuer-discovery to group system:unauthenticated, or host them at the issuer URL (`azwi issuer`)"),
        );
    }
    if let (Some(token), Anonymous::Reachable { published_kids }) = (&facts.token, &facts.anonymous)
        && !published_kids.contains(&token.kid)
        // A key the API server does not publish either is reported below.
        && facts.jwks_kids.as_ref().is_none_or(|kids| kids.contains(&token.kid))
    {
        findings.push(
            Finding::new(
                Severity::Error,
                Area::Issuer,
                "kid-not-published",
                &subject,
                "the JWKS Entra fetches does not hold the key tokens are signed with now: it is out of date",
            )
            .evidence(format!(
                "a token issued now for {} has kid {:?}; the JWKS at {} holds {:?}",
                token.service_account, token.kid, facts.jwks_uri, published_kids
            ))
            .fix("re-upload the JWKS made from the current signing keys (`azwi issuer` or `azwi jwks --public-keys <sa.pub>`), keeping the previous key until tokens signed with it have expired"),
        );
    }
    if let Some(token) = &facts.token {
        if token.iss != *issuer {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Area::Issuer,
                    "token-issuer-mismatch",
                    &subject,
                    "tokens carry an `iss` different from the discovery document's issuer",
                )
                .evidence(format!(
                    "a token issued now for {} has iss {:?} ({}); the discovery document says {issuer:?} ({})",
                    token.service_account,
                    token.iss,
                    trailing_slash_note(&token.iss),
                    trailing_slash_note(issuer)
                ))
                .fix("make kube-apiserver's first --service-account-issuer the URL the documents are published under, byte for byte"),
            );
        }
        if let Some(kids) = &facts.jwks_kids
            && !kids.contains(&token.kid)
        {
            findings.push(
                    Finding::new(
                        Severity::Error,
                        Area::Issuer,
                        "kid-not-in-jwks",
                        &subject,
                        "the JWKS does not hold the key tokens are signed with now, so Entra cannot verify them",
                    )
                    .evidence(format!(
                        "a token issued now for {} has kid {:?}; the JWKS at {} holds {:?}",
                        token.service_account, token.kid, facts.jwks_uri, kids
                    ))
                    .fix("republish the JWKS from the current signing key (`azwi jwks --public-keys <sa.pub>`) or pass the key to kube-apiserver's --service-account-key-file"),
                );
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> IssuerFacts {
        IssuerFacts {
            issuer: "https://issuer.example/".to_owned(),
            jwks_uri: "https://issuer.example/openid/v1/jwks".to_owned(),
            anonymous: Anonymous::Reachable {
                published_kids: vec!["k0".to_owned(), "k1".to_owned()],
            },
            token: Some(IssuedToken {
                service_account: "team-a/orders-api".to_owned(),
                iss: "https://issuer.example/".to_owned(),
                kid: "k1".to_owned(),
            }),
            jwks_kids: Some(vec!["k0".to_owned(), "k1".to_owned()]),
        }
    }

    fn rules(facts: &IssuerFacts) -> Vec<&'static str> {
        check(facts).iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_good_issuer_gets_only_the_info_with_the_slash_said() {
        let findings = check(&good());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Info);
        assert!(findings[0].summary.contains("ends with a trailing slash"));
        let mut facts = good();
        facts.issuer = "https://issuer.example".to_owned();
        facts.token = None;
        assert!(check(&facts)[0].summary.contains("has no trailing slash"));
    }

    #[test]
    fn an_issuer_not_fetchable_anonymously_is_an_error() {
        let mut facts = good();
        facts.anonymous = Anonymous::Failed("HTTP 401".to_owned());
        assert_eq!(rules(&facts), ["issuer", "issuer-not-public"]);
    }

    #[test]
    fn a_token_iss_differing_by_a_slash_is_an_error() {
        let mut facts = good();
        if let Some(token) = facts.token.as_mut() {
            token.iss = "https://issuer.example".to_owned();
        }
        let findings = check(&facts);
        assert_eq!(findings[1].rule, "token-issuer-mismatch");
        assert!(findings[1].evidence[0].contains("has no trailing slash"));
    }

    #[test]
    fn a_kid_missing_from_the_jwks_is_an_error() {
        let mut facts = good();
        facts.jwks_kids = Some(vec!["old".to_owned()]);
        assert_eq!(rules(&facts), ["issuer", "kid-not-in-jwks"]);
    }

    #[test]
    fn a_stale_published_jwks_is_an_error() {
        let mut facts = good();
        facts.anonymous = Anonymous::Reachable {
            published_kids: vec!["k0".to_owned()],
        };
        assert_eq!(rules(&facts), ["issuer", "kid-not-published"]);
        // Not published by the API server either: one finding, not two.
        facts.jwks_kids = Some(vec!["k0".to_owned()]);
        assert_eq!(rules(&facts), ["issuer", "kid-not-in-jwks"]);
    }

    #[test]
    fn an_http_issuer_is_an_error() {
        let mut facts = good();
        facts.issuer = "http://issuer.example/".to_owned();
        facts.token = None;
        assert_eq!(rules(&facts), ["issuer", "issuer-not-https"]);
    }
}
