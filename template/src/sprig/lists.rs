//! Sprig's list functions.
//!
//! Source: ESO's vendored Sprig (`runtime/template/v2/sprig/list.go`, and
//! `genericMap` in `functions.go` for the names). Each takes its list as
//! `interface{}` and checks its kind by reflection: the `must` forms
//! return "Cannot push on type string" and the like as their error, the
//! plain forms panic with the same error, which Go's template turns into
//! the same text; both are the same body here. A nil list makes Go's
//! `reflect.TypeOf(nil).Kind()` dereference nil: that panic's text is
//! returned too.
//!
//! Differences from Go that the value model brings: a nil slice (what
//! `rest` and `initial` of an empty list return) is an empty list here,
//! so `toJson` gives `[]` where Go gives `null`; `slice` bounds-checks
//! against the length, where Go's reflection allows up to the capacity
//! (which `append` may have grown); and Go's distinct integer types are
//! one, so `has 1 (list (add 0 1))` is true here, false in Go (`int` is
//! not `int64` to `reflect.DeepEqual`).

use std::sync::Arc;

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

use super::defaults::empty;
use super::numeric::{first_and_rest, fixed, int_arg, to_int};

pub(super) fn register(r: &mut Registry) {
    r.add("list", &[], Some(Param::Any), list);
    r.add("tuple", &[], Some(Param::Any), list);
    r.add("append", &[Param::Any, Param::Any], None, push);
    r.add("push", &[Param::Any, Param::Any], None, push);
    r.add("mustAppend", &[Param::Any, Param::Any], None, push);
    r.add("mustPush", &[Param::Any, Param::Any], None, push);
    r.add("prepend", &[Param::Any, Param::Any], None, prepend);
    r.add("mustPrepend", &[Param::Any, Param::Any], None, prepend);
    r.add("first", &[Param::Any], None, first);
    r.add("mustFirst", &[Param::Any], None, first);
    r.add("rest", &[Param::Any], None, rest);
    r.add("mustRest", &[Param::Any], None, rest);
    r.add("last", &[Param::Any], None, last);
    r.add("mustLast", &[Param::Any], None, last);
    r.add("initial", &[Param::Any], None, initial);
    r.add("mustInitial", &[Param::Any], None, initial);
    r.add("reverse", &[Param::Any], None, reverse);
    r.add("mustReverse", &[Param::Any], None, reverse);
    r.add("uniq", &[Param::Any], None, uniq);
    r.add("mustUniq", &[Param::Any], None, uniq);
    r.add("without", &[Param::Any], Some(Param::Any), without);
    r.add("mustWithout", &[Param::Any], Some(Param::Any), without);
    r.add("has", &[Param::Any, Param::Any], None, has);
    r.add("mustHas", &[Param::Any, Param::Any], None, has);
    r.add("slice", &[Param::Any], Some(Param::Any), slice);
    r.add("mustSlice", &[Param::Any], Some(Param::Any), slice);
    r.add("concat", &[], Some(Param::Any), concat);
    r.add("chunk", &[Param::Int, Param::Any], None, chunk);
    r.add("mustChunk", &[Param::Int, Param::Any], None, chunk);
    r.add("compact", &[Param::Any], None, compact);
    r.add("mustCompact", &[Param::Any], None, compact);
}

/// Go's panic for `reflect.TypeOf(nil).Kind()`.
fn nil_dereference() -> FuncError {
    FuncError::new("runtime error: invalid memory address or nil pointer dereference")
}

/// The items of a list argument, or Sprig's error: `prefix` then the
/// argument's kind (`"Cannot push on type "` + `"string"`).
fn items<'a>(v: &'a Value, prefix: &str) -> Result<&'a Arc<Vec<Value>>, FuncError> {
    match v {
        Value::List(l) => Ok(l),
        Value::Nil => Err(nil_dereference()),
        other => Err(FuncError::new(format!("{prefix}{}", other.kind_name()))),
    }
}

