//! Go's `fmt.Sprintf`, `Sprint` and `Sprintln` over template values: the
//! verbs, flags, width and precision a template's `printf` uses, and Go's
//! `%!verb(type=value)` marks for a verb that does not fit its operand.

use crate::value::{Value, format_float_g};

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Go's `fmt.Sprint(args...)`: spaces between operands when neither side
/// is a string.
pub(crate) fn sprint(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(b' ');
        }
        out.extend_from_slice(&a.to_go_string());
    }
    out
}

/// Go's `fmt.Sprintln(args...)`: spaces always, and a newline.
pub(crate) fn sprintln(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(&a.to_go_string());
    }
    out.push(b'\n');
    out
}

/// Go's `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next_arg = 0;
    let mut i = 0;
    while i < format.len() {
        let b = format[i];
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1;
        let mut spec = Spec::default();
        while i < format.len() {
            match format[i] {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b'#' => spec.sharp = true,
                b' ' => spec.space = true,
                b'0' => spec.zero = !spec.minus,
                _ => break,
            }
            i += 1;
        }
        // Width: digits or `*`.
        if i < format.len() && format[i] == b'*' {
            i += 1;
            match args.get(next_arg) {
                Some(Value::Int(w)) => {
                    if *w < 0 {
                        spec.minus = true;
                    }
                    spec.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.extend_from_slice(b"%!(BADWIDTH)"),
            }
            next_arg += 1;
        } else {
            spec.width = digits(format, &mut i);
        }
        if i < format.len() && format[i] == b'.' {
            i += 1;
            if i < format.len() && format[i] == b'*' {
                i += 1;
                match args.get(next_arg) {
                    Some(Value::Int(p)) if *p >= 0 => spec.precision = Some(*p as usize),
                    _ => out.extend_from_slice(b"%!(BADPREC)"),
                }
                next_arg += 1;
            } else {
                spec.precision = Some(digits(format, &mut i).unwrap_or(0));
            }
        }
        let Some(verb) = std::str::from_utf8(&format[i..])
            .ok()
            .and_then(|s| s.chars().next())
            .or_else(|| format.get(i).map(|b| char::from(*b)))
        else {
            out.extend_from_slice(b"%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push(b'%');
            continue;
        }
        let Some(arg) = args.get(next_arg) else {
            out.extend_from_slice(format!("%!{verb}(MISSING)").as_bytes());
            continue;
        };
        next_arg += 1;
        format_one(&mut out, verb, spec, arg);
    }
    if next_arg < args.len() {
        out.extend_from_slice(b"%!(EXTRA ");
        for (n, a) in args[next_arg..].iter().enumerate() {
            if n > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(a.type_name().as_bytes());
            out.push(b'=');
            out.extend_from_slice(&a.to_go_string());
        }
        out.push(b')');
    }
    out
}

fn digits(format: &[u8], i: &mut usize) -> Option<usize> {
    let start = *i;
    while *i < format.len() && format[*i].is_ascii_digit() {
        *i += 1;
    }
    std::str::from_utf8(&format[start..*i]).ok()?.parse().ok()
}

fn bad(out: &mut Vec<u8>, verb: char, arg: &Value) {
    out.extend_from_slice(format!("%!{verb}(").as_bytes());
    match arg {
        Value::Nil => out.extend_from_slice(b"<nil>"),
        other => {
            out.extend_from_slice(other.type_name().as_bytes());
            out.push(b'=');
            out.extend_from_slice(&other.to_go_string());
        }
    }
    out.push(b')');
}

fn pad(out: &mut Vec<u8>, body: &[u8], spec: Spec, numeric: bool) {
    let len = String::from_utf8_lossy(body).chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.extend_from_slice(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else if spec.zero && numeric {
        // Zeros go after the sign.
        let (sign, rest) = match body.first() {
            Some(b'-' | b'+' | b' ') => body.split_at(1),
            _ => (&body[..0], body),
        };
        out.extend_from_slice(sign);
        out.extend(std::iter::repeat_n(b'0', fill));
        out.extend_from_slice(rest);
    } else {
        out.extend(std::iter::repeat_n(b' ', fill));
        out.extend_from_slice(body);
    }
}

fn format_one(out: &mut Vec<u8>, verb: char, spec: Spec, arg: &Value) {
    match (verb, arg) {
        ('v', _) => {
            let body = match arg {
                Value::Int(_) | Value::Float(_) => return format_number(out, verb, spec, arg),
                other => other.to_go_string(),
            };
            pad(out, &body, spec, false);
        }
        ('s', Value::Str(s)) => {
            let bytes = truncate(s.as_bytes(), spec.precision);
            pad(out, bytes, spec, false);
        }
        ('s', Value::List(items)) => {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                format_one(out, 's', spec, item);
            }
            out.push(b']');
        }
        ('s', Value::Map(entries)) => {
            out.extend_from_slice(b"map[");
            for (n, (k, item)) in entries.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(k.as_bytes());
                out.push(b':');
                format_one(out, 's', spec, item);
            }
            out.push(b']');
        }
        ('s', Value::Time(_)) => pad(out, &arg.to_go_string(), spec, false),
        ('q', Value::Str(s)) => {
            let body = if spec.sharp && !s.as_bytes().contains(&b'`') && s.as_str().is_some() {
                format!("`{}`", s.to_str_lossy())
            } else {
                go_quote(truncate(s.as_bytes(), spec.precision), spec.plus)
            };
            pad(out, body.as_bytes(), spec, false);
        }
        ('q', Value::Int(i)) => match u32::try_from(*i).ok().and_then(char::from_u32) {
            Some(c) => {
                let body = go_quote_rune(c);
                pad(out, body.as_bytes(), spec, false);
            }
            None => pad(out, "'\u{FFFD}'".as_bytes(), spec, false),
        },
        ('x' | 'X', Value::Str(s)) => {
            let mut body = String::new();
            for (n, b) in truncate(s.as_bytes(), spec.precision).iter().enumerate() {
                if spec.space && n > 0 {
                    body.push(' ');
                }
                if spec.sharp && (spec.space || n == 0) {
                    body.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    body.push_str(&format!("{b:02x}"));
                } else {
                    body.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, body.as_bytes(), spec, false);
        }
        ('t', Value::Bool(b)) => pad(out, if *b { b"true" } else { b"false" }, spec, false),
        ('c', Value::Int(i)) => {
            let c = u32::try_from(*i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            pad(out, c.to_string().as_bytes(), spec, false);
        }
        ('U', Value::Int(i)) => pad(out, format!("U+{:04X}", i).as_bytes(), spec, false),
        ('d' | 'b' | 'o' | 'O' | 'x' | 'X', Value::Int(_))
        | ('e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'x' | 'X', Value::Float(_)) => {
            format_number(out, verb, spec, arg)
        }
        (_, Value::List(items))
            if matches!(
                verb,
                'd' | 'x' | 'X' | 'o' | 'b' | 'f' | 'e' | 'g' | 'q' | 't' | 'c'
            ) =>
        {
            out.push(b'[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b' ');
                }
                format_one(out, verb, spec, item);
            }
            out.push(b']');
        }
        _ => bad(out, verb, arg),
    }
}

fn truncate(bytes: &[u8], precision: Option<usize>) -> &[u8] {
    match precision {
        // Precision counts runes.
        Some(p) => match std::str::from_utf8(bytes) {
            Ok(s) => match s.char_indices().nth(p) {
                Some((at, _)) => &bytes[..at],
                None => bytes,
            },
            Err(_) => &bytes[..p.min(bytes.len())],
        },
        None => bytes,
    }
}

fn format_number(out: &mut Vec<u8>, verb: char, spec: Spec, arg: &Value) {
    let body = match arg {
        Value::Int(i) => {
            let (neg, mag) = (*i < 0, i.unsigned_abs());
            let digits = match verb {
                'b' => format!("{mag:b}"),
                'o' => format!("{}{mag:o}", if spec.sharp { "0" } else { "" }),
                'O' => format!("0o{mag:o}"),
                'x' => format!("{}{mag:x}", if spec.sharp { "0x" } else { "" }),
                'X' => format!("{}{mag:X}", if spec.sharp { "0X" } else { "" }),
                _ => {
                    let mut d = mag.to_string();
                    if let Some(p) = spec.precision
                        && d.len() < p
                    {
                        d = format!("{}{d}", "0".repeat(p - d.len()));
                    }
                    d
                }
            };
            let sign = if neg {
                "-"
            } else if spec.plus {
                "+"
            } else if spec.space {
                " "
            } else {
                ""
            };
            format!("{sign}{digits}")
        }
        Value::Float(f) => {
            let s = match (verb, spec.precision) {
                ('v', _) | ('g' | 'G', None) => format_float_g(*f),
                ('g' | 'G', Some(p)) => {
                    // %.Ng: N significant digits, exponent form by Go's rule.
                    let p = p.max(1);
                    let e = format!("{:.*e}", p - 1, f);
                    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
                    let exp: i32 = exp.parse().unwrap_or(0);
                    if exp < -4 || exp >= p as i32 {
                        let mant = mant.trim_end_matches('0').trim_end_matches('.');
                        format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
                    } else {
                        let decimals = (p as i32 - 1 - exp).max(0) as usize;
                        let s = format!("{:.*}", decimals, f);
                        if s.contains('.') {
                            s.trim_end_matches('0').trim_end_matches('.').to_string()
                        } else {
                            s
                        }
                    }
                }
                ('e' | 'E', p) => {
                    let e = format!("{:.*e}", p.unwrap_or(6), f);
                    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
                    let exp: i32 = exp.parse().unwrap_or(0);
                    format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
                }
                (_, p) => format!("{:.*}", p.unwrap_or(6), f),
            };
            let s = if verb.is_ascii_uppercase() {
                s.to_uppercase()
            } else {
                s
            };
            if !s.starts_with('-') && spec.plus {
                format!("+{s}")
            } else if !s.starts_with('-') && spec.space {
                format!(" {s}")
            } else {
                s
            }
        }
        _ => return bad(out, verb, arg),
    };
    pad(out, body.as_bytes(), spec, true);
}

/// Go's `strconv.Quote` (or `QuoteToASCII` with `ascii`).
pub(crate) fn go_quote(bytes: &[u8], ascii: bool) -> String {
    let mut out = String::from("\"");
    let text = String::from_utf8_lossy(bytes);
    let valid = std::str::from_utf8(bytes).is_ok();
    if !valid {
        // Invalid bytes are written as \x escapes.
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                quote_char(&mut out, c, '"', ascii);
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
    } else {
        for c in text.chars() {
            quote_char(&mut out, c, '"', ascii);
        }
    }
    out.push('"');
    out
}

fn go_quote_rune(c: char) -> String {
    let mut out = String::from("'");
    quote_char(&mut out, c, '\'', false);
    out.push('\'');
    out
}

fn quote_char(out: &mut String, c: char, quote: char, ascii: bool) {
    match c {
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if ascii && !c.is_ascii() || !is_graphic(c) => {
            if (c as u32) < 0x10000 {
                out.push_str(&format!("\\u{:04x}", c as u32));
            } else {
                out.push_str(&format!("\\U{:08x}", c as u32));
            }
        }
        c => out.push(c),
    }
}

/// Approximates Go's `strconv.IsPrint`: printable unless a control,
/// a surrogate or private-use code point, or an unassigned format char.
fn is_graphic(c: char) -> bool {
    !(c.is_control()
        || ('\u{e000}'..='\u{f8ff}').contains(&c)
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn f(format: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(format.as_bytes(), args)).unwrap()
    }

    #[test]
    fn verbs_as_go_prints_them() {
        // Outputs of Go's fmt.Sprintf.
        assert_eq!(f("%s-%d", &[Value::str("a"), Value::Int(42)]), "a-42");
        assert_eq!(
            f(
                "%05d|%-4d|%x|%X|%o|%b",
                &[
                    Value::Int(-42),
                    Value::Int(7),
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "-0042|7   |ff|FF|10|101"
        );
        assert_eq!(
            f(
                "%.2f|%e|%g|%v",
                &[
                    Value::Float(3.14659),
                    Value::Float(1234.5678),
                    Value::Float(0.000012),
                    Value::Float(2.5)
                ]
            ),
            "3.15|1.234568e+03|1.2e-05|2.5"
        );
        assert_eq!(f("%q", &[Value::str("a\"b\n")]), r#""a\"b\n""#);
        assert_eq!(f("%x", &[Value::str("hi")]), "6869");
        assert_eq!(
            f(
                "%t %v",
                &[
                    Value::Bool(true),
                    Value::list(vec![Value::Int(1), Value::str("x")])
                ]
            ),
            "true [1 x]"
        );
        assert_eq!(
            f(
                "%5s|%-5s|%.1s",
                &[Value::str("ab"), Value::str("ab"), Value::str("ab")]
            ),
            "   ab|ab   |a"
        );
        assert_eq!(f("%c%c", &[Value::Int(72), Value::Int(105)]), "Hi");
        assert_eq!(f("100%%", &[]), "100%");
    }

    #[test]
    fn mismatches_are_marked_as_go_marks_them() {
        assert_eq!(f("%d", &[Value::str("x")]), "%!d(string=x)");
        assert_eq!(f("%s", &[Value::Int(3)]), "%!s(int=3)");
        assert_eq!(f("%s %s", &[Value::str("a")]), "a %!s(MISSING)");
        assert_eq!(
            f("%s", &[Value::str("a"), Value::Int(1)]),
            "a%!(EXTRA int=1)"
        );
        assert_eq!(f("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(f("%", &[]), "%!(NOVERB)");
    }

    #[test]
    fn print_and_println_space_as_go_does() {
        assert_eq!(
            sprint(&[
                Value::str("a"),
                Value::Int(1),
                Value::Int(2),
                Value::str("b")
            ]),
            b"a1 2b"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::Int(1)]), b"a 1\n");
    }
}
