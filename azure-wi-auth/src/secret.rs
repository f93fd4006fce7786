//! [`SecretValue`]: a secret's value that redacts itself and is wiped from
//! memory when dropped.

use std::fmt;

use zeroize::Zeroizing;

/// The value of a Key Vault secret. `Debug` and `Display` print
/// `[REDACTED]`; [`SecretValue::expose`] gives the text where it is needed.
/// The bytes are overwritten when the value is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself. Keep it out of logs.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let value = SecretValue::new("hunter2");
        assert_eq!(value.expose(), "hunter2");
        assert!(!format!("{value} {value:?}").contains("hunter2"));
    }
}
