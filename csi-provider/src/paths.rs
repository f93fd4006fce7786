//! File paths in the volume: the driver writes each `File.path` below the
//! pod's mount and refuses one that is absolute, contains `..` or differs
//! from its `filepath.Clean` form. Checking here, before anything is
//! fetched, turns a late driver error into one naming the object.

/// Why `path` cannot be a file path in the volume, or `None` if it can.
#[must_use]
pub fn path_problem(path: &str) -> Option<String> {
    if path.is_empty() {
        return Some("it is empty".to_owned());
    }
    if path.contains('\0') {
        return Some("it contains a NUL character".to_owned());
    }
    if path.starts_with('/') {
        return Some(format!(
            "it is absolute; files are written inside the volume, so write it relative, \
             such as {:?}",
            clean(path.trim_start_matches('/')).unwrap_or_default()
        ));
    }
    if path.split('/').any(|c| c == "..") {
        return Some("it contains `..`, which would leave the volume".to_owned());
    }
    match clean(path) {
        Some(clean) if clean == path => None,
        Some(clean) => Some(format!("it is not in clean form; write it as {clean:?}")),
        None => Some("it names the volume itself, not a file".to_owned()),
    }
}

/// `path` without empty or `.` components, or `None` if nothing is left.
/// (Only called on paths without `..`.)
fn clean(path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Whether two claimed paths collide: the same path, or one is a directory
/// the other lies in (`a` and `a/0`).
#[must_use]
pub fn overlaps(a: &str, b: &str) -> bool {
    let within = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    a == b || within(a, b) || within(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_clean_paths_are_allowed() {
        for ok in [
            "db-password",
            "tls.pem",
            "certs/tls.crt",
            "a..b",
            "..hidden-ish",
            ".env",
        ] {
            assert_eq!(path_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn escaping_or_unclean_paths_are_refused_with_the_fix() {
        let problem =
            |p: &str| path_problem(p).unwrap_or_else(|| panic!("{p:?} should be refused"));
        assert_eq!(problem(""), "it is empty");
        assert!(problem("/etc/passwd").contains("write it relative, such as \"etc/passwd\""));
        assert!(problem("..").contains("`..`"));
        assert!(problem("../x").contains("`..`"));
        assert!(problem("a/../../x").contains("`..`"));
        assert_eq!(problem("./a"), "it is not in clean form; write it as \"a\"");
        assert_eq!(
            problem("a//b"),
            "it is not in clean form; write it as \"a/b\""
        );
        assert_eq!(problem("a/"), "it is not in clean form; write it as \"a\"");
        assert_eq!(problem("."), "it names the volume itself, not a file");
        assert!(problem("a\0b").contains("NUL"));
    }

    #[test]
    fn overlapping_paths() {
        assert!(overlaps("a", "a"));
        assert!(overlaps("a", "a/0"));
        assert!(overlaps("a/0", "a"));
        assert!(overlaps("x/y", "x/y/z"));
        assert!(!overlaps("a", "ab"));
        assert!(!overlaps("a/0", "a/1"));
        assert!(!overlaps("ab/0", "a"));
    }
}
