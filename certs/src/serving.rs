//! Issuing serving certificates for a Kubernetes Service.
//!
//! The API server dials a webhook as `https://<service>.<namespace>.svc`, and
//! other clients in the cluster may use the shorter or the fully qualified
//! forms, so the certificate names all of them. Tests and local runs add
//! `localhost` or `127.0.0.1` with [`ServingCertificate::with_dns_name`] and
//! [`ServingCertificate::with_ip`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::authority::{BACKDATE, CertificateAuthority};
use crate::{Error, PrivateKeyPem, Result, clock};

mod name_rules;
#[cfg(test)]
mod tests;

/// Validity used when [`ServingCertificate::with_validity`] is not called:
/// one year, comfortably longer than the 90-day renewal window so a renewed
/// certificate is not immediately due again.
pub const DEFAULT_VALIDITY: Duration = Duration::from_secs(365 * 86_400);

/// A request for a serving certificate, built step by step and then
/// [issued](ServingCertificate::issue).
///
/// Names are checked as they are added, so a bad service, namespace or DNS
/// name is reported by the call that introduced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingCertificate {
    service: String,
    namespace: String,
    extra_dns: Vec<String>,
    ips: Vec<IpAddr>,
    validity: Duration,
}

/// A freshly issued certificate and its private key.
///
/// This is what gets written to `tls.crt` and `tls.key`. The expiry is
/// carried along so the caller can schedule renewal or export an expiry
/// metric without parsing the PEM again.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    cert_pem: String,
    key_pem: PrivateKeyPem,
    not_after: SystemTime,
}

impl IssuedCertificate {
    /// The leaf certificate as PEM, for `tls.crt`. The CA is not appended:
    /// the API server gets it from the `caBundle`.
    #[must_use]
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The certificate's private key as PKCS#8 PEM, for `tls.key`.
    #[must_use]
    pub fn key_pem(&self) -> &PrivateKeyPem {
        &self.key_pem
    }

    /// When the certificate expires, to the second, exactly as written in it.
    #[must_use]
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }
}

impl ServingCertificate {
    /// Start a request for `service` in `namespace`, covering the DNS names
    /// `<service>`, `<service>.<namespace>`, `<service>.<namespace>.svc` and
    /// `<service>.<namespace>.svc.cluster.local`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] naming the service (which must be an RFC 1035
    /// label, as Kubernetes requires of Service names) or the namespace (an
    /// RFC 1123 label).
    pub fn for_service(service: &str, namespace: &str) -> Result<Self> {
        name_rules::check_label("service", service, name_rules::Rules::Rfc1035)?;
        name_rules::check_label("namespace", namespace, name_rules::Rules::Rfc1123)?;
        Ok(Self {
            service: service.to_owned(),
            namespace: namespace.to_owned(),
            extra_dns: Vec::new(),
            ips: Vec::new(),
            validity: DEFAULT_VALIDITY,
        })
    }

    /// Also cover `name` (for example `localhost`, or a cluster domain other
    /// than `cluster.local`). A leading `*.` wildcard label is allowed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if `name` is not a valid DNS name.
    #[must_use = "the extended request is returned, not written into `self`"]
    pub fn with_dns_name(mut self, name: &str) -> Result<Self> {
        name_rules::check_dns_name(name)?;
        self.extra_dns.push(name.to_owned());
        Ok(self)
    }

    /// Also cover the IP address `ip`, for clients that dial an address
    /// rather than a name (tests on `127.0.0.1`, a `hostNetwork` webhook).
    #[must_use]
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Also cover `name_or_ip`: an IP address if it parses as one, otherwise
    /// a DNS name. This is the form command-line flags take
    /// (`--extra-san 127.0.0.1`, `--extra-san webhook.example.com`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] if it is neither an IP address nor a valid DNS
    /// name.
    #[must_use = "the extended request is returned, not written into `self`"]
    pub fn with_subject_alt_name(self, name_or_ip: &str) -> Result<Self> {
        match name_or_ip.parse::<IpAddr>() {
            Ok(ip) => Ok(self.with_ip(ip)),
            Err(_) => self.with_dns_name(name_or_ip),
        }
    }

    /// Make the certificate valid for `validity` from now instead of
    /// [`DEFAULT_VALIDITY`].
    #[must_use]
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// Every DNS name the certificate will hold, in order, duplicates
    /// removed. Useful for logging what a certificate will cover.
    #[must_use]
    pub fn dns_names(&self) -> Vec<String> {
        let service = &self.service;
        let namespace = &self.namespace;
        let mut names = vec![
            service.clone(),
            format!("{service}.{namespace}"),
            format!("{service}.{namespace}.svc"),
            format!("{service}.{namespace}.svc.cluster.local"),
        ];
        for extra in &self.extra_dns {
            if !names.contains(extra) {
                names.push(extra.clone());
            }
        }
        names
    }

    /// The IP addresses the certificate will hold, in the order added.
    #[must_use]
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.ips
    }

    /// Generate a new ECDSA P-256 key and a certificate for it signed by
    /// `ca`, with the `serverAuth` extended key usage and the subject
    /// `CN=<service>.<namespace>.svc` (or just the service
    /// name when that would exceed the 64 characters X.520 allows).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidValidity`] for a zero validity;
    /// [`Error::OutlivesAuthority`] when the certificate would expire after
    /// the CA; [`Error::Generate`] if rcgen fails.
    pub fn issue(&self, ca: &CertificateAuthority) -> Result<IssuedCertificate> {
        if self.validity.is_zero() {
            return Err(Error::InvalidValidity {
                validity: self.validity,
                reason: "must be longer than zero",
            });
        }
        let now = SystemTime::now();
        let (not_before, _) = clock::shifted(now, BACKDATE, true)?;
        let (not_after_date, not_after) = clock::shifted(now, self.validity, false)?;
        if not_after > ca.not_after() {
            return Err(Error::OutlivesAuthority {
                requested_days: self.validity.as_secs() / 86_400,
                ca_days: clock::days_until(now, ca.not_after()),
            });
        }

        let mut params = CertificateParams::default();
        let mut subject = DistinguishedName::new();
        // X.520 caps a common name at 64 characters; verifiers go by the SANs
        // anyway, so fall back to the bare service name when the long form
        // does not fit.
        let common_name = format!("{}.{}.svc", self.service, self.namespace);
        let common_name = if common_name.len() <= 64 {
            common_name
        } else {
            self.service.clone()
        };
        subject.push(DnType::CommonName, common_name);
        params.distinguished_name = subject;
        params.subject_alt_names = self
            .dns_names()
            .into_iter()
            .map(|name| name.try_into().map(SanType::DnsName))
            .collect::<Result<Vec<_>, _>>()?;
        params
            .subject_alt_names
            .extend(self.ips.iter().copied().map(SanType::IpAddress));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after_date;

        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, ca.issuer())?;
        Ok(IssuedCertificate {
            cert_pem: cert.pem(),
            key_pem: PrivateKeyPem::new(key.serialize_pem()),
            not_after,
        })
    }
}
