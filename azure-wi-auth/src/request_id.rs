//! The `x-ms-client-request-id` header value.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The `x-ms-client-request-id` of one request: a UUID that Entra ID logs,
/// so support can find the request.
///
/// The caller supplies it (usually from 16 random bytes) so this crate needs
/// no random number generator and tests stay deterministic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientRequestId(String);

impl ClientRequestId {
    /// Makes a version 4 (random) UUID from 16 random bytes, setting the
    /// version and variant bits as RFC 9562 requires.
    #[must_use]
    pub fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut text = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                text.push('-');
            }
            text.push_str(&format!("{b:02x}"));
        }
        Self(text)
    }

    /// The UUID in lower-case hyphenated form.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientRequestId {
    type Err = Error;

    /// Accepts any UUID written as 8-4-4-4-12 hex digits; stores it in lower case.
    fn from_str(s: &str) -> Result<Self, Error> {
        if azure_wi_core::is_guid(s) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(Error::InvalidClientRequestId {
                value: s.to_owned(),
            })
        }
    }
}

impl fmt::Display for ClientRequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_from_random_bytes_is_a_v4_uuid() {
        let id = ClientRequestId::from_random_bytes([0xff; 16]);
        assert_eq!(id.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = ClientRequestId::from_random_bytes([0; 16]);
        assert_eq!(id.to_string(), "00000000-0000-4000-8000-000000000000");
        assert_eq!(id.as_str().parse::<ClientRequestId>().unwrap(), id);
    }

    #[test]
    fn request_id_parse_checks_shape_and_lowercases() {
        let id: ClientRequestId = "0F8FAD5B-D9CB-469F-A165-70867728950E".parse().unwrap();
        assert_eq!(id.as_str(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        for bad in [
            "",
            "0f8fad5b",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
        ] {
            let msg = bad.parse::<ClientRequestId>().unwrap_err().to_string();
            assert!(msg.contains("is not a UUID"), "{msg}");
        }
    }
}
