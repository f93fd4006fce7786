//! Where the projected token lives in a pod: the two layouts the reference
//! webhook has shipped.

use std::{fmt, str::FromStr};

use crate::{Error, names};

/// Prefix of the v1.6 token volume's name; the rest is the first 30 hex
/// digits of the SHA-256 of the pod's name, so the name fills the 63
/// characters a volume name may have (reference v1.6.0,
/// `pkg/webhook/consts.go` `ProjectedVolumeNamePrefix`).
pub const RESERVED_VOLUME_PREFIX: &str = "azure-workload-identity-reserved-";
/// Hex digits of the pod name's hash in a v1.6 volume name.
pub const RESERVED_VOLUME_HASH_LEN: usize = 63 - RESERVED_VOLUME_PREFIX.len();

/// The token's place in the pod: the volume's name, where it is mounted and
/// the token file's path in it.
///
/// `V1_5` is what the reference webhook wrote up to v1.5 and what AKS's
/// documentation describes; `V1_6` is the reference v1.6.0's layout, for
/// clusters whose workloads read that path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TokenLayout {
    /// Volume `azure-identity-token` at `/var/run/secrets/azure/tokens`,
    /// token file `azure-identity-token`.
    #[default]
    V1_5,
    /// Volume `azure-workload-identity-reserved-<hash of the pod name>` at
    /// `/var/run/secrets/azure/wi`, token file `token/azure-identity-token`.
    V1_6,
}

impl TokenLayout {
    /// Every layout, oldest first.
    pub const ALL: [Self; 2] = [Self::V1_5, Self::V1_6];

    /// The name as `--token-layout` takes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_5 => "v1.5",
            Self::V1_6 => "v1.6",
        }
    }

    /// Directory where the token volume is mounted in every container.
    #[must_use]
    pub fn mount_path(self) -> &'static str {
        match self {
            Self::V1_5 => names::TOKEN_MOUNT_PATH,
            Self::V1_6 => "/var/run/secrets/azure/wi",
        }
    }

    /// The token file's path inside the volume (the projection's `path`).
    #[must_use]
    pub fn token_path(self) -> &'static str {
        match self {
            Self::V1_5 => names::TOKEN_VOLUME,
            Self::V1_6 => "token/azure-identity-token",
        }
    }

    /// Full path of the token file: `AZURE_FEDERATED_TOKEN_FILE`.
    #[must_use]
    pub fn token_file(self) -> &'static str {
        match self {
            Self::V1_5 => names::TOKEN_FILE_PATH,
            Self::V1_6 => "/var/run/secrets/azure/wi/token/azure-identity-token",
        }
    }

    /// Full path of the token proxy's CA file, projected beside the token at
    /// [`names::KUBERNETES_CA_FILE_PATH`]: `AZURE_KUBERNETES_CA_FILE`.
    #[must_use]
    pub fn ca_file(self) -> &'static str {
        match self {
            Self::V1_5 => names::KUBERNETES_CA_FILE,
            Self::V1_6 => "/var/run/secrets/azure/wi/ca-cert/ca.crt",
        }
    }

    /// The volume's name when it does not depend on the pod (v1.5).
    #[must_use]
    pub fn fixed_volume(self) -> Option<&'static str> {
        match self {
            Self::V1_5 => Some(names::TOKEN_VOLUME),
            Self::V1_6 => None,
        }
    }

    /// Whether `volume` is this layout's token volume, by its name alone:
    /// for v1.6 any name with the reserved prefix, whatever pod name it was
    /// hashed from (a pod named after an earlier injection keeps it).
    #[must_use]
    pub fn is_token_volume(self, volume: &str) -> bool {
        match self {
            Self::V1_5 => volume == names::TOKEN_VOLUME,
            Self::V1_6 => volume.starts_with(RESERVED_VOLUME_PREFIX),
        }
    }
}

impl fmt::Display for TokenLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TokenLayout {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| Error::UnknownTokenLayout {
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_file_is_its_mount_path_and_token_path() {
        for layout in TokenLayout::ALL {
            assert_eq!(
                layout.token_file(),
                format!("{}/{}", layout.mount_path(), layout.token_path())
            );
            assert_eq!(
                layout.ca_file(),
                format!("{}/{}", layout.mount_path(), names::KUBERNETES_CA_FILE_PATH)
            );
            assert_eq!(layout.as_str().parse::<TokenLayout>().unwrap(), layout);
        }
    }

    #[test]
    fn a_v1_6_volume_name_fills_63_characters() {
        assert_eq!(RESERVED_VOLUME_PREFIX.len() + RESERVED_VOLUME_HASH_LEN, 63);
    }

    #[test]
    fn an_unknown_layout_is_named_in_the_error() {
        let error = "v2".parse::<TokenLayout>().unwrap_err().to_string();
        assert!(
            error.contains("\"v2\"") && error.contains("v1.5, v1.6"),
            "{error}"
        );
    }

    #[test]
    fn only_the_layouts_own_volumes_are_token_volumes() {
        assert!(TokenLayout::V1_5.is_token_volume("azure-identity-token"));
        assert!(!TokenLayout::V1_5.is_token_volume("azure-workload-identity-reserved-ab"));
        assert!(TokenLayout::V1_6.is_token_volume("azure-workload-identity-reserved-ab"));
        assert!(!TokenLayout::V1_6.is_token_volume("azure-identity-token"));
    }
}