/// Go's `reflect.DeepEqual` on two values: same type, then equal content
/// (floats by `==`, so NaN is unequal to itself, except inside the very
/// same list or map, which DeepEqual takes as equal without looking).
/// Iterative, so any nesting depth is compared without recursion.
pub(super) fn deep_equal(a: &Value, b: &Value) -> bool {
    let mut pending = vec![(a, b)];
    while let Some((a, b)) = pending.pop() {
        let same = match (a, b) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::Time(x), Value::Time(y)) => x == y && x.offset() == y.offset(),
            (Value::List(x), Value::List(y)) => {
                if Arc::ptr_eq(x, y) {
                    true
                } else if x.len() != y.len() {
                    false
                } else {
                    pending.extend(x.iter().zip(y.iter()));
                    true
                }
            }
            (Value::Map(x), Value::Map(y)) => {
                if Arc::ptr_eq(x, y) {
                    true
                } else if x.len() != y.len() {
                    false
                } else {
                    let mut all_keys = true;
                    for (k, xv) in x.iter() {
                        match y.get(k) {
                            Some(yv) => pending.push((xv, yv)),
                            None => {
                                all_keys = false;
                                break;
                            }
                        }
                    }
                    all_keys
                }
            }
            _ => false,
        };
        if !same {
            return false;
        }
    }
    true
}

fn in_list(haystack: &[Value], needle: &Value) -> bool {
    haystack.iter().any(|h| deep_equal(needle, h))
}

/// `list(v ...interface{}) []interface{}` (also `tuple`).
fn list(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    Ok(Value::list(args))
}

/// `push(list, v)` (also `append`, `mustPush`, `mustAppend`): a new list
/// with `v` at the end.
fn push(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l, v] = fixed(args)?;
    let l = items(&l, "Cannot push on type ")?;
    let mut out = Vec::with_capacity(l.len() + 1);
    out.extend(l.iter().cloned());
    out.push(v);
    Ok(Value::list(out))
}

/// `prepend(list, v)`: a new list with `v` first.
fn prepend(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l, v] = fixed(args)?;
    let l = items(&l, "Cannot prepend on type ")?;
    let mut out = Vec::with_capacity(l.len() + 1);
    out.push(v);
    out.extend(l.iter().cloned());
    Ok(Value::list(out))
}

/// `first(list)`: the first item, nil for an empty list.
fn first(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find first on type ")?;
    Ok(l.first().cloned().unwrap_or_default())
}

/// `last(list)`: the last item, nil for an empty list.
fn last(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find last on type ")?;
    Ok(l.last().cloned().unwrap_or_default())
}

/// `rest(list)`: all but the first item.
fn rest(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find rest on type ")?;
    Ok(Value::list(l.iter().skip(1).cloned().collect()))
}

/// `initial(list)`: all but the last item.
fn initial(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find initial on type ")?;
    let keep = l.len().saturating_sub(1);
    Ok(Value::list(l.iter().take(keep).cloned().collect()))
}

/// `reverse(list)`.
fn reverse(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find reverse on type ")?;
    Ok(Value::list(l.iter().rev().cloned().collect()))
}

/// `uniq(list)`: the first of each run of `reflect.DeepEqual` items, in
/// order.
fn uniq(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot find uniq on type ")?;
    let mut dest: Vec<Value> = Vec::new();
    for item in l.iter() {
        if !in_list(&dest, item) {
            dest.push(item.clone());
        }
    }
    Ok(Value::list(dest))
}

/// `without(list, omit ...interface{})`: the items equal to none of
/// `omit`.
fn without(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (l, omit) = first_and_rest(args)?;
    let l = items(&l, "Cannot find without on type ")?;
    Ok(Value::list(
        l.iter()
            .filter(|item| !in_list(&omit, item))
            .cloned()
            .collect(),
    ))
}

/// `has(needle, haystack)`: whether an item equals `needle`; a nil
/// haystack has nothing.
fn has(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [needle, haystack] = fixed(args)?;
    if let Value::Nil = haystack {
        return Ok(Value::Bool(false));
    }
    let l = items(&haystack, "Cannot find has on type ")?;
    Ok(Value::Bool(in_list(l, &needle)))
}

/// `slice(list, indices ...interface{})`: `list[start:end]`, the indices
/// converted by `toInt`; nil for an empty list whatever the indices.
/// Sprig's replaces Go's built-in `slice` in the function map.
fn slice(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (l, indices) = first_and_rest(args)?;
    let l = items(&l, "list should be type of slice or array but ")?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let len = l.len();
    let start = indices.first().map_or(0, to_int);
    let end = match indices.get(1) {
        Some(e) => to_int(e),
        None => len as i64,
    };
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(end).ok())
        .filter(|(s, e)| s <= e && *e <= len);
    match range.and_then(|(s, e)| l.get(s..e)) {
        Some(part) => Ok(Value::list(part.to_vec())),
        None => Err(FuncError::new(
            "reflect.Value.Slice: slice index out of range",
        )),
    }
}

