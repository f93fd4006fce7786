//! Reading what matters out of PEM certificates: expiry, renewal, whether a
//! key belongs to a certificate, whether a certificate was signed by a CA and
//! names what a serving request asks for, and the `caBundle` encoding.
//!
//! These functions take PEM as bytes or text (`&str`, `String`, `Vec<u8>`)
//! because certificates arrive both ways: from files and Secrets as bytes,
//! from [`crate::serving`] as strings.

use std::time::{Duration, SystemTime};

use base64::Engine as _;

use crate::serving::ServingCertificate;
use crate::{Error, Result, pem};

/// How long before expiry a self-managed certificate is renewed: 90 days,
/// long enough that a renewal failing for weeks is noticed and fixed before
/// the API server starts refusing the webhook.
pub const DEFAULT_RENEWAL_WINDOW: Duration = Duration::from_secs(90 * 86_400);

const CERT_ORIGIN: &str = "certificate PEM";
const KEY_ORIGIN: &str = "private key PEM";
const CA_ORIGIN: &str = "CA certificate PEM";

/// When the first certificate in `cert_pem` (the leaf, in a chain) expires.
///
/// # Errors
///
/// [`Error::NoCertificate`], [`Error::MalformedCertificatePem`] or
/// [`Error::InvalidCertificate`] when `cert_pem` does not hold a readable
/// certificate.
pub fn not_after(cert_pem: impl AsRef<[u8]>) -> Result<SystemTime> {
    let chain = pem::certificates(cert_pem.as_ref(), CERT_ORIGIN)?;
    let leaf = chain.first().ok_or_else(|| Error::NoCertificate {
        origin: CERT_ORIGIN.to_owned(),
    })?;
    Ok(pem::not_after(&pem::x509(leaf, CERT_ORIGIN)?))
}

/// Whether the certificate should be replaced at `now`: true once fewer than
/// `window` remain before it expires, and of course once it has expired.
///
/// `now` is a parameter so callers and tests decide the clock; pass
/// `SystemTime::now()` and [`DEFAULT_RENEWAL_WINDOW`] in production.
///
/// # Errors
///
/// As for [`not_after`].
pub fn needs_renewal(
    cert_pem: impl AsRef<[u8]>,
    now: SystemTime,
    window: Duration,
) -> Result<bool> {
    let expires = not_after(cert_pem)?;
    Ok(match expires.duration_since(now) {
        Ok(left) => left <= window,
        Err(_) => true,
    })
}

/// Check that `key_pem` is the private key of the first certificate in
/// `cert_pem`.
///
/// The public key derived from the private key is compared with the one in
/// the certificate. Run this before serving or storing a pair: a mismatched
/// pair makes every TLS handshake fail, and it is exactly what a half-updated
/// `tls.crt`/`tls.key` looks like. The key may be PKCS#8, SEC1 or PKCS#1.
///
/// # Errors
///
/// A parse error for either input, or [`Error::KeyMismatch`].
pub fn check_pair(cert_pem: impl AsRef<[u8]>, key_pem: impl AsRef<[u8]>) -> Result<()> {
    pem::matched_pair(cert_pem.as_ref(), key_pem.as_ref(), CERT_ORIGIN, KEY_ORIGIN).map(|_| ())
}

/// Check that the first certificate in `cert_pem` was signed by the first
/// certificate in `ca_pem`.
///
/// Only the signature is checked, not dates or constraints: this answers
/// "was this pair issued by the CA we keep?", so that a serving certificate
/// left from an earlier CA is replaced before clients trusting the current
/// `caBundle` meet it.
///
/// # Errors
///
/// A parse error naming `certificate PEM` or `CA certificate PEM`, or
/// [`Error::NotSignedBy`].
pub fn check_signed_by(cert_pem: impl AsRef<[u8]>, ca_pem: impl AsRef<[u8]>) -> Result<()> {
    let leaf = pem::certificates(cert_pem.as_ref(), CERT_ORIGIN)?;
    let ca = pem::certificates(ca_pem.as_ref(), CA_ORIGIN)?;
    let leaf = pem::x509(&leaf[0], CERT_ORIGIN)?;
    let ca = pem::x509(&ca[0], CA_ORIGIN)?;
    leaf.verify_signature(Some(ca.public_key()))
        .map_err(|_| Error::NotSignedBy {
            cert_origin: CERT_ORIGIN.to_owned(),
            ca_origin: CA_ORIGIN.to_owned(),
        })
}

