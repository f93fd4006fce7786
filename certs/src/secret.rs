//! A wrapper that keeps private key PEM out of logs.

use std::fmt;

/// PEM text of a private key.
///
/// It exists so that a key can travel inside structs that derive or print
/// `Debug` (issued certificates, the CA, error reports) without ever being
/// written to a log: `Debug` prints a placeholder and there is no `Display`.
/// Reading the text is an explicit call to [`PrivateKeyPem::as_str`], which
/// is easy to spot in review.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKeyPem(String);

impl PrivateKeyPem {
    /// Wrap PEM text that holds a private key.
    pub(crate) fn new(pem: String) -> Self {
        Self(pem)
    }

    /// The PEM text, for writing `tls.key` or a Secret field.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Give up the wrapper and take the PEM text.
    #[must_use]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PrivateKeyPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKeyPem(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::PrivateKeyPem;

    #[test]
    fn debug_hides_the_key() {
        let key = PrivateKeyPem::new("-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n".to_owned());
        let shown = format!("{key:?}");
        assert_eq!(shown, "PrivateKeyPem(<redacted>)");
        assert!(!shown.contains("c2VjcmV0"));
    }
}