/// `concat(lists ...interface{})`: the lists' items, in order.
fn concat(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for l in args {
        match l {
            Value::List(items) => out.extend(items.iter().cloned()),
            Value::Nil => return Err(nil_dereference()),
            other => {
                return Err(FuncError::new(format!(
                    "Cannot concat type {} as list",
                    other.kind_name()
                )));
            }
        }
    }
    Ok(Value::list(out))
}

/// Go's panic for `make([]T, n)` with a negative or huge `n`.
fn makeslice_panic() -> FuncError {
    FuncError::new("runtime error: makeslice: len out of range")
}

/// `chunk(size int, list)`: the list cut into lists of `size` items, the
/// last one shorter. Sizes below 1 follow Go's float arithmetic
/// (`floor((len-1)/size)+1` chunks, converted as amd64 does): mostly a
/// `makeslice` panic, sometimes an empty result.
fn chunk(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [size, l] = fixed(args)?;
    let size = int_arg(&size)?;
    let l = items(&l, "Cannot chunk type ")?;
    let len = l.len() as f64;
    let count_f = ((len - 1.0) / size as f64).floor() + 1.0;
    let count = super::numeric::go_f64_to_i64(count_f);
    let count = usize::try_from(count).map_err(|_| makeslice_panic())?;
    if count > l.len().max(1) {
        return Err(makeslice_panic());
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut clen = size;
        if i + 1 == count {
            clen = super::numeric::go_f64_to_i64((len % size as f64).floor());
            if clen == 0 {
                clen = size;
            }
        }
        let clen = usize::try_from(clen).map_err(|_| makeslice_panic())?;
        let from = (i as i64).wrapping_mul(size);
        let part = usize::try_from(from)
            .ok()
            .and_then(|from| l.get(from..from.checked_add(clen)?))
            .ok_or_else(|| FuncError::new("reflect: slice index out of range"))?;
        out.push(Value::list(part.to_vec()));
    }
    Ok(Value::list(out))
}