/// Check that the first certificate in `cert_pem` names every DNS name and
/// IP address that `request` would put in a new certificate.
///
/// This is how a kept certificate is compared with the current
/// configuration: a Service renamed, or an extra name added, makes the
/// stored certificate stale even though it is valid. DNS names compare
/// without regard to ASCII case, as DNS does.
///
/// # Errors
///
/// A parse error naming `certificate PEM`, or [`Error::NameNotCovered`] with
/// the first name missing (DNS names first, then IP addresses).
pub fn check_names(cert_pem: impl AsRef<[u8]>, request: &ServingCertificate) -> Result<()> {
    let chain = pem::certificates(cert_pem.as_ref(), CERT_ORIGIN)?;
    let leaf = pem::x509(&chain[0], CERT_ORIGIN)?;
    let (dns, ips) = pem::subject_alt_names(&leaf, CERT_ORIGIN)?;
    let missing_dns = request
        .dns_names()
        .into_iter()
        .find(|wanted| !dns.iter().any(|name| name.eq_ignore_ascii_case(wanted)));
    let missing = missing_dns.or_else(|| {
        request
            .ip_addresses()
            .iter()
            .find(|wanted| !ips.contains(wanted))
            .map(ToString::to_string)
    });
    match missing {
        Some(name) => Err(Error::NameNotCovered {
            origin: CERT_ORIGIN.to_owned(),
            name,
        }),
        None => Ok(()),
    }
}

