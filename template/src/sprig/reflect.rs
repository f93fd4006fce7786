//! Sprig's reflection functions as ESO ships them
//! (`runtime/template/v2/sprig/reflect.go`, `deepEqual` in
//! `functions.go`): Go's type names (`%T`), `reflect.Kind` names and
//! `reflect.DeepEqual`, over the values a template holds.
//!
//! Go tells apart types this value model folds together (`int64` and
//! `int`, `[]string` and `[]interface {}`, a nil slice and an empty one);
//! each is named here by the type this model gives it (see
//! [`Value::type_name`]).

use super::strings::str_arg;
use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("typeOf", &[Param::Any], None, type_of);
    r.add("typeIs", &[Param::Str, Param::Any], None, type_is);
    r.add("typeIsLike", &[Param::Str, Param::Any], None, type_is_like);
    r.add("kindOf", &[Param::Any], None, kind_of);
    r.add("kindIs", &[Param::Str, Param::Any], None, kind_is);
    r.add("deepEqual", &[Param::Any, Param::Any], None, deep_equal);
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Nil)
}

/// `fmt.Sprintf("%T", src)`.
fn type_of(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(arg(&args, 0).type_name()))
}

fn type_is(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let target = str_arg(&args, 0)?;
    Ok(Value::Bool(target == arg(&args, 1).type_name().as_bytes()))
}

/// The type, or a pointer to it (`*T` matches `T`).
fn type_is_like(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let target = str_arg(&args, 0)?;
    let name = arg(&args, 1).type_name().as_bytes();
    Ok(Value::Bool(
        target == name || name.strip_prefix(b"*") == Some(target),
    ))
}

/// `reflect.ValueOf(src).Kind().String()` (`invalid` for nil).
fn kind_of(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::str(arg(&args, 0).kind_name()))
}

fn kind_is(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let target = str_arg(&args, 0)?;
    Ok(Value::Bool(target == arg(&args, 1).kind_name().as_bytes()))
}

fn deep_equal(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::Bool(go_deep_equal(arg(&args, 0), arg(&args, 1))))
}

/// `reflect.DeepEqual`: the same type and deeply the same contents;
/// numbers by `==` (so NaN is not equal to itself), times by instant and
/// offset (Go compares the struct, location included).
fn go_deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| go_deep_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| go_deep_equal(v, w)))
        }
        (Value::Time(x), Value::Time(y)) => x == y && x.offset() == y.offset(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::super::strings::test_support::{bytes, i, list, s};
    use super::*;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        super::super::strings::test_support::call(register, name, args)
    }

    fn text(name: &str, v: Value) -> String {
        String::from_utf8(bytes(call(name, vec![v]))).unwrap()
    }

    fn truth(name: &str, args: Vec<Value>) -> bool {
        match call(name, args) {
            Ok(Value::Bool(b)) => b,
            other => panic!("{other:?}"),
        }
    }

    // Masterminds/sprig reflect_test.go: TestKindOf (the []string case),
    // TestTypeIs and TestKindIs (their string cases), TestTypeIsLike (the
    // string case). The struct and pointer fixtures have no value here.
    #[test]
    fn sprig_cases() {
        assert_eq!(text("kindOf", list(vec![s("hello")])), "slice");
        assert!(!truth("typeIs", vec![s("*sprig.fixtureTO"), s("hello")]));
        assert!(truth("typeIsLike", vec![s("string"), s("foo")]));
        assert!(!truth("kindIs", vec![s("ptr"), s("hello")]));
    }

    // Go's %T and reflect.Kind names of each kind of value.
    #[test]
    fn names() {
        let time = Value::Time(time::OffsetDateTime::UNIX_EPOCH);
        for (v, type_name, kind) in [
            (Value::Nil, "<nil>", "invalid"),
            (Value::Bool(true), "bool", "bool"),
            (i(1), "int", "int"),
            (Value::Float(1.5), "float64", "float64"),
            (s("x"), "string", "string"),
            (list(vec![]), "[]interface {}", "slice"),
            (
                Value::map(Default::default()),
                "map[string]interface {}",
                "map",
            ),
            (time, "time.Time", "struct"),
        ] {
            assert_eq!(text("typeOf", v.clone()), type_name);
            assert_eq!(text("kindOf", v.clone()), kind);
            assert!(truth("typeIs", vec![s(type_name), v.clone()]));
            assert!(truth("kindIs", vec![s(kind), v.clone()]));
            assert!(truth("typeIsLike", vec![s(type_name), v]));
        }
        assert!(!truth("typeIsLike", vec![s("*string"), s("x")]));
    }

    // reflect.DeepEqual: same type, same contents.
    #[test]
    fn deep_equal() {
        let nested = |n| list(vec![s("a"), list(vec![i(n)])]);
        assert!(truth("deepEqual", vec![nested(1), nested(1)]));
        assert!(!truth("deepEqual", vec![nested(1), nested(2)]));
        assert!(!truth("deepEqual", vec![i(1), Value::Float(1.0)]));
        assert!(!truth("deepEqual", vec![s("1"), i(1)]));
        assert!(truth("deepEqual", vec![Value::Nil, Value::Nil]));
        assert!(!truth("deepEqual", vec![Value::Nil, s("")]));
        assert!(!truth(
            "deepEqual",
            vec![Value::Float(f64::NAN), Value::Float(f64::NAN)]
        ));
        let map = |v| {
            let mut m = std::collections::BTreeMap::new();
            m.insert("k".to_string(), v);
            Value::map(m)
        };
        assert!(truth("deepEqual", vec![map(i(1)), map(i(1))]));
        assert!(!truth("deepEqual", vec![map(i(1)), map(s("1"))]));
    }
}