/// `compact(list)`: the items that are not `empty`.
fn compact(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [l] = fixed(args)?;
    let l = items(&l, "Cannot compact on type ")?;
    Ok(Value::list(
        l.iter().filter(|v| !empty(v)).cloned().collect(),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::func::Registry;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        let mut zeros = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut zeros,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    /// What `{{ ... }}` prints for the value (nil: `<no value>`).
    fn out(v: &Value) -> String {
        match v {
            Value::Nil => "<no value>".into(),
            v => String::from_utf8(v.to_go_string()).unwrap(),
        }
    }

    fn ok(name: &str, args: Vec<Value>) -> Value {
        call(name, args).unwrap()
    }

    fn i(x: i64) -> Value {
        Value::Int(x)
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn ints(xs: &[i64]) -> Value {
        Value::list(xs.iter().copied().map(Value::Int).collect())
    }

    /// What `regexSplit sep text -1` passes (`[]string`).
    fn strs(xs: &[&str]) -> Value {
        Value::list(xs.iter().copied().map(Value::str).collect())
    }

    fn len(v: &Value) -> usize {
        match v {
            Value::List(l) => l.len(),
            _ => panic!("not a list"),
        }
    }

    /// `join "-"` of a list.
    fn join(v: &Value) -> String {
        match v {
            Value::List(l) => l.iter().map(out).collect::<Vec<_>>().join("-"),
            _ => panic!("not a list"),
        }
    }

    #[test]
    fn tuple_and_list() {
        // sprig list_test.go TestTuple, TestList:
        // `{{$t := tuple 1 "a" "foo"}}{{index $t 2}}{{index $t 0 }}{{index $t 1}}`
        for name in ["tuple", "list"] {
            let Value::List(t) = ok(name, vec![i(1), s("a"), s("foo")]) else {
                panic!()
            };
            let text: String = [2, 0, 1].iter().map(|&k| out(&t[k])).collect();
            assert_eq!(text, "foo1a");
        }
    }

    #[test]
    fn push_and_append() {
        // sprig list_test.go TestPush, TestMustPush
        for name in ["append", "push", "mustAppend", "mustPush"] {
            assert_eq!(len(&ok(name, vec![ints(&[1, 2, 3]), i(4)])), 4);
            assert_eq!(
                join(&ok(name, vec![ints(&[1, 2, 3, 4]), i(5)])),
                "1-2-3-4-5"
            );
            assert_eq!(
                join(&ok(name, vec![strs(&["foo", "bar", "baz"]), s("qux")])),
                "foo-bar-baz-qux"
            );
            assert_eq!(
                call(name, vec![s("x"), i(1)]).unwrap_err().0,
                "Cannot push on type string"
            );
            assert_eq!(
                call(name, vec![Value::Nil, i(1)]).unwrap_err().0,
                "runtime error: invalid memory address or nil pointer dereference"
            );
        }
    }

    #[test]
    fn chunk() {
        // sprig list_test.go TestChunk, TestMustChunk
        for name in ["chunk", "mustChunk"] {
            assert_eq!(len(&ok(name, vec![i(3), ints(&[1, 2, 3, 4, 5, 6, 7])])), 3);
            assert_eq!(len(&ok(name, vec![i(3), ints(&[])])), 0);
            for (input, want) in [
                (&[1, 2, 3, 4, 5, 6, 7, 8, 9][..], "1-2-3|4-5-6|7-8-9|"),
                (&[1, 2, 3, 4, 5, 6, 7, 8][..], "1-2-3|4-5-6|7-8|"),
                (&[1, 2][..], "1-2|"),
            ] {
                let Value::List(chunks) = ok(name, vec![i(3), ints(input)]) else {
                    panic!()
                };
                let text: String = chunks.iter().map(|c| format!("{}|", join(c))).collect();
                assert_eq!(text, want);
            }
            assert_eq!(
                call(name, vec![i(3), s("x")]).unwrap_err().0,
                "Cannot chunk type string"
            );
        }
        // Go's float arithmetic for sizes below 1.
        for (size, input) in [
            (0, &[1, 2][..]),
            (0, &[1][..]),
            (-1, &[1, 2, 3][..]),
            (-3, &[][..]),
        ] {
            assert_eq!(
                call("chunk", vec![i(size), ints(input)]).unwrap_err().0,
                "runtime error: makeslice: len out of range",
                "chunk {size} {input:?}"
            );
        }
        assert_eq!(out(&ok("chunk", vec![i(-5), ints(&[1, 2])])), "[]");
        assert_eq!(out(&ok("chunk", vec![i(-5), ints(&[1])])), "[[1]]");
    }

    #[test]
    fn prepend() {
        // sprig list_test.go TestPrepend, TestMustPrepend
        for name in ["prepend", "mustPrepend"] {
            assert_eq!(len(&ok(name, vec![ints(&[1, 2, 3]), i(0)])), 4);
            assert_eq!(
                join(&ok(name, vec![ints(&[1, 2, 3, 4]), i(0)])),
                "0-1-2-3-4"
            );
            assert_eq!(
                join(&ok(name, vec![strs(&["foo", "bar", "baz"]), s("qux")])),
                "qux-foo-bar-baz"
            );
            assert_eq!(
                call(name, vec![i(1), i(0)]).unwrap_err().0,
                "Cannot prepend on type int"
            );
        }
    }

    #[test]
    fn first_and_last() {
        // sprig list_test.go TestFirst, TestMustFirst, TestLast, TestMustLast
        for name in ["first", "mustFirst"] {
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3])])), "1");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "<no value>");
            assert_eq!(out(&ok(name, vec![strs(&["foo", "bar"])])), "foo");
            assert_eq!(
                call(name, vec![Value::map(Default::default())])
                    .unwrap_err()
                    .0,
                "Cannot find first on type map"
            );
        }
        for name in ["last", "mustLast"] {
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3])])), "3");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "<no value>");
            assert_eq!(out(&ok(name, vec![strs(&["foo", "bar"])])), "bar");
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find last on type string"
            );
        }
    }

    #[test]
    fn initial() {
        // sprig list_test.go TestInitial, TestMustInitial
        for name in ["initial", "mustInitial"] {
            let got = ok(name, vec![ints(&[1, 2, 3])]);
            assert_eq!(len(&got), 2);
            assert_eq!(out(&ok("last", vec![got.clone()])), "2");
            assert_eq!(out(&ok("first", vec![got])), "1");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "[]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "bar", "baz"])])),
                "[foo bar]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find initial on type string"
            );
        }
    }

    #[test]
    fn rest() {
        // sprig list_test.go TestRest, TestMustRest
        for name in ["rest", "mustRest"] {
            let got = ok(name, vec![ints(&[1, 2, 3])]);
            assert_eq!(len(&got), 2);
            assert_eq!(out(&ok("last", vec![got.clone()])), "3");
            assert_eq!(out(&ok("first", vec![got])), "2");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "[]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "bar", "baz"])])),
                "[bar baz]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find rest on type string"
            );
        }
    }

    #[test]
    fn reverse() {
        // sprig list_test.go TestReverse, TestMustReverse
        for name in ["reverse", "mustReverse"] {
            let r = ok(name, vec![ints(&[1, 2, 3])]);
            assert_eq!(out(&ok("first", vec![r.clone()])), "3");
            let rest = ok("rest", vec![r.clone()]);
            assert_eq!(out(&ok("first", vec![rest])), "2");
            assert_eq!(out(&ok("last", vec![r])), "1");
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3, 4])])), "[4 3 2 1]");
            assert_eq!(out(&ok(name, vec![ints(&[1])])), "[1]");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "[]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "bar", "baz"])])),
                "[baz bar foo]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find reverse on type string"
            );
        }
    }

    #[test]
    fn compact() {
        // sprig list_test.go TestCompact, TestMustCompact
        for name in ["compact", "mustCompact"] {
            let l = Value::list(vec![i(1), i(0), s(""), s("hello")]);
            assert_eq!(out(&ok(name, vec![l])), "[1 hello]");
            assert_eq!(out(&ok(name, vec![strs(&["", ""])])), "[]");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "[]");
            assert_eq!(out(&ok(name, vec![strs(&["foo", "", "bar"])])), "[foo bar]");
            assert_eq!(
                call(name, vec![i(1)]).unwrap_err().0,
                "Cannot compact on type int"
            );
        }
    }

    #[test]
    fn uniq() {
        // sprig list_test.go TestUniq, TestMustUniq
        for name in ["uniq", "mustUniq"] {
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3, 4])])), "[1 2 3 4]");
            assert_eq!(
                out(&ok(name, vec![strs(&["a", "b", "c", "d"])])),
                "[a b c d]"
            );
            assert_eq!(
                out(&ok(name, vec![ints(&[1, 1, 1, 1, 2, 2, 2, 2])])),
                "[1 2]"
            );
            let mixed = Value::list(vec![s("foo"), i(1), i(1), i(1), i(1), s("foo"), s("foo")]);
            assert_eq!(out(&ok(name, vec![mixed])), "[foo 1]");
            assert_eq!(out(&ok(name, vec![ints(&[])])), "[]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "foo", "bar"])])),
                "[foo bar]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find uniq on type string"
            );
        }
    }

    #[test]
    fn without() {
        // sprig list_test.go TestWithout, TestMustWithout
        for name in ["without", "mustWithout"] {
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3, 4]), i(1)])), "[2 3 4]");
            assert_eq!(
                out(&ok(name, vec![strs(&["a", "b", "c", "d"]), s("a")])),
                "[b c d]"
            );
            assert_eq!(out(&ok(name, vec![ints(&[1, 1, 1, 1, 2]), i(1)])), "[2]");
            assert_eq!(out(&ok(name, vec![ints(&[]), i(1)])), "[]");
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3])])), "[1 2 3]");
            // `{{ without list }}`: `list` called with no arguments.
            assert_eq!(out(&ok(name, vec![ok("list", vec![])])), "[]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "bar", "baz"]), s("foo")])),
                "[bar baz]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "Cannot find without on type string"
            );
        }
    }

    #[test]
    fn has() {
        // sprig list_test.go TestHas, TestMustHas (`list 1 2 3 | has 1`)
        for name in ["has", "mustHas"] {
            assert_eq!(out(&ok(name, vec![i(1), ints(&[1, 2, 3])])), "true");
            assert_eq!(out(&ok(name, vec![i(4), ints(&[1, 2, 3])])), "false");
            assert_eq!(
                out(&ok(name, vec![s("bar"), strs(&["foo", "bar", "baz"])])),
                "true"
            );
            assert_eq!(out(&ok(name, vec![s("bar"), Value::Nil])), "false");
            assert_eq!(
                call(name, vec![i(1), s("x")]).unwrap_err().0,
                "Cannot find has on type string"
            );
        }
        // reflect.DeepEqual: an int is not a float64.
        assert_eq!(
            out(&ok("has", vec![i(1), Value::list(vec![Value::Float(1.0)])])),
            "false"
        );
    }

    #[test]
    fn slice() {
        // sprig list_test.go TestSlice, TestMustSlice
        for name in ["slice", "mustSlice"] {
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3])])), "[1 2 3]");
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3]), i(0), i(1)])), "[1]");
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3]), i(1), i(3)])), "[2 3]");
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3]), i(1)])), "[2 3]");
            assert_eq!(
                out(&ok(name, vec![strs(&["foo", "bar", "baz"]), i(1), i(2)])),
                "[bar]"
            );
            assert_eq!(
                call(name, vec![s("x")]).unwrap_err().0,
                "list should be type of slice or array but string"
            );
            assert_eq!(
                call(name, vec![ints(&[1, 2, 3]), i(2), i(1)])
                    .unwrap_err()
                    .0,
                "reflect.Value.Slice: slice index out of range"
            );
            assert_eq!(
                call(name, vec![ints(&[1, 2, 3]), i(0), i(4)])
                    .unwrap_err()
                    .0,
                "reflect.Value.Slice: slice index out of range"
            );
            // Indices by toInt: strings are parsed.
            assert_eq!(out(&ok(name, vec![ints(&[1, 2, 3]), s("1")])), "[2 3]");
            // An empty list is nil whatever the indices.
            assert_eq!(out(&ok(name, vec![ints(&[]), i(5)])), "<no value>");
        }
    }

    #[test]
    fn concat() {
        // sprig list_test.go TestConcat
        assert_eq!(out(&ok("concat", vec![ints(&[1, 2, 3])])), "[1 2 3]");
        assert_eq!(
            out(&ok("concat", vec![ints(&[1, 2, 3]), ints(&[4, 5])])),
            "[1 2 3 4 5]"
        );
        assert_eq!(
            out(&ok(
                "concat",
                vec![ints(&[1, 2, 3]), ints(&[4, 5]), ints(&[])]
            )),
            "[1 2 3 4 5]"
        );
        assert_eq!(
            out(&ok(
                "concat",
                vec![
                    ints(&[1, 2, 3]),
                    ints(&[4, 5]),
                    Value::list(vec![Value::Nil])
                ]
            )),
            "[1 2 3 4 5 <nil>]"
        );
        assert_eq!(
            out(&ok(
                "concat",
                vec![
                    ints(&[1, 2, 3]),
                    ints(&[4, 5]),
                    Value::list(vec![strs(&["foo"])])
                ]
            )),
            "[1 2 3 4 5 [foo]]"
        );
        assert_eq!(
            call("concat", vec![ints(&[1]), s("x")]).unwrap_err().0,
            "Cannot concat type string as list"
        );
        assert_eq!(
            call("concat", vec![Value::Nil]).unwrap_err().0,
            "runtime error: invalid memory address or nil pointer dereference"
        );
    }

    #[test]
    fn deep_equal_is_gos() {
        let nan = Value::list(vec![Value::Float(f64::NAN)]);
        assert!(!deep_equal(
            &Value::list(vec![Value::Float(f64::NAN)]),
            &Value::list(vec![Value::Float(f64::NAN)])
        ));
        // The same slice is equal to itself without looking at NaN.
        assert!(deep_equal(&nan, &nan.clone()));
        let mut m = std::collections::BTreeMap::new();
        m.insert("a".to_string(), ints(&[1]));
        let mut n = m.clone();
        assert!(deep_equal(&Value::map(m.clone()), &Value::map(n.clone())));
        n.insert("a".to_string(), ints(&[2]));
        assert!(!deep_equal(&Value::map(m), &Value::map(n)));
        // Deep nesting is compared without recursion.
        let mut a = Value::Nil;
        let mut b = Value::Nil;
        for _ in 0..100_000 {
            a = Value::list(vec![a]);
            b = Value::list(vec![b]);
        }
        assert!(deep_equal(&a, &b));
        // Unnest before dropping (Value's drop recurses).
        for v in [a, b] {
            let mut v = v;
            while let Value::List(l) = v {
                v = Arc::try_unwrap(l)
                    .ok()
                    .and_then(|mut l| l.pop())
                    .unwrap_or_default();
            }
        }
    }
}
