use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

use x509_parser::extensions::GeneralName;

use super::*;
use crate::pem;

const DAY: Duration = Duration::from_secs(86_400);

fn ca() -> CertificateAuthority {
    CertificateAuthority::generate("serving-test-ca", 400 * DAY).unwrap()
}

/// DNS and IP SANs of the first certificate in `cert_pem`.
fn sans(cert_pem: &str) -> (Vec<String>, Vec<IpAddr>) {
    let der = pem::certificates(cert_pem.as_bytes(), "leaf").unwrap();
    let cert = pem::x509(&der[0], "leaf").unwrap();
    let ext = cert.subject_alternative_name().unwrap().unwrap().value;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for name in &ext.general_names {
        match name {
            GeneralName::DNSName(name) => dns.push((*name).to_owned()),
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*bytes).unwrap())),
                _ => ips.push(IpAddr::from(<[u8; 16]>::try_from(*bytes).unwrap())),
            },
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    (dns, ips)
}

#[test]
fn serving_certificate_chains_to_the_ca_with_service_names() {
    let ca = ca();
    let issued = ServingCertificate::for_service("webhook", "kube-system")
        .unwrap()
        .issue(&ca)
        .unwrap();

    let ca_der = pem::certificates(ca.cert_pem().as_bytes(), "ca").unwrap();
    let ca_cert = pem::x509(&ca_der[0], "ca").unwrap();
    let leaf_der = pem::certificates(issued.cert_pem().as_bytes(), "leaf").unwrap();
    assert_eq!(leaf_der.len(), 1, "only the leaf is written to tls.crt");
    let leaf = pem::x509(&leaf_der[0], "leaf").unwrap();

    leaf.verify_signature(Some(ca_cert.public_key()))
        .expect("leaf is signed by the CA key");
    assert_eq!(leaf.issuer(), ca_cert.subject());
    assert!(!leaf.is_ca());
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth);

    let (dns, ips) = sans(issued.cert_pem());
    assert_eq!(
        dns,
        [
            "webhook",
            "webhook.kube-system",
            "webhook.kube-system.svc",
            "webhook.kube-system.svc.cluster.local",
        ]
    );
    assert!(ips.is_empty());
    crate::inspect::check_pair(issued.cert_pem(), issued.key_pem().as_str()).unwrap();
}

#[test]
fn extra_dns_names_and_ips_are_included() {
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let issued = ServingCertificate::for_service("webhook", "default")
        .unwrap()
        .with_dns_name("localhost")
        .unwrap()
        .with_dns_name("webhook.default.svc")
        .unwrap()
        .with_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .with_ip(v6)
        .issue(&ca())
        .unwrap();
    let (dns, ips) = sans(issued.cert_pem());
    assert_eq!(dns.last().map(String::as_str), Some("localhost"));
    assert_eq!(dns.len(), 5, "duplicate names are written once: {dns:?}");
    assert_eq!(ips, [IpAddr::V4(Ipv4Addr::LOCALHOST), v6]);
}

#[test]
fn subject_alt_names_from_flags_are_ips_when_they_parse_as_ips() {
    let request = ServingCertificate::for_service("webhook", "default")
        .unwrap()
        .with_subject_alt_name("127.0.0.1")
        .unwrap()
        .with_subject_alt_name("::1")
        .unwrap()
        .with_subject_alt_name("webhook.example.test")
        .unwrap();
    assert_eq!(
        request.ip_addresses(),
        [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        ]
    );
    assert_eq!(
        request.dns_names().last().map(String::as_str),
        Some("webhook.example.test")
    );
    let (dns, ips) = sans(request.issue(&ca()).unwrap().cert_pem());
    assert_eq!(dns, request.dns_names());
    assert_eq!(ips, request.ip_addresses());

    let err = request.with_subject_alt_name("not a name").unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidName {
                what: "DNS name",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn not_after_matches_the_requested_validity() {
    let before = SystemTime::now();
    let issued = ServingCertificate::for_service("webhook", "default")
        .unwrap()
        .with_validity(10 * DAY)
        .issue(&ca())
        .unwrap();
    let after = SystemTime::now();
    assert_eq!(
        crate::inspect::not_after(issued.cert_pem()).unwrap(),
        issued.not_after()
    );
    // Truncation to whole seconds moves the date back by less than a second.
    assert!(issued.not_after() + Duration::from_secs(1) > before + 10 * DAY);
    assert!(issued.not_after() <= after + 10 * DAY);
}

#[test]
fn invalid_inputs_are_named_in_the_error() {
    let service_cases = [
        ("", "ns", "invalid service \"\": must not be empty"),
        ("svc", "", "invalid namespace \"\": must not be empty"),
        (
            "Web",
            "ns",
            "invalid service \"Web\": may contain only lowercase letters, digits and '-'",
        ),
        (
            "1web",
            "ns",
            "invalid service \"1web\": must start with a lowercase letter",
        ),
        (
            "web",
            "ns-",
            "invalid namespace \"ns-\": must start and end with a letter or digit",
        ),
        (
            "web",
            "a.b",
            "invalid namespace \"a.b\": may contain only lowercase letters, digits and '-'",
        ),
    ];
    for (service, namespace, expected) in service_cases {
        let err = ServingCertificate::for_service(service, namespace).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
    let long = "a".repeat(64);
    let err = ServingCertificate::for_service(&long, "ns").unwrap_err();
    assert!(err.to_string().contains("at most 63 characters"), "{err}");

    let dns_cases = [
        ("", "invalid DNS name \"\": must not be empty"),
        (
            "bad..name",
            "invalid DNS name \"bad..name\": has an empty label",
        ),
        (
            "-lead.example",
            "invalid DNS name \"-lead.example\": has a label starting or ending with '-'",
        ),
        (
            "under_score",
            "invalid DNS name \"under_score\": may contain only letters, digits, '-', dots and a leading '*.'",
        ),
    ];
    let request = ServingCertificate::for_service("web", "ns").unwrap();
    for (name, expected) in dns_cases {
        let err = request.clone().with_dns_name(name).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    // A namespace may start with a digit, a wildcard is a valid extra name.
    ServingCertificate::for_service("web", "1ns")
        .unwrap()
        .with_dns_name("*.example.test")
        .unwrap()
        .issue(&ca())
        .unwrap();
}

#[test]
fn validity_must_be_positive_and_within_the_ca() {
    let ca = CertificateAuthority::generate("short-ca", 30 * DAY).unwrap();
    let err = ServingCertificate::for_service("web", "ns")
        .unwrap()
        .with_validity(Duration::ZERO)
        .issue(&ca)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValidity { .. }), "{err}");
    let err = ServingCertificate::for_service("web", "ns")
        .unwrap()
        .issue(&ca)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutlivesAuthority {
                requested_days: 365,
                ca_days: 29 | 30
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("a serving certificate valid for 365 days would outlive its CA")
    );
}

#[test]
fn long_names_fall_back_to_the_service_as_common_name() {
    let service = "s".repeat(40);
    let namespace = "n".repeat(40);
    let issued = ServingCertificate::for_service(&service, &namespace)
        .unwrap()
        .with_validity(DAY)
        .issue(&ca())
        .unwrap();
    let der = pem::certificates(issued.cert_pem().as_bytes(), "leaf").unwrap();
    let leaf = pem::x509(&der[0], "leaf").unwrap();
    let cn = leaf.subject().iter_common_name().next().unwrap();
    assert_eq!(cn.as_str().unwrap(), service);
}
