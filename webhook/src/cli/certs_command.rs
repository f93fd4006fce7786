//! `webhook certs`: a CA and serving pair for people who manage the
//! webhook's certificates themselves.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use certs::reload::{CERT_FILE, KEY_FILE};
use clap::Args;
use webhook::tls::{CA_CERT_FILE, defaults};

/// Arguments of `webhook certs`.
#[derive(Debug, Args)]
pub(crate) struct CertsArgs {
    /// Name of the webhook's Service.
    #[arg(long, value_name = "NAME", default_value = defaults::SERVICE_NAME)]
    service: String,
    /// Namespace of the webhook's Service.
    #[arg(long, value_name = "NS", default_value = defaults::NAMESPACE)]
    namespace: String,
    /// Directory to write `ca.crt`, `tls.crt` and `tls.key` into (created if
    /// missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Extra DNS name or IP address for the serving certificate (repeatable).
    #[arg(long = "extra-san", value_name = "NAME_OR_IP")]
    extra_sans: Vec<String>,
    /// Lifetime of the serving certificate (the default is
    /// `certs::serving::DEFAULT_VALIDITY`).
    #[arg(long, value_name = "DURATION", default_value = "365days", value_parser = humantime::parse_duration)]
    validity: Duration,
    /// Lifetime of the CA (the default is
    /// `certs::authority::DEFAULT_VALIDITY`).
    #[arg(long, value_name = "DURATION", default_value = "3650days", value_parser = humantime::parse_duration)]
    ca_validity: Duration,
}

/// Why the certificates could not be written: exit code 2.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertsError {
    #[error(transparent)]
    Certs(#[from] certs::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes the files and prints the base64 `caBundle` on stdout.
pub(crate) fn run(args: &CertsArgs) -> Result<ExitCode, CertsError> {
    let ca = certs::CertificateAuthority::generate(defaults::CA_COMMON_NAME, args.ca_validity)?;
    let request = args.extra_sans.iter().try_fold(
        certs::ServingCertificate::for_service(&args.service, &args.namespace)?
            .with_validity(args.validity),
        |request, san| request.with_subject_alt_name(san),
    )?;
    let serving = request.issue(&ca)?;

    std::fs::create_dir_all(&args.out).map_err(|source| CertsError::Write {
        path: args.out.clone(),
        source,
    })?;
    write(&args.out.join(CA_CERT_FILE), ca.cert_pem(), false)?;
    write(&args.out.join(CERT_FILE), serving.cert_pem(), false)?;
    write(&args.out.join(KEY_FILE), serving.key_pem().as_str(), true)?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", certs::ca_bundle_base64(ca.cert_pem())).map_err(|source| {
        CertsError::Write {
            path: PathBuf::from("standard output"),
            source,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, contents: &str, private: bool) -> Result<(), CertsError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let error = |source| CertsError::Write {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if private {
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(error)?;
    file.write_all(contents.as_bytes()).map_err(error)
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::CertsArgs;

    #[derive(Debug, clap::Parser)]
    struct Command {
        #[command(flatten)]
        args: CertsArgs,
    }

    /// The defaults are written as text for `--help`; they must be the
    /// validities `certs` recommends, not a second opinion.
    #[test]
    fn default_validities_are_the_certs_crate_defaults() {
        let parsed = Command::try_parse_from(["certs", "--out", "/tmp/unused"])
            .expect("only --out is required");
        assert_eq!(parsed.args.validity, certs::serving::DEFAULT_VALIDITY);
        assert_eq!(parsed.args.ca_validity, certs::authority::DEFAULT_VALIDITY);
        assert_eq!(parsed.args.service, webhook::tls::defaults::SERVICE_NAME);
        assert_eq!(parsed.args.namespace, webhook::tls::defaults::NAMESPACE);
    }
}
