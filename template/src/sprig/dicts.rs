//! Sprig's dictionary functions.
//!
//! Source: ESO's vendored Sprig (`runtime/template/v2/sprig/dict.go`);
//! `merge` and `mergeOverwrite` follow dario.cat/mergo v1.0.2's
//! `deepMerge` for maps (`merge.go`), `deepCopy` mitchellh/copystructure
//! v1.2.0.
//!
//! Go's maps are mutable and shared; ours are immutable. `set`, `unset`,
//! `merge` and `mergeOverwrite` return the changed map, as Sprig's do,
//! but leave the map they were given as it was: the difference shows
//! only through a variable still holding the old map, e.g. after
//! `{{ $_ := set $d "k" 1 }}` Go's `$d` has `k` and ours has not (write
//! `{{ $d = set $d "k" 1 }}`). Map keys are text: a key that is not
//! UTF-8 (possible in Go) is stored with U+FFFD for its bad bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

use super::defaults::empty;
use super::numeric::{first_and_rest, fixed, wrong_type};

pub(super) fn register(r: &mut Registry) {
    r.add("dict", &[], Some(Param::Any), dict);
    r.add("get", &[Param::Map, Param::Str], None, get);
    r.add("set", &[Param::Map, Param::Str, Param::Any], None, set);
    r.add("unset", &[Param::Map, Param::Str], None, unset);
    r.add("hasKey", &[Param::Map, Param::Str], None, has_key);
    r.add("pluck", &[Param::Str], Some(Param::Map), pluck);
    r.add("keys", &[], Some(Param::Map), keys);
    r.add("pick", &[Param::Map], Some(Param::Str), pick);
    r.add("omit", &[Param::Map], Some(Param::Str), omit);
    r.add("merge", &[Param::Map], Some(Param::Map), merge);
    r.add("mustMerge", &[Param::Map], Some(Param::Map), merge);
    r.add(
        "mergeOverwrite",
        &[Param::Map],
        Some(Param::Map),
        merge_overwrite,
    );
    r.add(
        "mustMergeOverwrite",
        &[Param::Map],
        Some(Param::Map),
        merge_overwrite,
    );
    r.add("values", &[Param::Map], None, values);
    r.add("dig", &[], Some(Param::Any), dig);
    r.add("deepCopy", &[Param::Any], None, deep_copy);
    r.add("mustDeepCopy", &[Param::Any], None, deep_copy);
}

type Map = BTreeMap<String, Value>;

fn map_arg(v: &Value) -> Result<&Arc<Map>, FuncError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

/// A `string` argument used to look a key up: `None` when it is not
/// UTF-8, which no key of ours is.
fn key_arg(v: &Value) -> Result<Option<&str>, FuncError> {
    match v {
        Value::Str(s) => Ok(s.as_str()),
        other => Err(wrong_type("string", other)),
    }
}

/// A `string` argument used to store a key.
fn new_key(v: &Value) -> Result<String, FuncError> {
    match v {
        Value::Str(s) => Ok(s.to_str_lossy().into_owned()),
        other => Err(wrong_type("string", other)),
    }
}

/// `dict(v ...interface{})`: pairs of key (converted by `strval`, i.e.
/// `%v`) and value; an odd last key maps to `""`.
fn dict(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut out = Map::new();
    let mut it = args.into_iter();
    while let Some(k) = it.next() {
        let key = String::from_utf8_lossy(&k.to_go_string()).into_owned();
        out.insert(key, it.next().unwrap_or_else(|| Value::str("")));
    }
    Ok(Value::map(out))
}

/// `get(d, key)`: the value, or `""` when the key is absent.
fn get(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [d, key] = fixed(args)?;
    let d = map_arg(&d)?;
    Ok(key_arg(&key)?
        .and_then(|k| d.get(k))
        .cloned()
        .unwrap_or_else(|| Value::str("")))
}

