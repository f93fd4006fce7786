//! Go's `regexp` for the patterns the External Secrets Operator compiles
//! with Go outside templates: an ExternalSecret's
//! `dataFrom[].find.name.regexp` (`regexp.MatchString`,
//! `providers/v1/azure/keyvault/keyvault.go`), its
//! `dataFrom[].rewrite[].regexp.source` (`regexp.Compile`, then
//! `ReplaceAllString` on every key, `runtime/esutils/utils.go`), a
//! ClusterSecretStore's `conditions[].namespaceRegexes`
//! (`regexp.MatchString`, `pkg/controllers/secretstore/client_manager.go`).
//!
//! Public because Go's RE2 syntax is not the `regex` crate's, and a user's
//! pattern must mean what it means to ESO: `\d`, `\s`, `\w` and `\b` are
//! ASCII in Go (Unicode in the crate), Go reads `\Q…\E`, octal escapes and
//! `\<` as a literal, refuses nested repetition and counts over 1000, and
//! allows two groups of one name. A pattern is parsed as Go's
//! `regexp/syntax` parses it, refused with Go's error texts, and written
//! again in the crate's syntax: the same translation Sprig's regex
//! functions use, so there is one. A replacement is expanded as Go's
//! `Expand` does (`$1`, `${1}`, `$name`, `${name}`, `$$`), the names
//! being the pattern's Go names.
//!
//! Haystacks are `&str`: Go matches any bytes (an invalid one as U+FFFD),
//! but these callers match names (Key Vault object names, namespaces),
//! which are text.

use std::fmt;

use crate::sprig::regex::{GoRegexp, Haystack, compile};

pub use crate::sprig::regex::{ResultTooLarge, SyntaxError as GoRegexpError};

/// A pattern compiled with Go's meaning (`regexp.Compile`).
#[derive(Clone)]
pub struct Regex {
    re: GoRegexp,
    pattern: String,
}

impl Regex {
    /// `regexp.Compile(pattern)`.
    ///
    /// # Errors
    ///
    /// [`GoRegexpError`], shown as Go shows it (`error parsing regexp:
    /// missing closing ): `(a``).
    pub fn new(pattern: &str) -> Result<Self, GoRegexpError> {
        Ok(Regex {
            re: compile(pattern.as_bytes())?,
            pattern: pattern.to_owned(),
        })
    }

    /// The pattern as written (Go's `String()`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// `MatchString`: whether the pattern matches anywhere in `haystack`.
    #[must_use]
    pub fn is_match(&self, haystack: &str) -> bool {
        self.re.is_match(haystack.as_bytes())
    }

    /// `ReplaceAllString(src, repl)`: every match replaced by `repl`
    /// expanded as Go's `Expand` does; an empty match right after a match
    /// is not replaced.
    ///
    /// # Errors
    ///
    /// [`ResultTooLarge`] when the result would pass the bound on one
    /// value (Go has none; a chain of rewrites could otherwise grow a key
    /// without end).
    pub fn replace_all(&self, src: &str, repl: &str) -> Result<String, ResultTooLarge> {
        let out = self
            .re
            .replace_all(&Haystack::new(src.as_bytes()), repl.as_bytes(), false)?;
        // Pieces of `src` cut at rune boundaries and of `repl`: UTF-8.
        Ok(String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }
}

impl fmt::Debug for Regex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Regex").field(&self.pattern).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Where Go and the `regex` crate read one pattern differently, Go's
    /// reading holds.
    #[test]
    fn patterns_mean_what_they_mean_to_go() {
        // ASCII classes: ARABIC-INDIC DIGIT THREE is Unicode's \d, not Go's.
        let digits = Regex::new(r"^\d+$").unwrap();
        assert!(digits.is_match("123"));
        assert!(!digits.is_match("\u{663}"));
        assert!(regex::Regex::new(r"^\d+$").unwrap().is_match("\u{663}"));
        assert!(!Regex::new(r"^\w$").unwrap().is_match("é"));
        assert!(!Regex::new(r"\s").unwrap().is_match("\u{b}"));
        // é is no ASCII word character: a boundary in Go, none in the crate.
        assert!(Regex::new(r"a\b").unwrap().is_match("aé"));
        assert!(!regex::Regex::new(r"a\b").unwrap().is_match("aé"));
        // \Q…\E quotes; the crate refuses it.
        let quoted = Regex::new(r"^\Qa.b\E$").unwrap();
        assert!(quoted.is_match("a.b"));
        assert!(!quoted.is_match("axb"));
        #[expect(clippy::invalid_regex, reason = "the crate's refusal is the point")]
        let crate_refuses = regex::Regex::new(r"^\Qa.b\E$").is_err();
        assert!(crate_refuses);
        // \< is a literal <; the crate reads a word's start.
        assert!(Regex::new(r"\<x").unwrap().is_match("<x"));
        assert_eq!(Regex::new(r"\Q.\E").unwrap().as_str(), r"\Q.\E");
    }

    /// Go's texts for what Go refuses, including what the crate accepts.
    #[test]
    fn refusals_are_gos() {
        for (pattern, want) in [
            ("(a", "error parsing regexp: missing closing ): `(a`"),
            (
                "a**",
                "error parsing regexp: invalid nested repetition operator: `**`",
            ),
            (
                "a{1001}",
                "error parsing regexp: invalid repeat count: `{1001}`",
            ),
            (
                r"\Z",
                r"error parsing regexp: invalid escape sequence: `\Z`",
            ),
        ] {
            assert_eq!(Regex::new(pattern).unwrap_err().to_string(), want);
        }
    }

    /// ReplaceAllString with Go's Expand: names are Go's (two groups may
    /// share one: the first that matched), `$1x` is the group named `1x`.
    #[test]
    fn replacements_expand_as_go_expands_them() {
        let re = Regex::new(r"(?P<n>a)|(?P<n>b)").unwrap();
        assert_eq!(re.replace_all("ab", "[${n}]").unwrap(), "[a][b]");
        let re = Regex::new(r"f(.*)o").unwrap();
        assert_eq!(re.replace_all("foo", "<$1x><${1}>").unwrap(), "<><o>");
        assert_eq!(re.replace_all("foo", "$$1").unwrap(), "$1");
        // No empty match right after a match.
        assert_eq!(
            Regex::new("a*").unwrap().replace_all("baaac", "-").unwrap(),
            "-b-c-"
        );
        assert_eq!(
            Regex::new("x*").unwrap().replace_all("é", "-").unwrap(),
            "-é-"
        );
    }
}
