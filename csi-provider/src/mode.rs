//! File modes as the protocol carries them: the driver's default arrives as
//! JSON number text (`"420"` for 0644), an object's `filePermission` as an
//! octal string (`"0755"`), and each `File.mode` goes back as a decimal
//! `int32`.

use std::fmt;

/// A permission mode, 0 to 0o777: the protocol carries no setuid, setgid or
/// sticky bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileMode(u32);

impl FileMode {
    /// The driver's default, 0644.
    pub const DEFAULT: Self = Self(0o644);

    /// The highest mode the protocol allows (511).
    const MAX: u32 = 0o777;

    /// The mode, if it is within 0..=0o777.
    #[must_use]
    pub fn new(mode: u32) -> Option<Self> {
        (mode <= Self::MAX).then_some(Self(mode))
    }

    /// Reads the driver's `permission`: JSON number text such as `"420"`
    /// (Go's `json.Marshal(os.FileMode(0644))`). `None` when it is not a
    /// decimal integer in range.
    #[must_use]
    pub fn from_json_number(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok().and_then(Self::new)
    }

    /// Reads a `filePermission`: octal digits with an optional leading `0`,
    /// `0o` or `0O` (Go's `strconv.ParseInt(s, 8, 32)` takes `0755` and
    /// `755`; `0o755` is accepted as the spelling Rust and YAML 1.2 use).
    #[must_use]
    pub fn from_octal(text: &str) -> Option<Self> {
        let text = text.trim();
        let digits = text
            .strip_prefix("0o")
            .or_else(|| text.strip_prefix("0O"))
            .unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return None;
        }
        u32::from_str_radix(digits, 8).ok().and_then(Self::new)
    }

    /// The mode as `File.mode` carries it.
    #[must_use]
    pub fn as_i32(self) -> i32 {
        // MAX is 511, far inside i32.
        i32::try_from(self.0).expect("a mode is at most 0o777")
    }

    /// The mode bits.
    #[must_use]
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl Default for FileMode {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Debug for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileMode({:#05o})", self.0)
    }
}

impl fmt::Display for FileMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_permission_is_decimal_json() {
        assert_eq!(FileMode::from_json_number("420"), Some(FileMode::DEFAULT));
        assert_eq!(
            FileMode::from_json_number(" 511 ").map(FileMode::bits),
            Some(0o777)
        );
        assert_eq!(FileMode::from_json_number("0"), FileMode::new(0));
        for bad in [
            "",
            "512",
            "-1",
            "0644x",
            "4.2e2",
            "\"420\"",
            "99999999999999999999",
        ] {
            assert_eq!(FileMode::from_json_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn file_permission_is_octal() {
        assert_eq!(FileMode::from_octal("0644"), Some(FileMode::DEFAULT));
        assert_eq!(FileMode::from_octal("755").map(FileMode::bits), Some(0o755));
        assert_eq!(
            FileMode::from_octal("0o600").map(FileMode::bits),
            Some(0o600)
        );
        assert_eq!(
            FileMode::from_octal("0400").map(FileMode::as_i32),
            Some(256)
        );
        for bad in ["", "0o", "0888", "rw-r--r--", "01777", "0x1ff", "-644"] {
            assert_eq!(FileMode::from_octal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn display_is_octal() {
        assert_eq!(FileMode::DEFAULT.to_string(), "0644");
        assert_eq!(format!("{:?}", FileMode::DEFAULT), "FileMode(0o644)");
    }
}
