//! Go's `text/template` executor with `Option("missingkey=error")`, as
//! ESO runs it, bounded by [`Limits`].

use std::sync::Arc;

use super::Limits;
use super::parse::{Arg, BranchKind, Command, Node, Number, Pipe, Trees};
use crate::func::{Env, Param, Registry};
use crate::value::Value;

/// Why evaluation stopped early.
pub(crate) enum Stop {
    /// An error at a byte offset of the template text, with the operand
    /// it happened at.
    Error {
        pos: usize,
        context: String,
        message: String,
    },
    /// A limit was reached.
    Limit(String),
    Break,
    Continue,
}

type Flow<T> = Result<T, Stop>;

fn fail<T>(pos: usize, context: impl Into<String>, message: impl Into<String>) -> Flow<T> {
    Err(Stop::Error {
        pos,
        context: context.into(),
        message: message.into(),
    })
}

pub(crate) struct State<'a, 'e> {
    pub(crate) trees: &'a Trees,
    pub(crate) funcs: &'a Registry,
    pub(crate) env: &'a mut Env<'e>,
    pub(crate) limits: &'a Limits,
    pub(crate) out: Vec<u8>,
    vars: Vec<(String, Value)>,
    depth: usize,
    steps: u64,
    /// The data map: a Go `map[string]string`, whose missing entries
    /// `index` gives as `""` (other maps give nil).
    root: Option<Arc<std::collections::BTreeMap<String, Value>>>,
    /// The template (tree) being executed, for errors.
    pub(crate) current: String,
    /// `missingkey=error` (else a missing key is nil).
    pub(crate) missing_key_error: bool,
}

impl<'a, 'e> State<'a, 'e> {
    pub(crate) fn new(
        trees: &'a Trees,
        funcs: &'a Registry,
        env: &'a mut Env<'e>,
        limits: &'a Limits,
        data: &Value,
        name: &str,
    ) -> Self {
        let root = match data {
            Value::Map(m) => Some(Arc::clone(m)),
            _ => None,
        };
        State {
            trees,
            funcs,
            env,
            limits,
            out: Vec::new(),
            vars: vec![("$".into(), data.clone())],
            depth: 0,
            steps: 0,
            root,
            current: name.to_owned(),
            missing_key_error: true,
        }
    }

