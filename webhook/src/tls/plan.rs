//! What to do with the certificate Secret: a pure decision.

use std::time::{Duration, SystemTime};

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// The four PEM entries the Secret holds (absent ones are `None`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StoredPair {
    /// `ca.crt`.
    pub ca_cert: Option<String>,
    /// `ca.key`.
    pub ca_key: Option<String>,
    /// `tls.crt`.
    pub tls_cert: Option<String>,
    /// `tls.key`.
    pub tls_key: Option<String>,
}

impl std::fmt::Debug for StoredPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPair")
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
/// likewise be valid, name every one of `dns_names`, and be signed by that
/// CA; otherwise a new pair is issued from the CA.
pub fn plan(
    stored: &StoredPair,
    dns_names: &[String],
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
    match serving_matches(tls_cert, ca_cert, dns_names) {
        Ok(()) => Plan::Keep,
        Err(reason) => Plan::IssueServing(format!("serving certificate {reason}")),
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

fn serving_matches(tls_cert: &str, ca_cert: &str, dns_names: &[String]) -> Result<(), String> {
    let tls_der = first_der(tls_cert)?;
    let ca_der = first_der(ca_cert)?;
    let (_, tls) =
        X509Certificate::from_der(&tls_der).map_err(|e| format!("does not parse: {e}"))?;
    let (_, ca) =
        X509Certificate::from_der(&ca_der).map_err(|e| format!("CA does not parse: {e}"))?;
    tls.verify_signature(Some(ca.public_key()))
        .map_err(|_| "is not signed by the CA in the Secret".to_owned())?;
    let names: Vec<&str> = tls
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(name) => Some(*name),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    match dns_names
        .iter()
        .find(|wanted| !names.contains(&wanted.as_str()))
    {
        Some(missing) => Err(format!("does not name {missing}")),
        None => Ok(()),
    }
}

fn first_der(pem: &str) -> Result<Vec<u8>, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .ok_or_else(|| "holds no PEM certificate".to_owned())?
        .map(|der| der.to_vec())
        .map_err(|e| format!("is not valid PEM: {e}"))
}
