//! The control plane's certificates and keys: a CA, the apiserver's serving
//! pair, an admin client certificate in `system:masters`, and the RSA key
//! that signs ServiceAccount tokens (RS256, as Entra expects).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};

use crate::{Error, write_file};

/// Paths of the written files and the PEMs a kubeconfig embeds.
pub(crate) struct Pki {
    pub(crate) dir: PathBuf,
    pub(crate) ca_cert: PathBuf,
    pub(crate) ca_pem: String,
    pub(crate) serving_cert: PathBuf,
    pub(crate) serving_key: PathBuf,
    pub(crate) sa_key: PathBuf,
    admin_cert_pem: String,
    admin_key_pem: String,
}

fn pki_error(e: impl std::fmt::Display) -> Error {
    Error::Pki(e.to_string())
}

impl Pki {
    /// Generates everything and writes it under `<dir>/pki`.
    pub(crate) fn write(dir: &Path) -> Result<Self, Error> {
        let pki_dir = dir.join("pki");
        std::fs::create_dir_all(&pki_dir).map_err(|source| Error::Io {
            what: format!("creating {}", pki_dir.display()),
            source,
        })?;

        let ca_key = KeyPair::generate().map_err(pki_error)?;
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = name("azwi-test-control-plane-ca", None);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(pki_error)?;
        let ca_pem = ca_cert.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let serving_key = KeyPair::generate().map_err(pki_error)?;
        let mut serving = CertificateParams::new(vec![
            "localhost".to_owned(),
            "kubernetes.default.svc".to_owned(),
        ])
        .map_err(pki_error)?;
        serving
            .subject_alt_names
            .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        serving.distinguished_name = name("kube-apiserver", None);
        serving.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_cert = serving
            .signed_by(&serving_key, &issuer)
            .map_err(pki_error)?;

        let admin_key = KeyPair::generate().map_err(pki_error)?;
        let mut admin = CertificateParams::default();
        admin.distinguished_name = name("azwi-test-admin", Some("system:masters"));
        admin.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let admin_cert = admin.signed_by(&admin_key, &issuer).map_err(pki_error)?;

        let sa_key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(pki_error)?;
        let sa_key_pem = sa_key.to_pkcs8_pem(LineEnding::LF).map_err(pki_error)?;

        let pki = Self {
            ca_cert: pki_dir.join("ca.crt"),
            serving_cert: pki_dir.join("apiserver.crt"),
            serving_key: pki_dir.join("apiserver.key"),
            sa_key: pki_dir.join("sa.key"),
            dir: pki_dir,
            ca_pem,
            admin_cert_pem: admin_cert.pem(),
            admin_key_pem: admin_key.serialize_pem(),
        };
        write_file(&pki.ca_cert, &pki.ca_pem)?;
        write_file(&pki.serving_cert, &serving_cert.pem())?;
        write_file(&pki.serving_key, &serving_key.serialize_pem())?;
        write_file(&pki.sa_key, &sa_key_pem)?;
        Ok(pki)
    }

    /// A kubeconfig for the admin client, with everything embedded.
    pub(crate) fn kubeconfig(&self, url: &str) -> String {
        let b64 = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: {url}
    certificate-authority-data: {ca}
users:
- name: admin
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
",
            ca = b64(&self.ca_pem),
            cert = b64(&self.admin_cert_pem),
            key = b64(&self.admin_key_pem),
        )
    }
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    if let Some(org) = organization {
        name.push(DnType::OrganizationName, org);
    }
    name
}