    fn step(&mut self) -> Flow<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(Stop::Limit(format!(
                "template stopped after {} steps (the limit for one template)",
                self.limits.max_steps
            )));
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Flow<()> {
        if self.out.len() + bytes.len() > self.limits.max_output {
            return Err(Stop::Limit(format!(
                "template output exceeds {} bytes (the limit for one template)",
                self.limits.max_output
            )));
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn walk_list(&mut self, dot: &Value, list: &[Node]) -> Flow<()> {
        for node in list {
            self.walk(dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> Flow<()> {
        self.step()?;
        match node {
            Node::Text(t) => self.write(t.as_bytes()),
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print(&v)?;
                }
                Ok(())
            }
            Node::Branch {
                kind,
                pipe,
                list,
                else_list,
            } => {
                let mark = self.vars.len();
                let result = self.branch(dot, *kind, pipe, list, else_list.as_deref());
                self.vars.truncate(mark);
                result
            }
            Node::Template { pos, name, pipe } => {
                let Some(tree) = self.trees.get(name) else {
                    return fail(
                        *pos,
                        format!("template {name:?}"),
                        format!("no such template {name:?}"),
                    );
                };
                let value = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                if self.depth >= self.limits.max_depth {
                    return Err(Stop::Limit(format!(
                        "exceeded maximum template depth ({})",
                        self.limits.max_depth
                    )));
                }
                self.depth += 1;
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".into(), value.clone())]);
                let saved_name = std::mem::replace(&mut self.current, name.clone());
                let result = self.walk_list(&value, tree);
                self.vars = saved_vars;
                self.depth -= 1;
                // Errors keep the inner template's name; success restores.
                if result.is_ok() {
                    self.current = saved_name;
                }
                result
            }
            Node::Break => Err(Stop::Break),
            Node::Continue => Err(Stop::Continue),
        }
    }

    fn branch(
        &mut self,
        dot: &Value,
        kind: BranchKind,
        pipe: &Pipe,
        list: &[Node],
        else_list: Option<&[Node]>,
    ) -> Flow<()> {
        if kind == BranchKind::Range {
            return self.range(dot, pipe, list, else_list);
        }
        let value = self.eval_pipeline(dot, pipe)?;
        if value.is_true() {
            let next_dot = if kind == BranchKind::With {
                &value
            } else {
                dot
            };
            self.walk_list(next_dot, list)
        } else if let Some(else_list) = else_list {
            self.walk_list(dot, else_list)
        } else {
            Ok(())
        }
    }

    fn range(
        &mut self,
        dot: &Value,
        pipe: &Pipe,
        list: &[Node],
        else_list: Option<&[Node]>,
    ) -> Flow<()> {
        // The pipeline's value, without its declarations: those are set
        // per element.
        let bare = Pipe {
            pos: pipe.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: pipe.cmds.clone(),
        };
        let value = self.eval_pipeline(dot, &bare)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(m) => m
                .iter()
                .map(|(k, v)| (Value::str(k.as_str()), v.clone()))
                .collect(),
            Value::Int(n) => {
                if pipe.decl.len() > 1 {
                    return fail(
                        pipe.pos,
                        "range",
                        "can't use integer as range with two variables",
                    );
                }
                if *n > 0 && (*n as u64) > self.limits.max_steps {
                    return Err(Stop::Limit(format!(
                        "template stopped after {} steps (the limit for one template)",
                        self.limits.max_steps
                    )));
                }
                (0..(*n).max(0))
                    .map(|i| (Value::Int(i), Value::Int(i)))
                    .collect()
            }
            Value::Nil => Vec::new(),
            other => {
                return fail(
                    pipe.pos,
                    "range",
                    format!(
                        "range can't iterate over a value of type {}",
                        other.type_name()
                    ),
                );
            }
        };
        if items.is_empty() {
            if let Some(else_list) = else_list {
                return self.walk_list(dot, else_list);
            }
            return Ok(());
        }
        let mark = self.vars.len();
        for (key, elem) in items {
            self.step()?;
            match pipe.decl.as_slice() {
                [] => {}
                [one] => self.set_var(one, elem.clone(), pipe.is_assign, mark),
                [k, v, ..] => {
                    self.set_var(k, key, pipe.is_assign, mark);
                    self.set_var(v, elem.clone(), pipe.is_assign, mark);
                }
            }
            let inner = self.vars.len();
            let result = self.walk_list(&elem, list);
            self.vars.truncate(inner);
            match result {
                Ok(()) | Err(Stop::Continue) => {}
                Err(Stop::Break) => break,
                Err(other) => return Err(other),
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn set_var(&mut self, name: &str, value: Value, assign: bool, floor: usize) {
        if assign {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = value;
            }
        } else if let Some(slot) = self.vars[floor..].iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = value;
        } else {
            self.vars.push((name.to_owned(), value));
        }
    }

    fn var(&self, name: &str, pos: usize) -> Flow<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => fail(pos, name, format!("undefined variable: {name}")),
        }
    }

    /// Prints a value as `text/template` does: nil as `<no value>`.
    fn print(&mut self, v: &Value) -> Flow<()> {
        match v {
            Value::Nil => self.write(b"<no value>"),
            Value::Str(s) => {
                let s = s.clone();
                self.write(s.as_bytes())
            }
            other => {
                let bytes = other.to_go_string();
                self.write(&bytes)
            }
        }
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Flow<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v);
        }
        let value = value.unwrap_or_default();
        if pipe.is_assign {
            for name in &pipe.decl {
                self.set_var(name, value.clone(), true, 0);
            }
        } else {
            for name in &pipe.decl {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, last: Option<Value>) -> Flow<Value> {
        self.step()?;
        let Some(first) = cmd.args.first() else {
            return fail(cmd.pos, "", "empty command");
        };
        let rest = &cmd.args[1..];
        match first {
            Arg::Ident { pos, name } => self.call(dot, *pos, name, rest, last),
            Arg::Field { pos, names } => {
                self.no_args(*pos, first, rest, &last)?;
                self.fields(*pos, dot.clone(), names, &describe_arg(first))
            }
            Arg::Variable { pos, name, fields } => {
                self.no_args(*pos, first, rest, &last)?;
                let v = self.var(name, *pos)?;
                self.fields(*pos, v, fields, &describe_arg(first))
            }
            Arg::Pipe { pos, pipe, fields } => {
                self.no_args(*pos, first, rest, &last)?;
                let v = self.eval_pipeline(dot, pipe)?;
                self.fields(*pos, v, fields, &describe_arg(first))
            }
            other => {
                self.no_args(other.pos(), other, rest, &last)?;
                self.eval_arg(dot, other, Param::Any)
            }
        }
    }

    fn no_args(&self, pos: usize, arg: &Arg, rest: &[Arg], last: &Option<Value>) -> Flow<()> {
        if !rest.is_empty() || last.is_some() {
            return fail(
                pos,
                describe_arg(arg),
                format!("can't give argument to non-function {}", describe_arg(arg)),
            );
        }
        Ok(())
    }

    /// `.a.b` on `receiver`.
    fn fields(
        &mut self,
        pos: usize,
        mut receiver: Value,
        names: &[String],
        context: &str,
    ) -> Flow<Value> {
        for name in names {
            receiver = match &receiver {
                Value::Map(m) => match m.get(name) {
                    Some(v) => v.clone(),
                    None if !self.missing_key_error => Value::Nil,
                    None => {
                        return fail(pos, context, format!("map has no entry for key {name:?}"));
                    }
                },
                Value::Nil => {
                    return fail(
                        pos,
                        context,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    );
                }
                other => {
                    return fail(
                        pos,
                        context,
                        format!("can't evaluate field {name} in type {}", other.type_name()),
                    );
                }
            };
        }
        Ok(receiver)
    }

    /// An argument's value, typed for a parameter as Go types constants.
    fn eval_arg(&mut self, dot: &Value, arg: &Arg, param: Param) -> Flow<Value> {
        self.step()?;
        let pos = arg.pos();
        let context = describe_arg(arg);
        let value = match arg {
            Arg::Dot { .. } => dot.clone(),
            Arg::Nil { .. } => {
                if param == Param::Any {
                    return Ok(Value::Nil);
                }
                return fail(
                    pos,
                    context,
                    format!("cannot assign nil to {}", param.go_type()),
                );
            }
            Arg::Bool { value, .. } => {
                if !matches!(param, Param::Any | Param::Bool) {
                    return fail(
                        pos,
                        &context,
                        format!("expected {}; found {value}", param.go_type()),
                    );
                }
                Value::Bool(*value)
            }
            Arg::Str { value, .. } => {
                if !matches!(param, Param::Any | Param::Str) {
                    return fail(
                        pos,
                        &context,
                        format!("expected {}; found {value:?}", param.go_type()),
                    );
                }
                Value::str(value.as_str())
            }
            Arg::Number { number, .. } => return number_for(pos, number, param, &context),
            Arg::Field { names, .. } => self.fields(pos, dot.clone(), names, &context)?,
            Arg::Variable { name, fields, .. } => {
                let v = self.var(name, pos)?;
                self.fields(pos, v, fields, &context)?
            }
            Arg::Pipe { pipe, fields, .. } => {
                let v = self.eval_pipeline(dot, pipe)?;
                self.fields(pos, v, fields, &context)?
            }
            Arg::Ident { name, .. } => self.call(dot, pos, name, &[], None)?,
        };
        check_type(pos, &context, value, param)
    }

    fn call(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        args: &[Arg],
        last: Option<Value>,
    ) -> Flow<Value> {
        let context = name.to_owned();
        // `and` and `or` evaluate their arguments only as far as needed.
        if name == "and" || name == "or" {
            let count = args.len() + usize::from(last.is_some());
            if count < 1 {
                return fail(
                    pos,
                    &context,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                );
            }
            let mut result = Value::Nil;
            for arg in args {
                result = self.eval_arg(dot, arg, Param::Any)?;
                if result.is_true() != (name == "and") {
                    return Ok(result);
                }
            }
            if let Some(last) = last {
                result = last;
            }
            return Ok(result);
        }
        if name == "index" && self.funcs.get(name).is_none() {
            return self.index(dot, pos, args, last);
        }
        let Some(func) = self.funcs.get(name).copied() else {
            return fail(pos, &context, format!("{name:?} is not a defined function"));
        };
        let count = args.len() + usize::from(last.is_some());
        let fixed = func.params.len();
        if func.variadic.is_some() {
            if count < fixed {
                return fail(
                    pos,
                    &context,
                    format!("wrong number of args for {name}: want at least {fixed} got {count}"),
                );
            }
        } else if count != fixed {
            return fail(
                pos,
                &context,
                format!("wrong number of args for {name}: want {fixed} got {count}"),
            );
        }
        let param_of = |i: usize| -> Param {
            func.params
                .get(i)
                .copied()
                .or(func.variadic)
                .unwrap_or(Param::Any)
        };
        let mut values = Vec::with_capacity(count);
        for (i, arg) in args.iter().enumerate() {
            values.push(self.eval_arg(dot, arg, param_of(i))?);
        }
        if let Some(last) = last {
            values.push(check_type(pos, &context, last, param_of(count - 1))?);
        }
        match (func.body)(self.env, values) {
            Ok(v) => {
                self.write_back(name, args.first(), &v);
                Ok(v)
            }
            Err(e) => fail(pos, &context, format!("error calling {name}: {}", e.0)),
        }
    }

    /// Sprig's `set`, `unset` and `merge`s change the Go map they are
    /// given, so a variable holding it sees the change (`{{ $_ := set $d
    /// "k" 1 }}{{ $d.k }}`). Maps here are values, so the changed map they
    /// return is written back to the variable (and path) named as their
    /// first argument.
    fn write_back(&mut self, name: &str, first: Option<&Arg>, result: &Value) {
        const MUTATORS: [&str; 6] = [
            "set",
            "unset",
            "merge",
            "mergeOverwrite",
            "mustMerge",
            "mustMergeOverwrite",
        ];
        if !MUTATORS.contains(&name) || !matches!(result, Value::Map(_)) {
            return;
        }
        let Some(Arg::Variable {
            name: var, fields, ..
        }) = first
        else {
            return;
        };
        let Some(slot) = self.vars.iter().rposition(|(n, _)| n == var) else {
            return;
        };
        let updated = replace_at(&self.vars[slot].1, fields, result.clone());
        if let Some(updated) = updated {
            self.vars[slot].1 = updated;
        }
    }

    /// Go's `index`: into lists by integer, maps by key, strings by byte.
    /// A missing map key is the map's zero value: `""` for the data map
    /// (a Go `map[string]string`), nil for the others.
    fn index(&mut self, dot: &Value, pos: usize, args: &[Arg], last: Option<Value>) -> Flow<Value> {
        let mut values = Vec::with_capacity(args.len() + 1);
        for arg in args {
            values.push(self.eval_arg(dot, arg, Param::Any)?);
        }
        values.extend(last);
        let mut iter = values.into_iter();
        let Some(mut item) = iter.next() else {
            return fail(
                pos,
                "index",
                "wrong number of args for index: want at least 1 got 0",
            );
        };
        for key in iter {
            item = match (&item, &key) {
                (Value::List(l), Value::Int(i)) => {
                    match usize::try_from(*i).ok().and_then(|i| l.get(i)) {
                        Some(v) => v.clone(),
                        None => {
                            return fail(
                                pos,
                                "index",
                                format!("error calling index: index out of range: {i}"),
                            );
                        }
                    }
                }
                (Value::Str(s), Value::Int(i)) => {
                    match usize::try_from(*i).ok().and_then(|i| s.as_bytes().get(i)) {
                        Some(b) => Value::Int(i64::from(*b)),
                        None => {
                            return fail(
                                pos,
                                "index",
                                format!("error calling index: index out of range: {i}"),
                            );
                        }
                    }
                }
                (Value::Map(m), Value::Str(k)) => match m.get(k.to_str_lossy().as_ref()) {
                    Some(v) => v.clone(),
                    None if self.root.as_ref().is_some_and(|r| Arc::ptr_eq(r, m)) => Value::str(""),
                    None => Value::Nil,
                },
                (Value::Nil, _) => {
                    return fail(pos, "index", "error calling index: index of untyped nil");
                }
                (Value::List(_) | Value::Str(_), other) => {
                    return fail(
                        pos,
                        "index",
                        format!(
                            "error calling index: cannot index slice/array with type {}",
                            other.type_name()
                        ),
                    );
                }
                (Value::Map(_), other) => {
                    return fail(
                        pos,
                        "index",
                        format!(
                            "error calling index: value has type {}; should be string",
                            other.type_name()
                        ),
                    );
                }
                (other, _) => {
                    return fail(
                        pos,
                        "index",
                        format!(
                            "error calling index: can't index item of type {}",
                            other.type_name()
                        ),
                    );
                }
            };
        }
        Ok(item)
    }
}

/// `root` with the value at `path` (map keys) replaced by `value`; `None`
/// when the path does not lead through maps.
fn replace_at(root: &Value, path: &[String], value: Value) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value);
    };
    let Value::Map(m) = root else {
        return None;
    };
    let inner = replace_at(m.get(first)?, rest, value)?;
    let mut copy = (**m).clone();
    copy.insert(first.clone(), inner);
    Some(Value::map(copy))
}

