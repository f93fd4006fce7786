//! Sprig's encoding functions as ESO ships them
//! (`runtime/template/v2/sprig/strings.go`): `b64enc`, `b64dec`, `b32enc`,
//! `b32dec` and ESO's own `hexdec`.
//!
//! The decoders never fail: on bad input they return the text of Go's
//! error as the value (ESO's test "base64 decode error" renders
//! `illegal base64 data at input byte 3` without an error). So the
//! decoders here follow Go's `encoding/base64`, `encoding/base32` and
//! `encoding/hex` exactly, down to the offset each error names.

use base64::Engine as _;

use super::strings::{is_print, str_arg};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("b64enc", &[Param::Str], None, b64enc);
    r.add("b64dec", &[Param::Str], None, b64dec);
    r.add("b32enc", &[Param::Str], None, b32enc);
    r.add("b32dec", &[Param::Str], None, b32dec);
    r.add("hexdec", &[Param::Str], None, hexdec);
}

fn b64enc(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = str_arg(&args, 0)?;
    Ok(Value::str(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

fn b64dec(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(match base64_std_decode(str_arg(&args, 0)?) {
        Ok(bytes) => bytes,
        Err(at) => format!("illegal base64 data at input byte {at}").into_bytes(),
    }))
}

fn b32enc(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(data_encoding::BASE32.encode(str_arg(&args, 0)?)))
}

fn b32dec(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(match base32_std_decode(str_arg(&args, 0)?) {
        Ok(bytes) => bytes,
        Err(at) => format!("illegal base32 data at input byte {at}").into_bytes(),
    }))
}

/// ESO's `hexdecode`: `hex.DecodeString`, or its error's text.
fn hexdec(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(match hex_decode(str_arg(&args, 0)?) {
        Ok(bytes) => bytes,
        Err(text) => text.into_bytes(),
    }))
}

/// The value of a base64 digit of the standard alphabet.
fn base64_digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// `base64.StdEncoding.DecodeString`: the bytes, or the offset Go's
/// `CorruptInputError` names. Newlines are skipped anywhere; padding is
/// required; the bits after the last byte need not be zero.
fn base64_std_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    while si < src.len() {
        si = base64_quantum(&mut out, src, si)?;
    }
    Ok(out)
}

/// One quantum of four digits from `si` (Go's `decodeQuantum`): the offset
/// after it.
fn base64_quantum(out: &mut Vec<u8>, src: &[u8], mut si: usize) -> Result<usize, usize> {
    let at = |i: usize| src.get(i).copied();
    let skip_newlines = |mut i: usize| {
        while at(i).is_some_and(is_newline) {
            i += 1;
        }
        i
    };
    let mut digits = [0u8; 4];
    let mut len = 4;
    let mut j = 0;
    while j < 4 {
        let Some(c) = at(si) else {
            if j == 0 {
                return Ok(si);
            }
            // The standard encoding wants padding: a short quantum is
            // corrupt where it began.
            return Err(si - j);
        };
        si += 1;
        if let Some(d) = base64_digit(c) {
            if let Some(slot) = digits.get_mut(j) {
                *slot = d;
            }
            j += 1;
            continue;
        }
        if is_newline(c) {
            continue;
        }
        if c != b'=' {
            return Err(si - 1);
        }
        // Padding: one '=' after three digits, two after two.
        match j {
            0 | 1 => return Err(si - 1),
            2 => {
                si = skip_newlines(si);
                match at(si) {
                    None => return Err(src.len()),
                    Some(b'=') => si += 1,
                    Some(_) => return Err(si - 1),
                }
            }
            _ => {}
        }
        si = skip_newlines(si);
        if si < src.len() {
            // Data after the padding.
            return Err(si);
        }
        len = j;
        break;
    }
    let [a, b, c, d] = digits.map(u32::from);
    let val = (a << 18) | (b << 12) | (c << 6) | d;
    let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
    out.extend_from_slice(bytes.get(..len - 1).unwrap_or_default());
    Ok(si)
}