/// `set(d, key, value)`: the map with `key` set (a new map; see the
/// module's note).
fn set(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [d, key, value] = fixed(args)?;
    let mut m = (**map_arg(&d)?).clone();
    m.insert(new_key(&key)?, value);
    Ok(Value::map(m))
}

/// `unset(d, key)`: the map without `key` (a new map).
fn unset(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [d, key] = fixed(args)?;
    let d = map_arg(&d)?;
    match key_arg(&key)? {
        Some(k) if d.contains_key(k) => {
            let mut m = (**d).clone();
            m.remove(k);
            Ok(Value::map(m))
        }
        _ => Ok(Value::Map(Arc::clone(d))),
    }
}

fn has_key(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [d, key] = fixed(args)?;
    let d = map_arg(&d)?;
    Ok(Value::Bool(
        key_arg(&key)?.is_some_and(|k| d.contains_key(k)),
    ))
}

/// `pluck(key, d ...map)`: `key`'s value from each map that has it.
fn pluck(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (key, dicts) = first_and_rest(args)?;
    let key = key_arg(&key)?;
    let mut out = Vec::new();
    for d in &dicts {
        let m = map_arg(d)?;
        if let Some(v) = key.and_then(|k| m.get(k)) {
            out.push(v.clone());
        }
    }
    Ok(Value::list(out))
}

/// `keys(dicts ...map) []string`: every map's keys, map after map (each
/// map's sorted: Go's order is random, sorted is one of its orders).
fn keys(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut out = Vec::new();
    for d in args {
        out.extend(map_arg(&d)?.keys().map(|k| Value::str(k.as_str())));
    }
    Ok(Value::list(out))
}

/// `pick(dict, keys ...string)`: a map of the listed keys it has.
fn pick(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (d, wanted) = first_and_rest(args)?;
    let d = map_arg(&d)?;
    let mut out = Map::new();
    for k in &wanted {
        if let Some((key, v)) = key_arg(k)?.and_then(|k| d.get_key_value(k)) {
            out.insert(key.clone(), v.clone());
        }
    }
    Ok(Value::map(out))
}

/// `omit(dict, keys ...string)`: a map without the listed keys.
fn omit(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let (d, unwanted) = first_and_rest(args)?;
    let d = map_arg(&d)?;
    let mut out = (**d).clone();
    for k in &unwanted {
        if let Some(k) = key_arg(k)? {
            out.remove(k);
        }
    }
    Ok(Value::map(out))
}

/// `values(dict)`: the values, in key order (Go's order is random).
fn values(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [d] = fixed(args)?;
    Ok(Value::list(map_arg(&d)?.values().cloned().collect()))
}

/// mergo's `deepMerge` of `src` into the map `dst`:
///
/// - a nil in `src` is copied only when overwriting;
/// - two maps under one key are merged, recursively, by the same rules;
/// - otherwise `src`'s value is taken when overwriting, when `dst` lacks
///   the key, or when `dst`'s value is empty (mergo's `isEmptyValue`:
///   Sprig's `empty`) — lists are not merged, and when overwriting even
///   an empty `src` value replaces `dst`'s.
fn merge_into(dst: &mut Map, src: &Map, overwrite: bool) {
    for (key, s) in src {
        if let Value::Nil = s {
            if overwrite {
                dst.insert(key.clone(), Value::Nil);
            }
            continue;
        }
        if let (Some(Value::Map(dm)), Value::Map(sm)) = (dst.get(key), s) {
            let mut merged = (**dm).clone();
            merge_into(&mut merged, sm, overwrite);
            dst.insert(key.clone(), Value::map(merged));
            continue;
        }
        let take = match dst.get(key) {
            None => true,
            Some(d) => overwrite || empty(d),
        };
        if take {
            dst.insert(key.clone(), s.clone());
        }
    }
}

fn merge_all(args: Vec<Value>, overwrite: bool) -> Result<Value, FuncError> {
    let (dst, srcs) = first_and_rest(args)?;
    let mut out = (**map_arg(&dst)?).clone();
    for src in &srcs {
        merge_into(&mut out, map_arg(src)?, overwrite);
    }
    Ok(Value::map(out))
}

