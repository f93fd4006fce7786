//! Go's predefined template functions (`text/template`'s `builtins`).
//! `and`, `or` and `index` are the executor's, since they need it (lazy
//! evaluation, the data map's type); `slice` is Sprig's (its FuncMap
//! replaces Go's); `call` has nothing to call, as no value here is a
//! function.

use std::cmp::Ordering;

use super::fmt::{sprint, sprintf, sprintln};
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

/// The names the executor serves itself.
pub(crate) const EXECUTOR_FUNCS: [&str; 3] = ["and", "or", "index"];

pub(crate) fn register(r: &mut Registry) {
    r.add("len", &[Param::Any], None, len);
    r.add("not", &[Param::Any], None, |_, a| {
        Ok(Value::Bool(!first(&a).is_true()))
    });
    r.add("print", &[], Some(Param::Any), |_, a| {
        Ok(Value::str(sprint(&a)))
    });
    r.add("println", &[], Some(Param::Any), |_, a| {
        Ok(Value::str(sprintln(&a)))
    });
    r.add("printf", &[Param::Str], Some(Param::Any), printf);
    r.add("eq", &[Param::Any], Some(Param::Any), eq);
    r.add("ne", &[Param::Any, Param::Any], None, |e, a| {
        eq(e, a).map(|v| Value::Bool(!v.is_true()))
    });
    r.add("lt", &[Param::Any, Param::Any], None, |_, a| {
        order(&a, |o| o == Ordering::Less)
    });
    r.add("le", &[Param::Any, Param::Any], None, |_, a| {
        order(&a, |o| o != Ordering::Greater)
    });
    r.add("gt", &[Param::Any, Param::Any], None, |_, a| {
        order(&a, |o| o == Ordering::Greater)
    });
    r.add("ge", &[Param::Any, Param::Any], None, |_, a| {
        order(&a, |o| o != Ordering::Less)
    });
    r.add("html", &[], Some(Param::Any), |_, a| {
        Ok(Value::str(html_escape(&eval_args(&a))))
    });
    r.add("js", &[], Some(Param::Any), |_, a| {
        Ok(Value::str(js_escape(&eval_args(&a))))
    });
    r.add("urlquery", &[], Some(Param::Any), |_, a| {
        Ok(Value::str(query_escape(&eval_args(&a))))
    });
}

fn first(a: &[Value]) -> Value {
    a.first().cloned().unwrap_or_default()
}

fn len(_: &mut Env<'_>, a: Vec<Value>) -> Result<Value, FuncError> {
    match first(&a) {
        Value::Str(s) => Ok(Value::Int(s.len() as i64)),
        Value::List(l) => Ok(Value::Int(l.len() as i64)),
        Value::Map(m) => Ok(Value::Int(m.len() as i64)),
        Value::Nil => Err(FuncError::new("len of nil pointer")),
        other => Err(FuncError::new(format!("len of type {}", other.type_name()))),
    }
}

fn printf(_: &mut Env<'_>, a: Vec<Value>) -> Result<Value, FuncError> {
    let (format, rest) = a
        .split_first()
        .map_or((Value::Nil, &[][..]), |(f, r)| (f.clone(), r));
    let format = format
        .as_str()
        .map(|s| s.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(Value::str(sprintf(&format, rest)))
}

/// Go's basic kinds for comparison.
#[derive(PartialEq, Eq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// Go's `eq arg1 arg2...`: true when `arg1` equals any of the others.
fn eq(_: &mut Env<'_>, a: Vec<Value>) -> Result<Value, FuncError> {
    let Some((arg1, rest)) = a.split_first() else {
        return Err(FuncError::new("missing argument for comparison"));
    };
    if rest.is_empty() {
        return Err(FuncError::new("missing argument for comparison"));
    }
    let k1 = kind(arg1);
    for arg in rest {
        let k2 = kind(arg);
        let truth = if k1 != k2 {
            if k1 != Kind::Invalid && k2 != Kind::Invalid {
                return Err(FuncError::new("incompatible types for comparison"));
            }
            false
        } else {
            match (arg1, arg) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Int(x), Value::Int(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Str(x), Value::Str(y)) => x == y,
                (Value::Nil, Value::Nil) => true,
                (Value::Time(x), Value::Time(y)) => x == y,
                (x, _) => {
                    return Err(FuncError::new(format!(
                        "non-comparable type {}",
                        x.type_name()
                    )));
                }
            }
        };
        if truth {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn order(a: &[Value], want: fn(Ordering) -> bool) -> Result<Value, FuncError> {
    let (x, y) = match a {
        [x, y] => (x, y),
        _ => return Err(FuncError::new("missing argument for comparison")),
    };
    let ordering = match (x, y) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Str(x), Value::Str(y)) => x.as_bytes().cmp(y.as_bytes()),
        (x, y) if kind(x) != kind(y) => {
            return Err(FuncError::new("incompatible types for comparison"));
        }
        _ => return Err(FuncError::new("invalid type for comparison")),
    };
    Ok(Value::Bool(want(ordering)))
}

/// Go's `evalArgs`: one string argument as it is, else `fmt.Sprint`.
fn eval_args(a: &[Value]) -> Vec<u8> {
    match a {
        [Value::Str(s)] => s.as_bytes().to_vec(),
        _ => sprint(a),
    }
}

/// Go's `template.HTMLEscapeString`.
fn html_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        match c {
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
fn js_escape(b: &[u8]) -> Vec<u8> {
    let mut out = String::with_capacity(b.len());
    for c in String::from_utf8_lossy(b).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_ascii() || !c.is_control() => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out.into_bytes()
}

/// Go's `url.QueryEscape`.
fn query_escape(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(c),
            b' ' => out.push(b'+'),
            c => out.extend_from_slice(format!("%{c:02X}").as_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapers_match_go() {
        assert_eq!(
            html_escape(b"<a href=\"x\">'&'</a>"),
            b"&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            js_escape(b"a'b\"<=>&\\"),
            b"a\\'b\\\"\\u003C\\u003D\\u003E\\u0026\\\\"
        );
        assert_eq!(query_escape(b"a b&c=d/e"), b"a+b%26c%3Dd%2Fe");
    }
}