/// The value for a webhook configuration's `caBundle` field: the CA's PEM
/// text encoded as standard base64 (the API field is `[]byte`, which JSON and
/// YAML carry as base64).
#[must_use]
pub fn ca_bundle_base64(ca_pem: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(ca_pem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::CertificateAuthority;
    use crate::serving::ServingCertificate;

    const DAY: Duration = Duration::from_secs(86_400);

    fn issue(validity: Duration) -> crate::serving::IssuedCertificate {
        let ca = CertificateAuthority::generate("inspect-ca", 400 * DAY).unwrap();
        ServingCertificate::for_service("webhook", "default")
            .unwrap()
            .with_validity(validity)
            .issue(&ca)
            .unwrap()
    }

    #[test]
    fn needs_renewal_only_inside_the_window() {
        let issued = issue(200 * DAY);
        let expires = not_after(issued.cert_pem()).unwrap();
        assert_eq!(expires, issued.not_after());
        let window = DEFAULT_RENEWAL_WINDOW;
        let renew = |now| needs_renewal(issued.cert_pem(), now, window).unwrap();
        assert!(!renew(SystemTime::now()));
        assert!(!renew(expires - window - Duration::from_secs(1)));
        assert!(renew(expires - window));
        assert!(renew(expires - DAY));
        assert!(renew(expires + DAY), "an expired certificate needs renewal");
    }

    #[test]
    fn check_pair_rejects_a_key_from_another_pair() {
        let first = issue(DAY);
        let second = issue(DAY);
        check_pair(first.cert_pem(), first.key_pem().as_str()).unwrap();
        let err = check_pair(first.cert_pem(), second.key_pem().as_str()).unwrap_err();
        assert!(matches!(err, Error::KeyMismatch { .. }));
        assert_eq!(
            err.to_string(),
            "private key in private key PEM does not match the public key of the certificate in certificate PEM"
        );
        assert!(!err.to_string().contains("BEGIN"));
    }

    #[test]
    fn parse_errors_say_what_was_wrong() {
        let issued = issue(DAY);
        let err = not_after("").unwrap_err();
        assert_eq!(err.to_string(), "certificate PEM holds no PEM certificate");
        let err = not_after(issued.key_pem().as_str()).unwrap_err();
        assert!(matches!(err, Error::NoCertificate { .. }));

        let half = &issued.cert_pem()[..issued.cert_pem().len() / 2];
        let err = not_after(half).unwrap_err();
        assert!(
            matches!(err, Error::MalformedCertificatePem { .. }),
            "{err}"
        );

        let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = not_after(garbage).unwrap_err();
        assert!(matches!(err, Error::InvalidCertificate { .. }), "{err}");

        let err = check_pair(issued.cert_pem(), issued.cert_pem()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("private key PEM holds no PEM private key"),
            "{err}"
        );

        let key = issued.key_pem().as_str();
        let cut = &key[..key.len() - 30];
        let err = check_pair(issued.cert_pem(), cut).unwrap_err();
        assert!(matches!(err, Error::InvalidPrivateKey { .. }), "{err}");
        assert!(
            !err.to_string().contains(&key[40..60]),
            "no key bytes in errors"
        );
    }

    #[test]
    fn check_signed_by_tells_the_issuing_ca_from_another() {
        let ca = CertificateAuthority::generate("inspect-ca", 400 * DAY).unwrap();
        let stranger = CertificateAuthority::generate("inspect-ca", 400 * DAY).unwrap();
        let issued = ServingCertificate::for_service("webhook", "default")
            .unwrap()
            .with_validity(DAY)
            .issue(&ca)
            .unwrap();
        check_signed_by(issued.cert_pem(), ca.cert_pem()).unwrap();
        // A CA verifies its own self-signature too.
        check_signed_by(ca.cert_pem(), ca.cert_pem()).unwrap();

        let err = check_signed_by(issued.cert_pem(), stranger.cert_pem()).unwrap_err();
        assert!(matches!(err, Error::NotSignedBy { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "certificate PEM is not signed by the CA in CA certificate PEM"
        );

        let err = check_signed_by(issued.cert_pem(), "").unwrap_err();
        assert_eq!(
            err.to_string(),
            "CA certificate PEM holds no PEM certificate"
        );
        let err = check_signed_by("", ca.cert_pem()).unwrap_err();
        assert_eq!(err.to_string(), "certificate PEM holds no PEM certificate");
        let half = &issued.cert_pem()[..issued.cert_pem().len() / 2];
        let err = check_signed_by(half, ca.cert_pem()).unwrap_err();
        assert!(
            matches!(err, Error::MalformedCertificatePem { .. }),
            "{err}"
        );
    }

    #[test]
    fn check_names_finds_the_first_name_the_certificate_lacks() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let ca = CertificateAuthority::generate("inspect-ca", 400 * DAY).unwrap();
        let request = ServingCertificate::for_service("svc", "ns")
            .unwrap()
            .with_dns_name("localhost")
            .unwrap()
            .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
            .with_validity(DAY);
        let issued = request.issue(&ca).unwrap();
        check_names(issued.cert_pem(), &request).unwrap();
        // Fewer names than the certificate holds are covered too.
        let plain = ServingCertificate::for_service("svc", "ns").unwrap();
        check_names(issued.cert_pem(), &plain).unwrap();
        let shouting = plain.clone().with_dns_name("LOCALHOST").unwrap();
        check_names(issued.cert_pem(), &shouting).unwrap();

        let renamed = ServingCertificate::for_service("other", "ns").unwrap();
        let err = check_names(issued.cert_pem(), &renamed).unwrap_err();
        assert!(
            matches!(&err, Error::NameNotCovered { name, .. } if name == "other"),
            "{err}"
        );
        assert_eq!(err.to_string(), "certificate PEM does not name other");

        let moved = ServingCertificate::for_service("svc", "elsewhere").unwrap();
        let err = check_names(issued.cert_pem(), &moved).unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate PEM does not name svc.elsewhere"
        );

        let extra_ip = plain.with_ip(IpAddr::V6(Ipv6Addr::LOCALHOST));
        let err = check_names(issued.cert_pem(), &extra_ip).unwrap_err();
        assert_eq!(err.to_string(), "certificate PEM does not name ::1");

        let err = check_names("", &request).unwrap_err();
        assert!(matches!(err, Error::NoCertificate { .. }), "{err}");
    }

    #[test]
    fn ca_bundle_is_standard_base64_of_the_pem() {
        let bundle = ca_bundle_base64("-----BEGIN CERTIFICATE-----\n");
        assert_eq!(bundle, "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&bundle)
            .unwrap();
        assert_eq!(decoded, b"-----BEGIN CERTIFICATE-----\n");
    }
}