/// `merge(dst, srcs ...map)` (also `mustMerge`, whose error mergo never
/// gives for two maps): `dst` filled from each `src` in turn, `dst`'s
/// non-empty values kept.
fn merge(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    merge_all(args, false)
}

/// `mergeOverwrite(dst, srcs ...map)`: as `merge`, `src`'s values
/// winning.
fn merge_overwrite(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    merge_all(args, true)
}

/// Go's text for a failed type assertion `x.(T)` on an `interface{}`.
fn conversion_panic(got: &Value, want: &str) -> FuncError {
    let got = match got {
        Value::Nil => "nil",
        other => other.type_name(),
    };
    FuncError::new(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

/// `dig(ps ...interface{})`: `dig "a" "b" default dict` walks the keys
/// into nested maps; the default when a key is missing. Go's panics
/// (fewer than three arguments, a non-map, a non-string key) are
/// returned as their texts.
fn dig(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let mut keys = args;
    let (Some(dict), Some(default)) = (keys.pop(), keys.pop()) else {
        return Err(FuncError::new("dig needs at least three arguments"));
    };
    if keys.is_empty() {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let Value::Map(mut current) = dict else {
        return Err(conversion_panic(&dict, "map[string]interface {}"));
    };
    let keys = keys
        .iter()
        .map(|k| match k {
            Value::Str(s) => Ok(s.clone()),
            other => Err(conversion_panic(other, "string")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut it = keys.iter().peekable();
    while let Some(k) = it.next() {
        let step = k.as_str().and_then(|k| current.get(k)).cloned();
        let Some(step) = step else {
            return Ok(default);
        };
        if it.peek().is_none() {
            return Ok(step);
        }
        match step {
            Value::Map(m) => current = m,
            other => return Err(conversion_panic(&other, "map[string]interface {}")),
        }
    }
    Ok(default)
}

/// `deepCopy(i interface{})` (and `mustDeepCopy`): values are immutable,
/// so the copy is the value. Copying nil panics in copystructure
/// (`reflect.ValueOf(nil).Type()`), in both forms.
fn deep_copy(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let [v] = fixed(args)?;
    if let Value::Nil = v {
        return Err(FuncError::new(
            "reflect: call of reflect.Value.Type on zero Value",
        ));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::func::Registry;

    fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        super::super::lists::register(&mut r);
        let mut zeros = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut zeros,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    fn ok(name: &str, args: Vec<Value>) -> Value {
        call(name, args).unwrap()
    }

    /// What `{{ ... }}` prints for the value (nil: `<no value>`).
    fn out(v: &Value) -> String {
        match v {
            Value::Nil => "<no value>".into(),
            v => String::from_utf8(v.to_go_string()).unwrap(),
        }
    }

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    fn i(x: i64) -> Value {
        Value::Int(x)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        )
    }

    fn ints(xs: &[i64]) -> Value {
        Value::list(xs.iter().copied().map(Value::Int).collect())
    }

    /// `sortAlpha` then `join ","` (Sprig's tests sort unordered output).
    fn sorted_join(v: &Value) -> String {
        let Value::List(l) = v else { panic!() };
        let mut items: Vec<String> = l.iter().map(out).collect();
        items.sort();
        items.join(",")
    }

    /// `{{range $k, $v := $d}}{{$k}}{{$v}}{{end}}`
    fn range_kv(v: &Value) -> String {
        let Value::Map(m) = v else { panic!() };
        m.iter().map(|(k, v)| format!("{k}{}", out(v))).collect()
    }

    #[test]
    fn dict() {
        // sprig dict_test.go TestDict
        let d = ok("dict", vec![i(1), i(2), s("three"), s("four"), i(5)]);
        let text = range_kv(&d);
        assert_eq!(text.len(), 12);
        assert!(text.contains("12"));
        assert!(text.contains("threefour"));
        assert!(text.contains('5'));
        // `{{$t := dict "I" "shot" "the" "albatross"}}{{$t.the}} {{$t.I}}`
        let Value::Map(t) = ok("dict", vec![s("I"), s("shot"), s("the"), s("albatross")]) else {
            panic!()
        };
        assert_eq!(
            format!("{} {}", out(&t["the"]), out(&t["I"])),
            "albatross shot"
        );
        // Keys by %v.
        let d = ok("dict", vec![Value::Nil, i(1), Value::Float(1.5), i(2)]);
        assert_eq!(out(&d), "map[1.5:2 <nil>:1]");
    }

    #[test]
    fn unset() {
        // sprig dict_test.go TestUnset (the returned map; see the module note)
        let d = map(&[("one", i(1)), ("two", i(222222))]);
        assert_eq!(range_kv(&ok("unset", vec![d.clone(), s("two")])), "one1");
        assert_eq!(range_kv(&ok("unset", vec![d, s("three")])), "one1two222222");
    }

    #[test]
    fn has_key() {
        // sprig dict_test.go TestHasKey
        let d = map(&[("one", i(1)), ("two", i(222222))]);
        assert_eq!(out(&ok("hasKey", vec![d.clone(), s("one")])), "true");
        assert_eq!(out(&ok("hasKey", vec![d.clone(), s("three")])), "false");
        assert_eq!(
            out(&ok("hasKey", vec![d, Value::str(&b"one\xff"[..])])),
            "false"
        );
    }

    #[test]
    fn pluck() {
        // sprig dict_test.go TestPluck
        let args = vec![
            s("two"),
            map(&[("one", i(1)), ("two", i(222222))]),
            map(&[("one", i(1)), ("two", i(33333))]),
            map(&[("one", i(1))]),
            map(&[("one", i(1)), ("two", i(4444))]),
        ];
        assert_eq!(out(&ok("pluck", args)), "[222222 33333 4444]");
    }

    #[test]
    fn keys() {
        // sprig dict_test.go TestKeys
        let d = map(&[("foo", i(1)), ("bar", i(2))]);
        assert_eq!(out(&ok("keys", vec![d])), "[bar foo]");
        assert_eq!(out(&ok("keys", vec![map(&[])])), "[]");
        let all = ok(
            "keys",
            vec![
                map(&[("foo", i(1))]),
                map(&[("bar", i(2))]),
                map(&[("bar", i(3))]),
            ],
        );
        let uniq = ok("uniq", vec![all]);
        assert_eq!(sorted_join(&uniq), "bar,foo");
    }

    #[test]
    fn pick() {
        // sprig dict_test.go TestPick
        let d = || map(&[("one", i(1)), ("two", i(222222))]);
        let len = |v: &Value| match v {
            Value::Map(m) => m.len(),
            _ => panic!(),
        };
        assert_eq!(len(&ok("pick", vec![d(), s("two")])), 1);
        assert_eq!(out(&ok("pick", vec![d(), s("two")])), "map[two:222222]");
        assert_eq!(len(&ok("pick", vec![d(), s("one"), s("two")])), 2);
        assert_eq!(
            len(&ok("pick", vec![d(), s("one"), s("two"), s("three")])),
            2
        );
        assert_eq!(len(&ok("pick", vec![map(&[]), s("two")])), 0);
    }

    #[test]
    fn omit() {
        // sprig dict_test.go TestOmit
        let d = || map(&[("one", i(1)), ("two", i(222222))]);
        let len = |v: &Value| match v {
            Value::Map(m) => m.len(),
            _ => panic!(),
        };
        assert_eq!(len(&ok("omit", vec![d(), s("one")])), 1);
        assert_eq!(out(&ok("omit", vec![d(), s("one")])), "map[two:222222]");
        assert_eq!(len(&ok("omit", vec![d(), s("one"), s("two")])), 0);
        assert_eq!(len(&ok("omit", vec![d(), s("two"), s("three")])), 1);
        assert_eq!(len(&ok("omit", vec![map(&[]), s("two")])), 0);
    }

    #[test]
    fn get() {
        // sprig dict_test.go TestGet
        assert_eq!(out(&ok("get", vec![map(&[("one", i(1))]), s("one")])), "1");
        assert_eq!(
            out(&ok(
                "get",
                vec![map(&[("one", i(1)), ("two", s("2"))]), s("two")]
            )),
            "2"
        );
        assert_eq!(out(&ok("get", vec![map(&[]), s("two")])), "");
    }

    #[test]
    fn set() {
        // sprig dict_test.go TestSet, with the returned maps carried along
        let d = map(&[("one", i(1)), ("two", i(222222))]);
        let d = ok("set", vec![d, s("two"), i(2)]);
        let d = ok("set", vec![d, s("three"), i(3)]);
        let Value::Map(m) = &d else { panic!() };
        let text: String = ["one", "two", "three"]
            .iter()
            .filter(|k| m.contains_key(**k))
            .map(|k| out(&m[*k]))
            .collect();
        assert_eq!(text, "123");
    }

    /// The data of sprig's TestMerge and TestMergeOverwrite.
    fn merge_data() -> (Value, Value, Value) {
        let src2 = map(&[("h", i(10)), ("i", s("i")), ("j", s("j"))]);
        let src1 = map(&[
            ("a", i(1)),
            ("b", i(2)),
            ("d", map(&[("e", s("four"))])),
            ("g", ints(&[6, 7])),
            ("i", s("aye")),
            ("j", s("jay")),
            ("k", map(&[("l", Value::Bool(false))])),
        ]);
        let dst = map(&[
            ("a", s("one")),
            ("c", i(3)),
            ("d", map(&[("f", i(5))])),
            ("g", ints(&[8, 9])),
            ("i", s("eye")),
            ("k", map(&[("l", Value::Bool(true))])),
        ]);
        (dst, src1, src2)
    }

    #[test]
    fn merge() {
        // sprig dict_test.go TestMerge: `{{merge .dst .src1 .src2}}`
        let (dst, src1, src2) = merge_data();
        let expected = map(&[
            ("a", s("one")),
            ("b", i(2)),
            ("c", i(3)),
            ("d", map(&[("e", s("four")), ("f", i(5))])),
            ("g", ints(&[8, 9])),
            ("h", i(10)),
            ("i", s("eye")),
            ("j", s("jay")),
            ("k", map(&[("l", Value::Bool(true))])),
        ]);
        for name in ["merge", "mustMerge"] {
            let got = ok(name, vec![dst.clone(), src1.clone(), src2.clone()]);
            assert!(
                super::super::lists::deep_equal(&got, &expected),
                "{}",
                out(&got)
            );
        }
    }

    #[test]
    fn merge_overwrite() {
        // sprig dict_test.go TestMergeOverwrite
        let (dst, src1, src2) = merge_data();
        let expected = map(&[
            ("a", i(1)),
            ("b", i(2)),
            ("c", i(3)),
            ("d", map(&[("e", s("four")), ("f", i(5))])),
            ("g", ints(&[6, 7])),
            ("h", i(10)),
            ("i", s("i")),
            ("j", s("j")),
            ("k", map(&[("l", Value::Bool(false))])),
        ]);
        for name in ["mergeOverwrite", "mustMergeOverwrite"] {
            let got = ok(name, vec![dst.clone(), src1.clone(), src2.clone()]);
            assert!(
                super::super::lists::deep_equal(&got, &expected),
                "{}",
                out(&got)
            );
        }
    }

    #[test]
    fn merge_follows_mergo_on_empty_and_nil() {
        // mergo: an empty dst value is filled; a nil src value is skipped
        // unless overwriting; overwriting takes even empty src values.
        let dst = map(&[
            ("a", s("")),
            ("b", i(0)),
            ("c", s("keep")),
            ("n", Value::Nil),
        ]);
        let src = map(&[
            ("a", s("x")),
            ("b", i(7)),
            ("c", s("")),
            ("n", i(1)),
            ("z", Value::Nil),
        ]);
        assert_eq!(
            out(&ok("merge", vec![dst.clone(), src.clone()])),
            "map[a:x b:7 c:keep n:1]"
        );
        assert_eq!(
            out(&ok("mergeOverwrite", vec![dst, src])),
            "map[a:x b:7 c: n:1 z:<nil>]"
        );
        // Sprig's docs' mergeOverwrite example: `key: true` overwritten by false.
        let dst = map(&[
            ("default", s("default")),
            ("overwrite", s("me")),
            ("key", Value::Bool(true)),
        ]);
        let src = map(&[("overwrite", s("overwritten")), ("key", Value::Bool(false))]);
        assert_eq!(
            out(&ok("mergeOverwrite", vec![dst, src])),
            "map[default:default key:false overwrite:overwritten]"
        );
    }

    #[test]
    fn values() {
        // sprig dict_test.go TestValues
        let d = map(&[("a", i(1)), ("b", i(2))]);
        assert_eq!(sorted_join(&ok("values", vec![d])), "1,2");
        let d = map(&[("a", s("first")), ("b", i(2))]);
        assert_eq!(sorted_join(&ok("values", vec![d])), "2,first");
    }

    #[test]
    fn deep_copy() {
        // sprig dict_test.go TestDeepCopy, TestMustDeepCopy
        for name in ["deepCopy", "mustDeepCopy"] {
            let d = ok(name, vec![map(&[("a", i(1)), ("b", i(2))])]);
            assert_eq!(sorted_join(&ok("values", vec![d.clone()])), "1,2");
            assert_eq!(sorted_join(&ok("keys", vec![d])), "a,b");
            let one = map(&[
                ("foo", map(&[("bar", s("baz"))])),
                ("qux", Value::Bool(true)),
            ]);
            assert_eq!(out(&ok(name, vec![one])), "map[foo:map[bar:baz] qux:true]");
            assert_eq!(
                call(name, vec![Value::Nil]).unwrap_err().0,
                "reflect: call of reflect.Value.Type on zero Value"
            );
        }
    }

    #[test]
    fn dig() {
        // sprig dict_test.go TestDig
        let d = map(&[("a", map(&[("b", map(&[("c", i(1))]))]))]);
        assert_eq!(
            out(&ok("dig", vec![s("a"), s("b"), s("c"), s(""), d.clone()])),
            "1"
        );
        assert_eq!(
            out(&ok("dig", vec![s("a"), s("b"), s("z"), s("2"), d.clone()])),
            "2"
        );
        assert_eq!(
            out(&ok("dig", vec![s("a"), s(""), map(&[("a", i(1))])])),
            "1"
        );
        assert_eq!(
            out(&ok("dig", vec![s("z"), s("2"), map(&[("a", i(1))])])),
            "2"
        );
        // Go's panics.
        assert_eq!(
            call("dig", vec![s("a"), d.clone()]).unwrap_err().0,
            "dig needs at least three arguments"
        );
        assert_eq!(
            call("dig", vec![s("a"), s(""), s("x")]).unwrap_err().0,
            "interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(
            call("dig", vec![s("a"), s(""), Value::Nil]).unwrap_err().0,
            "interface conversion: interface {} is nil, not map[string]interface {}"
        );
        assert_eq!(
            call("dig", vec![i(1), s(""), d.clone()]).unwrap_err().0,
            "interface conversion: interface {} is int, not string"
        );
        assert_eq!(
            call("dig", vec![s("a"), s("b"), s("c"), s("d"), s(""), d])
                .unwrap_err()
                .0,
            "interface conversion: interface {} is int, not map[string]interface {}"
        );
    }
}