/// A constant typed for `param` as Go's `idealConstant`/`evalInteger`
/// and friends do.
fn number_for(pos: usize, n: &Number, param: Param, context: &str) -> Flow<Value> {
    match param {
        Param::Any => {
            if n.float_literal {
                Ok(Value::Float(n.float.unwrap_or_default()))
            } else if let Some(i) = n.int {
                Ok(Value::Int(i))
            } else {
                Ok(Value::Float(n.float.unwrap_or_default()))
            }
        }
        Param::Int => match n.int {
            Some(i) => Ok(Value::Int(i)),
            None => fail(pos, context, format!("expected integer; found {}", n.text)),
        },
        Param::Float => match n.float {
            Some(f) => Ok(Value::Float(f)),
            None => fail(pos, context, format!("expected float; found {}", n.text)),
        },
        other => fail(
            pos,
            context,
            format!("expected {}; found {}", other.go_type(), n.text),
        ),
    }
}

/// A runtime value checked against a parameter's Go type.
fn check_type(pos: usize, context: &str, value: Value, param: Param) -> Flow<Value> {
    let ok = match (&value, param) {
        (_, Param::Any) => true,
        (Value::Nil, p) => {
            return fail(
                pos,
                context,
                format!("invalid value; expected {}", p.go_type()),
            );
        }
        (Value::Str(_), Param::Str)
        | (Value::Int(_), Param::Int)
        | (Value::Float(_), Param::Float)
        | (Value::Bool(_), Param::Bool)
        | (Value::List(_), Param::List)
        | (Value::Map(_), Param::Map) => true,
        _ => false,
    };
    if ok {
        Ok(value)
    } else {
        fail(
            pos,
            context,
            format!(
                "wrong type for value; expected {}; got {}",
                param.go_type(),
                value.type_name()
            ),
        )
    }
}

/// An operand as Go's error context shows it.
pub(crate) fn describe_arg(arg: &Arg) -> String {
    match arg {
        Arg::Field { names, .. } => names.iter().map(|n| format!(".{n}")).collect(),
        Arg::Variable { name, fields, .. } => {
            let mut s = name.clone();
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
        Arg::Dot { .. } => ".".into(),
        Arg::Nil { .. } => "nil".into(),
        Arg::Bool { value, .. } => value.to_string(),
        Arg::Number { number, .. } => number.text.clone(),
        Arg::Str { value, .. } => format!("{value:?}"),
        Arg::Ident { name, .. } => name.clone(),
        Arg::Pipe { fields, .. } => {
            let mut s = "(...)".to_string();
            for f in fields {
                s.push('.');
                s.push_str(f);
            }
            s
        }
    }
}