/// The value of a base32 digit of the standard alphabet.
fn base32_digit(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

/// `base32.StdEncoding.DecodeString`: newlines are dropped first, then
/// quanta of eight digits decoded; the error is the offset Go's
/// `CorruptInputError` names, in the input without its newlines.
fn base32_std_decode(input: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = input.iter().copied().filter(|&c| !is_newline(c)).collect();
    let total = src.len();
    let mut out = Vec::with_capacity(total / 8 * 5);
    let mut pos = 0;
    let mut end = false;
    while pos < total && !end {
        let mut digits = [0u8; 8];
        let mut len = 8;
        let mut j = 0;
        while j < 8 {
            let Some(&c) = src.get(pos) else {
                // Out of input before the quantum ended: padding missing.
                return Err(pos - j);
            };
            pos += 1;
            let remaining = total - pos;
            if c == b'=' && j >= 2 && remaining < 8 {
                // Padding: it must run to the end of the quantum.
                if remaining + j < 7 {
                    return Err(total);
                }
                for k in 0..(7 - j) {
                    if src.get(pos + k).is_some_and(|&p| p != b'=') {
                        return Err(pos + k - 1);
                    }
                }
                len = j;
                end = true;
                // One, three or six digits cannot end a quantum.
                if matches!(len, 1 | 3 | 6) {
                    return Err(pos - 1);
                }
                break;
            }
            match base32_digit(c) {
                Some(d) => {
                    if let Some(slot) = digits.get_mut(j) {
                        *slot = d;
                    }
                }
                None => return Err(pos - 1),
            }
            j += 1;
        }
        let [d0, d1, d2, d3, d4, d5, d6, d7] = digits;
        let bytes = [
            (d0 << 3) | (d1 >> 2),
            (d1 << 6) | (d2 << 1) | (d3 >> 4),
            (d3 << 4) | (d4 >> 1),
            (d4 << 7) | (d5 << 2) | (d6 >> 3),
            (d6 << 5) | d7,
        ];
        let n = match len {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(bytes.get(..n).unwrap_or_default());
    }
    Ok(out)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Go's `hex.InvalidByteError` text: the byte as the rune of that value,
/// `%#U` (`U+0067 'g'`, the quoted rune only when printable).
fn invalid_hex_byte(b: u8) -> String {
    let c = char::from(b);
    if is_print(c) {
        format!("encoding/hex: invalid byte: U+{:04X} '{c}'", u32::from(b))
    } else {
        format!("encoding/hex: invalid byte: U+{:04X}", u32::from(b))
    }
}

/// `hex.DecodeString`: pairs of digits; an invalid byte is reported before
/// an odd length.
fn hex_decode(src: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(src.len() / 2);
    let mut pairs = src.chunks_exact(2);
    for pair in pairs.by_ref() {
        let &[p, q] = pair else { continue };
        let hi = hex_digit(p).ok_or_else(|| invalid_hex_byte(p))?;
        let lo = hex_digit(q).ok_or_else(|| invalid_hex_byte(q))?;
        out.push((hi << 4) | lo);
    }
    if let Some(&last) = pairs.remainder().first() {
        if hex_digit(last).is_none() {
            return Err(invalid_hex_byte(last));
        }
        return Err("encoding/hex: odd length hex string".to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::strings::test_support::{b, bytes, s};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Vec<u8> {
        bytes(super::super::strings::test_support::call(
            register, name, args,
        ))
    }

    fn text(name: &str, input: &[u8]) -> String {
        String::from_utf8(call(name, vec![b(input)])).unwrap()
    }

    // Masterminds/sprig strings_test.go: TestBase64EncodeDecode,
    // TestBase32EncodeDecode.
    #[test]
    fn sprig_round_trips() {
        assert_eq!(text("b64enc", b"coffee"), "Y29mZmVl");
        assert_eq!(text("b64dec", b"Y29mZmVl"), "coffee");
        assert_eq!(text("b32enc", b"coffee"), "MNXWMZTFMU======");
        assert_eq!(text("b32dec", b"MNXWMZTFMU======"), "coffee");
    }

    // ESO runtime/template/v2/template_test.go: "b64dec func", "base64
    // pipeline", "base64 decode error" (no error: Go's text is the value).
    #[test]
    fn eso_base64_cases() {
        assert_eq!(text("b64dec", b"MTIzNA=="), "1234");
        let encoded = call("b64enc", vec![s("123412341234")]);
        assert_eq!(call("b64dec", vec![b(&encoded)]), b"123412341234");
        assert_eq!(
            text("b64dec", b"iam_no_base64"),
            "illegal base64 data at input byte 3"
        );
    }

    // ESO template_test.go: "hexdec" renders
    // `{{ .example | sha256sum | hexdec | b64enc }}`; sha256sum("example")
    // is the hex below.
    #[test]
    fn eso_hexdec() {
        let digest = call(
            "hexdec",
            vec![s(
                "50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c",
            )],
        );
        assert_eq!(
            call("b64enc", vec![b(&digest)]),
            b"UNhY4JhezH9gQYqvDMWrWH9CwlcKiECVqejMrND2VFw="
        );
    }

    // Go's encoding/base64 StdEncoding: newlines skipped, padding required,
    // each error at the offset Go names (go1.19).
    #[test]
    fn base64_as_go() {
        for (input, want) in [
            (&b"YWJj\nZGVm"[..], &b"abcdef"[..]),
            (b"YQ=\n=", b"a"),
            (b"YWI=", b"ab"),
            (b"", b""),
            (b"YWI", b"illegal base64 data at input byte 0"),
            (b"YWI=x", b"illegal base64 data at input byte 4"),
            (b"A===", b"illegal base64 data at input byte 1"),
            (b"YQ=", b"illegal base64 data at input byte 3"),
            (b"=", b"illegal base64 data at input byte 0"),
            (b"-_-_", b"illegal base64 data at input byte 0"),
        ] {
            assert_eq!(call("b64dec", vec![b(input)]), want, "{input:?}");
        }
        // Binary data round-trips byte for byte.
        let all: Vec<u8> = (0..=255).collect();
        let encoded = call("b64enc", vec![b(&all)]);
        assert_eq!(call("b64dec", vec![b(&encoded)]), all);
    }

    // Go's encoding/base32 StdEncoding (go1.19).
    #[test]
    fn base32_as_go() {
        for (input, want) in [
            (&b"MZXW6==="[..], &b"foo"[..]),
            (b"MZXW6====", b"foo"),
            (b"MZ\nXW6===", b"foo"),
            (b"MZXW6", b"illegal base32 data at input byte 0"),
            (b"M=======", b"illegal base32 data at input byte 1"),
            (b"mzxw6===", b"illegal base32 data at input byte 0"),
        ] {
            assert_eq!(call("b32dec", vec![b(input)]), want, "{input:?}");
        }
    }

    // Go's encoding/hex errors, `%#U` of the byte (go1.19).
    #[test]
    fn hex_as_go() {
        for (input, want) in [
            (&b"zz"[..], "encoding/hex: invalid byte: U+007A 'z'"),
            (b"0g", "encoding/hex: invalid byte: U+0067 'g'"),
            (b"abc", "encoding/hex: odd length hex string"),
            (b"\xff0", "encoding/hex: invalid byte: U+00FF 'ÿ'"),
            (b"a\xe9", "encoding/hex: invalid byte: U+00E9 'é'"),
            (b"\x00a", "encoding/hex: invalid byte: U+0000"),
        ] {
            assert_eq!(text("hexdec", input), want, "{input:?}");
        }
        assert_eq!(call("hexdec", vec![s("00ff7F")]), b"\x00\xff\x7f");
    }
}
