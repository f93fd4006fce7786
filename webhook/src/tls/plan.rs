//! What to do with the certificate Secret: a pure decision.

use std::time::{Duration, SystemTime};

use certs::ServingCertificate;

/// The certificates kept in the Secret: the CA certificate and key, and the
/// serving certificate and key it signed (absent entries are `None`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredCertificates {
    /// `ca.crt`.
    pub ca_cert: Option<String>,
    /// `ca.key`.
    pub ca_key: Option<String>,
    /// `tls.crt`.
    pub tls_cert: Option<String>,
    /// `tls.key`.
    pub tls_key: Option<String>,
}

impl std::fmt::Debug for StoredCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCertificates")
            .field("ca_cert", &self.ca_cert.is_some())
            .field("ca_key", &self.ca_key.as_ref().map(|_| "<redacted>"))
            .field("tls_cert", &self.tls_cert.is_some())
            .field("tls_key", &self.tls_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The decision, with the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Everything is valid for longer than the renewal window.
    Keep,
    /// The CA is good; issue a new serving pair from it.
    IssueServing(String),
    /// Start over with a new CA and serving pair.
    NewAuthority(String),
}

/// Decides what the Secret needs.
///
/// The CA must be present, parse, match its key and stay valid beyond
/// `renew_before`; otherwise a new CA is made. The serving pair must
/// likewise be valid, be signed by that CA, and name every DNS name and IP
/// address of `request` (the certificate this configuration would issue);
/// otherwise a new pair is issued from the CA.
pub fn plan(
    stored: &StoredCertificates,
    request: &ServingCertificate,
    now: SystemTime,
    renew_before: Duration,
) -> Plan {
    let (Some(ca_cert), Some(ca_key)) = (&stored.ca_cert, &stored.ca_key) else {
        return Plan::NewAuthority("no CA in the Secret".to_owned());
    };
    if let Err(reason) = usable(ca_cert, ca_key, now, renew_before) {
        return Plan::NewAuthority(format!("CA {reason}"));
    }
    let (Some(tls_cert), Some(tls_key)) = (&stored.tls_cert, &stored.tls_key) else {
        return Plan::IssueServing("no serving pair in the Secret".to_owned());
    };
    if let Err(reason) = usable(tls_cert, tls_key, now, renew_before) {
        return Plan::IssueServing(format!("serving certificate {reason}"));
    }
    let matches = certs::check_signed_by(tls_cert, ca_cert)
        .and_then(|()| certs::check_names(tls_cert, request));
    match matches {
        Ok(()) => Plan::Keep,
        Err(certs::Error::NotSignedBy { .. }) => Plan::IssueServing(
            "serving certificate is not signed by the CA in the Secret".to_owned(),
        ),
        Err(certs::Error::NameNotCovered { name, .. }) => {
            Plan::IssueServing(format!("serving certificate does not name {name}"))
        }
        Err(other) => Plan::IssueServing(format!("serving certificate is unusable: {other}")),
    }
}

fn usable(cert: &str, key: &str, now: SystemTime, renew_before: Duration) -> Result<(), String> {
    certs::check_pair(cert, key).map_err(|e| format!("is unusable: {e}"))?;
    if certs::needs_renewal(cert, now, renew_before).map_err(|e| format!("is unusable: {e}"))? {
        return Err(format!(
            "expires within {} days",
            renew_before.as_secs() / 86_400
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const WINDOW: Duration = certs::inspect::DEFAULT_RENEWAL_WINDOW;

    fn request() -> ServingCertificate {
        ServingCertificate::for_service("svc", "ns").unwrap()
    }

    fn ca(days: u64) -> certs::CertificateAuthority {
        certs::CertificateAuthority::generate("test-ca", DAY * u32::try_from(days).unwrap())
            .unwrap()
    }

    fn pair(ca: &certs::CertificateAuthority, service: &str, days: u64) -> (String, String) {
        let issued = ServingCertificate::for_service(service, "ns")
            .unwrap()
            .with_validity(DAY * u32::try_from(days).unwrap())
            .issue(ca)
            .unwrap();
        (
            issued.cert_pem().to_owned(),
            issued.key_pem().as_str().to_owned(),
        )
    }

    fn stored(
        ca: &certs::CertificateAuthority,
        serving: Option<(String, String)>,
    ) -> StoredCertificates {
        let (tls_cert, tls_key) = serving.map_or((None, None), |(c, k)| (Some(c), Some(k)));
        StoredCertificates {
            ca_cert: Some(ca.cert_pem().to_owned()),
            ca_key: Some(ca.key_pem().as_str().to_owned()),
            tls_cert,
            tls_key,
        }
    }

    fn decide(s: &StoredCertificates) -> Plan {
        plan(s, &request(), SystemTime::now(), WINDOW)
    }

    #[test]
    fn a_valid_pair_is_kept() {
        let ca = ca(3650);
        assert_eq!(
            decide(&stored(&ca, Some(pair(&ca, "svc", 365)))),
            Plan::Keep
        );
    }

    #[test]
    fn missing_or_broken_ca_means_a_new_authority() {
        assert_eq!(
            decide(&StoredCertificates::default()),
            Plan::NewAuthority("no CA in the Secret".into())
        );
        let mut broken = stored(&ca(3650), None);
        broken.ca_cert = Some("not a certificate".into());
        assert!(
            matches!(decide(&broken), Plan::NewAuthority(r) if r.starts_with("CA is unusable"))
        );
        let old = ca(60);
        assert_eq!(
            decide(&stored(&old, Some(pair(&old, "svc", 30)))),
            Plan::NewAuthority("CA expires within 90 days".into())
        );
    }

    #[test]
    fn the_serving_pair_is_reissued_when_it_is_missing_expiring_misnamed_or_foreign() {
        let ca = ca(3650);
        assert_eq!(
            decide(&stored(&ca, None)),
            Plan::IssueServing("no serving pair in the Secret".into())
        );
        assert_eq!(
            decide(&stored(&ca, Some(pair(&ca, "svc", 60)))),
            Plan::IssueServing("serving certificate expires within 90 days".into())
        );
        assert_eq!(
            decide(&stored(&ca, Some(pair(&ca, "other", 365)))),
            Plan::IssueServing("serving certificate does not name svc".into())
        );
        let stranger = super::tests::ca(3650);
        assert_eq!(
            decide(&stored(&ca, Some(pair(&stranger, "svc", 365)))),
            Plan::IssueServing("serving certificate is not signed by the CA in the Secret".into())
        );
        let with_ip = request().with_ip(std::net::Ipv4Addr::LOCALHOST.into());
        assert_eq!(
            plan(
                &stored(&ca, Some(pair(&ca, "svc", 365))),
                &with_ip,
                SystemTime::now(),
                WINDOW
            ),
            Plan::IssueServing("serving certificate does not name 127.0.0.1".into())
        );
        let (cert, _) = pair(&ca, "svc", 365);
        let (_, other_key) = pair(&ca, "svc", 365);
        assert!(matches!(
            decide(&stored(&ca, Some((cert, other_key)))),
            Plan::IssueServing(r) if r.starts_with("serving certificate is unusable")
        ));
    }

    #[test]
    fn debug_hides_keys() {
        let ca = ca(3650);
        let text = format!("{:?}", stored(&ca, Some(pair(&ca, "svc", 365))));
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
