//! Sprig's path functions as ESO ships them (`genericMap` in
//! `runtime/template/v2/sprig/functions.go`): `base`, `dir`, `clean`,
//! `ext` and `isAbs` are Go's `path`; the `os` forms are
//! `path/filepath`, which on Linux, where the controller runs, follows the
//! same rules with `/` as the only separator and no volume names.
//!
//! The rules are Go's, on bytes: `path.Clean` applies Rob Pike's lexical
//! rules ("Lexical File Names in Plan 9"), `path.Base` and `path.Dir`
//! drop trailing slashes and clean, `path.Ext` is the suffix from the
//! last dot of the last element.

use super::strings::str_arg;
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    for (plain, os) in [
        ("base", "osBase"),
        ("dir", "osDir"),
        ("clean", "osClean"),
        ("ext", "osExt"),
        ("isAbs", "osIsAbs"),
    ] {
        let body = match plain {
            "base" => base,
            "dir" => dir,
            "clean" => clean,
            "ext" => ext,
            _ => is_abs,
        };
        r.add(plain, &[Param::Str], None, body);
        r.add(os, &[Param::Str], None, body);
    }
}

fn base(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(go_base(str_arg(&args, 0)?)))
}

fn dir(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(go_dir(str_arg(&args, 0)?)))
}

fn clean(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(go_clean(str_arg(&args, 0)?)))
}

fn ext(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(go_ext(str_arg(&args, 0)?)))
}

fn is_abs(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Bool(str_arg(&args, 0)?.first() == Some(&b'/')))
}

/// `path.Clean`: the shortest equivalent path by lexical processing
/// (multiple slashes as one, `.` elements dropped, `..` elements with the
/// element before them, `..` at the root dropped), `.` for nothing.
fn go_clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path.first() == Some(&b'/');
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    // How much of `out` a `..` may not remove.
    let mut dotdot = 0;
    if rooted {
        out.push(b'/');
        dotdot = 1;
    }
    for element in path.split(|&b| b == b'/') {
        match element {
            b"" | b"." => {}
            b".." => {
                if out.len() > dotdot {
                    // Back to the previous slash.
                    while out.len() > dotdot && out.last() != Some(&b'/') {
                        out.pop();
                    }
                    if out.len() > dotdot {
                        out.pop();
                    }
                } else if !rooted {
                    if !out.is_empty() {
                        out.push(b'/');
                    }
                    out.extend_from_slice(b"..");
                    dotdot = out.len();
                }
            }
            _ => {
                if rooted && out.len() != 1 || !rooted && !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(element);
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

/// `path.Base`: the last element, trailing slashes dropped; `.` for
/// nothing, `/` for only slashes.
fn go_base(path: &[u8]) -> &[u8] {
    if path.is_empty() {
        return b".";
    }
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(last) => path.get(..=last).unwrap_or_default(),
        None => return b"/",
    };
    match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => trimmed.get(i + 1..).unwrap_or_default(),
        None => trimmed,
    }
}

/// `path.Dir`: all but the last element, cleaned.
fn go_dir(path: &[u8]) -> Vec<u8> {
    let dir = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => path.get(..=i).unwrap_or_default(),
        None => &[],
    };
    go_clean(dir)
}

/// `path.Ext`: from the last `.` of the last element, or nothing.
fn go_ext(path: &[u8]) -> &[u8] {
    for (i, &b) in path.iter().enumerate().rev() {
        match b {
            b'/' => break,
            b'.' => return path.get(i..).unwrap_or_default(),
            _ => {}
        }
    }
    &[]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::super::strings::test_support::{bytes, s};
    use super::*;

    fn call(name: &str, input: &str) -> Result<Value, FuncError> {
        super::super::strings::test_support::call(register, name, vec![s(input)])
    }

    fn text(name: &str, input: &str) -> String {
        String::from_utf8(bytes(call(name, input))).unwrap()
    }

    fn abs(name: &str, input: &str) -> bool {
        match call(name, input) {
            Ok(Value::Bool(b)) => b,
            other => panic!("{other:?}"),
        }
    }

    // Masterminds/sprig functions_test.go: TestBase, TestDir, TestIsAbs,
    // TestClean, TestExt; functions_linux_test.go: the os forms.
    #[test]
    fn sprig_cases() {
        for prefix in ["", "os"] {
            let name = |f: &str| {
                if prefix.is_empty() {
                    f.to_string()
                } else {
                    format!("os{}{}", f[..1].to_uppercase(), &f[1..])
                }
            };
            assert_eq!(text(&name("base"), "foo/bar"), "bar");
            assert_eq!(text(&name("dir"), "foo/bar/baz"), "foo/bar");
            assert!(abs(&name("isAbs"), "/foo"));
            assert!(!abs(&name("isAbs"), "foo"));
            assert_eq!(text(&name("clean"), "/foo/../foo/../bar"), "/bar");
            assert_eq!(text(&name("ext"), "/foo/bar/baz.txt"), ".txt");
        }
    }

    // ESO runtime/template/v2/template_test.go: "use sprig functions".
    #[test]
    fn eso_ext() {
        assert_eq!(text("ext", "foo/bar/baz.exe"), ".exe");
    }

    // Go's path/path_test.go (go1.19): cleantests.
    #[test]
    fn go_clean() {
        for (input, want) in [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("a/b/c/", "a/b/c"),
            ("./", "."),
            ("../", ".."),
            ("../../", "../.."),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("//abc//", "/abc"),
            ("abc//", "abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ] {
            assert_eq!(text("clean", input), want, "{input}");
            assert_eq!(text("osClean", input), want, "{input}");
        }
    }

    // Go's path/path_test.go (go1.19): basetests, dirtests, exttests,
    // isAbsTests.
    #[test]
    fn go_base_dir_ext_is_abs() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("/.", "."),
            ("/", "/"),
            ("////", "/"),
            ("x/", "x"),
            ("abc", "abc"),
            ("abc/def", "def"),
            ("a/b/.x", ".x"),
            ("a/b/c.", "c."),
            ("a/b/c.x", "c.x"),
        ] {
            assert_eq!(text("base", input), want, "{input}");
        }
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("/.", "/"),
            ("/", "/"),
            ("////", "/"),
            ("/foo", "/"),
            ("x/", "x"),
            ("abc", "."),
            ("abc/def", "abc"),
            ("abc////def", "abc"),
            ("a/b/.x", "a/b"),
            ("a/b/c.", "a/b"),
            ("a/b/c.x", "a/b"),
        ] {
            assert_eq!(text("dir", input), want, "{input}");
        }
        for (input, want) in [
            ("path.go", ".go"),
            ("path.pb.go", ".go"),
            ("a.dir/b", ""),
            ("a.dir/b.go", ".go"),
            ("a.dir/", ""),
        ] {
            assert_eq!(text("ext", input), want, "{input}");
        }
        for (input, want) in [
            ("", false),
            ("/", true),
            ("/usr/bin/gcc", true),
            ("..", false),
            ("/a/../bb", true),
            (".", false),
            ("./", false),
            ("lala", false),
        ] {
            assert_eq!(abs("isAbs", input), want, "{input}");
        }
    }
}
