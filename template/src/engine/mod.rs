//! The engine: Go's `text/template` (lexer, parser, executor, built-ins,
//! `fmt`), parsing and executing as ESO's `execute` does
//! (`tpl.New(key).Option("missingkey=error").Funcs(...).Delims(...)`).

mod builtins;
mod exec;
pub(crate) mod fmt;
mod lex;
mod parse;

use crate::func::{Env, Registry};
use crate::value::Value;

pub(crate) use builtins::register as register_builtins;

/// How much work one template may do. Any namespace's user can write a
/// template and one controller renders them all, so a `range` over a huge
/// list or a `template` calling itself is stopped, not waited out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one template may write (a Kubernetes Secret holds 1 MiB at
    /// most, so more is useless).
    pub max_output: usize,
    /// Nodes, commands and arguments evaluated, and `range` iterations.
    pub max_steps: u64,
    /// Nested `template` calls (Go's own limit is 100,000).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 1 << 20,
            max_steps: 1_000_000,
            max_depth: 1_000,
        }
    }
}

/// The action delimiters (ESO's `--template-left-delimiter` and
/// `--template-right-delimiter`, `{{` and `}}` by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delims {
    /// Opens an action.
    pub left: String,
    /// Closes an action.
    pub right: String,
}

impl Default for Delims {
    fn default() -> Self {
        Delims {
            left: "{{".into(),
            right: "}}".into(),
        }
    }
}

/// Why a template could not be parsed or executed: Go's texts, which
/// name the template (ESO names it after the Secret key), the line (and
/// column) and the reason. They never carry the data's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The text is not a template.
    #[error("template: {name}:{line}: {message}")]
    Parse {
        /// The template's name.
        name: String,
        /// 1-based line.
        line: usize,
        /// Go's message.
        message: String,
    },
    /// Execution failed at an operand.
    #[error("template: {name}:{line}:{col}: executing \"{name}\" at <{context}>: {message}")]
    Exec {
        /// The template (or `define`d template) being executed.
        name: String,
        /// 1-based line.
        line: usize,
        /// 0-based byte in the line, as Go counts it.
        col: usize,
        /// The operand, as written.
        context: String,
        /// Go's message.
        message: String,
    },
    /// A [`Limits`] bound was reached.
    #[error("template: {name}: {message}")]
    Limit {
        /// The template's name.
        name: String,
        /// Which bound.
        message: String,
    },
}

/// A parsed template, ready to execute any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    text: String,
    trees: parse::Trees,
    missing_key_error: bool,
}

fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..pos.min(text.len())];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let col = match before.iter().rposition(|b| *b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

impl Template {
    /// Parses `text` as the template `name`, checking that every function
    /// it names is in `funcs` (as Go does at parse time).
    ///
    /// # Errors
    ///
    /// [`TemplateError::Parse`] with Go's message.
    pub fn parse(
        name: &str,
        text: &str,
        delims: &Delims,
        funcs: &Registry,
    ) -> Result<Self, TemplateError> {
        let parse_error = |pos: usize, message: String| TemplateError::Parse {
            name: name.to_owned(),
            line: line_col(text, pos).0,
            message,
        };
        // An empty delimiter stands for the default, as in Go's `Delims`.
        let left = if delims.left.is_empty() {
            "{{"
        } else {
            &delims.left
        };
        let right = if delims.right.is_empty() {
            "}}"
        } else {
            &delims.right
        };
        let toks = lex::lex(text, left, right).map_err(|e| parse_error(e.pos, e.message))?;
        let is_func = |n: &str| funcs.get(n).is_some() || builtins::EXECUTOR_FUNCS.contains(&n);
        let trees = parse::parse(name, toks, text.len(), &is_func)
            .map_err(|e| parse_error(e.pos, e.message))?;
        Ok(Template {
            name: name.to_owned(),
            text: text.to_owned(),
            trees,
            missing_key_error: true,
        })
    }

    /// Go's `missingkey` option: `true` (the default here, ESO's
    /// `missingkey=error`) makes a missing map key an error; `false` is
    /// Go's own default, where it is nil and prints `<no value>` (ESO's
    /// `rewrite[].transform` templates run so).
    #[must_use]
    pub fn missing_key_error(mut self, error: bool) -> Self {
        self.missing_key_error = error;
        self
    }

    /// Executes the template on `data` (`.` and `$`).
    ///
    /// # Errors
    ///
    /// [`TemplateError::Exec`] for a failure at an operand (a missing
    /// key, a function's error), [`TemplateError::Limit`] when `limits`
    /// stop it.
    pub fn execute(
        &self,
        data: &Value,
        funcs: &Registry,
        env: &mut Env<'_>,
        limits: &Limits,
    ) -> Result<Vec<u8>, TemplateError> {
        let Some(main) = self.trees.get(&self.name) else {
            return Err(TemplateError::Limit {
                name: self.name.clone(),
                message: format!("no template {:?}", self.name),
            });
        };
        let mut state = exec::State::new(&self.trees, funcs, env, limits, data, &self.name);
        state.missing_key_error = self.missing_key_error;
        match state.walk_list(data, main) {
            Ok(()) => Ok(state.out),
            Err(exec::Stop::Error {
                pos,
                context,
                message,
            }) => {
                let (line, col) = line_col(&self.text, pos);
                Err(TemplateError::Exec {
                    name: state.current.clone(),
                    line,
                    col,
                    context,
                    message,
                })
            }
            Err(exec::Stop::Limit(message)) => Err(TemplateError::Limit {
                name: self.name.clone(),
                message,
            }),
            // Parsing refuses break/continue outside a range.
            Err(exec::Stop::Break | exec::Stop::Continue) => Ok(state.out),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    fn data() -> Value {
        let mut m = BTreeMap::new();
        m.insert("user".to_string(), Value::str("foobert"));
        m.insert("password".to_string(), Value::str("harharhar"));
        m.insert("empty".to_string(), Value::str(""));
        Value::map(m)
    }

    fn render(text: &str) -> Result<String, String> {
        let funcs = crate::functions();
        let t =
            Template::parse("key", text, &Delims::default(), &funcs).map_err(|e| e.to_string())?;
        let mut random = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        t.execute(&data(), &funcs, &mut env, &Limits::default())
            .map(|b| String::from_utf8(b).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn text_fields_and_trimming() {
        assert_eq!(render("a {{ .user }} b").unwrap(), "a foobert b");
        assert_eq!(render("a  {{- .user -}}  b").unwrap(), "afoobertb");
        assert_eq!(render("{{/* a comment */}}x").unwrap(), "x");
        assert_eq!(
            render("{{ $ }}").unwrap(),
            "map[empty: password:harharhar user:foobert]"
        );
    }

    #[test]
    fn missing_keys_are_errors_as_with_missingkey_error() {
        // ESO's "unknown key error": `unable to execute template at key key`
        // wraps Go's text.
        assert_eq!(
            render("{{ .unknown }}").unwrap_err(),
            r#"template: key:1:3: executing "key" at <.unknown>: map has no entry for key "unknown""#
        );
        // `index` gives the data map's zero value instead.
        assert_eq!(render(r#"[{{ index . "unknown" }}]"#).unwrap(), "[]");
        // Go's default option: nil, printed `<no value>`.
        let funcs = crate::functions();
        let t = Template::parse("t", "{{ .unknown }}", &Delims::default(), &funcs)
            .unwrap()
            .missing_key_error(false);
        let mut random = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        assert_eq!(
            t.execute(&data(), &funcs, &mut env, &Limits::default())
                .unwrap(),
            b"<no value>"
        );
    }

    #[test]
    fn control_flow() {
        assert_eq!(
            render("{{ if .empty }}a{{ else if .user }}b{{ else }}c{{ end }}").unwrap(),
            "b"
        );
        assert_eq!(
            render("{{ with .user }}{{ . }}{{ end }}").unwrap(),
            "foobert"
        );
        assert_eq!(
            render("{{ with .empty }}x{{ else }}none{{ end }}").unwrap(),
            "none"
        );
        assert_eq!(
            render("{{ range $k, $v := . }}{{ $k }}={{ $v }};{{ end }}").unwrap(),
            "empty=;password=harharhar;user=foobert;"
        );
        assert_eq!(
            render("{{ range 5 }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}").unwrap(),
            "012"
        );
        assert_eq!(
            render("{{ range 4 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ . }}{{ end }}").unwrap(),
            "023"
        );
        assert!(
            render("{{ range .empty }}x{{ else }}nothing{{ end }}")
                .unwrap_err()
                .contains("range can't iterate")
        );
    }

    #[test]
    fn variables_scope_and_assignment() {
        assert_eq!(
            render("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}").unwrap(),
            "2"
        );
        assert_eq!(
            render("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ end }}{{ $x }}").unwrap(),
            "1"
        );
        assert!(
            render("{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}")
                .unwrap_err()
                .contains(r#"undefined variable "$y""#)
        );
    }

    /// Sprig's `set`, as Helm users write it, changes the map a variable
    /// holds, nested ones too.
    #[test]
    fn set_and_unset_change_the_variables_map() {
        assert_eq!(
            render(
                r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $_ := unset $d "a" }}{{ $d }}"#
            )
            .unwrap(),
            "map[b:2]"
        );
        assert_eq!(
            render(r#"{{ $d := dict "in" (dict) }}{{ $_ := set $d.in "k" "v" }}{{ $d.in.k }}"#)
                .unwrap(),
            "v"
        );
        assert_eq!(
            render(r#"{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "b" 2) }}{{ len $d }}"#)
                .unwrap(),
            "2"
        );
    }

    #[test]
    fn pipelines_and_builtins() {
        assert_eq!(
            render(r#"{{ .user | printf "%s-%s" "x" }}"#).unwrap(),
            "x-foobert"
        );
        assert_eq!(
            render(r#"{{ len .user }} {{ not .empty }} {{ and 1 0 2 }} {{ or 0 "" "z" }}"#)
                .unwrap(),
            "7 true 0 z"
        );
        assert_eq!(
            render(r#"{{ eq .user "foobert" "x" }} {{ lt 1 2 }} {{ ne 1 1 }}"#).unwrap(),
            "true true false"
        );
        assert_eq!(
            render(r#"{{ print 1 2 "a" }}|{{ println "a" 1 }}"#).unwrap(),
            "1 2a|a 1\n"
        );
        assert_eq!(
            render(r#"{{ html "<a>" }} {{ urlquery "a b" }} {{ js "'" }}"#).unwrap(),
            r"&lt;a&gt; a+b \'"
        );
        assert_eq!(render(r#"{{ index "abc" 1 }}"#).unwrap(), "98");
        assert!(
            render(r#"{{ eq 1 "a" }}"#)
                .unwrap_err()
                .contains("error calling eq: incompatible types for comparison")
        );
    }

    #[test]
    fn define_template_and_block() {
        assert_eq!(
            render(r#"{{ define "t" }}<{{ . }}>{{ end }}{{ template "t" .user }}"#).unwrap(),
            "<foobert>"
        );
        assert_eq!(
            render(r#"{{ block "b" .user }}[{{ . }}]{{ end }}"#).unwrap(),
            "[foobert]"
        );
        assert!(
            render(r#"{{ template "nope" }}"#)
                .unwrap_err()
                .contains(r#"no such template "nope""#)
        );
    }

    #[test]
    fn parse_errors_name_the_line_and_the_reason() {
        // ESO's "template syntax error".
        assert_eq!(
            render("{{ #xx }}").unwrap_err(),
            r##"template: key:1: unexpected "#" in command"##
        );
        assert_eq!(
            render("a\n{{ nofunc }}").unwrap_err(),
            r#"template: key:2: function "nofunc" not defined"#
        );
        assert_eq!(
            render("{{ if .user }}").unwrap_err(),
            "template: key:1: unexpected EOF"
        );
        assert_eq!(
            render("{{ end }}").unwrap_err(),
            "template: key:1: unexpected {{end}}"
        );
        assert_eq!(
            render("{{ break }}").unwrap_err(),
            "template: key:1: {{break}} outside {{range}}"
        );
        assert_eq!(
            render(r#"{{ "a" "b" }}"#).unwrap_err(),
            "template: key:1: can't give argument to non-function"
        );
    }

    #[test]
    fn argument_counts_and_types_are_checked_as_go_checks_them() {
        assert_eq!(
            render(r#"{{ printf }}"#).unwrap_err(),
            r#"template: key:1:3: executing "key" at <printf>: wrong number of args for printf: want at least 1 got 0"#
        );
        assert!(
            render(r#"{{ not 1 2 }}"#)
                .unwrap_err()
                .contains("wrong number of args for not: want 1 got 2")
        );
        assert!(
            render(r#"{{ printf 3 }}"#)
                .unwrap_err()
                .contains("expected string; found 3")
        );
        assert!(
            render(r#"{{ .user.name }}"#)
                .unwrap_err()
                .contains("can't evaluate field name in type string")
        );
    }

    #[test]
    fn work_is_bounded() {
        let funcs = crate::functions();
        let mut random = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        let limits = Limits {
            max_output: 100,
            max_steps: 10_000,
            max_depth: 50,
        };
        let run = |text: &str, env: &mut Env<'_>| {
            Template::parse("key", text, &Delims::default(), &funcs)
                .unwrap()
                .execute(&data(), &funcs, env, &limits)
        };
        let e = run("{{ range 1000000000 }}{{ end }}", &mut env).unwrap_err();
        assert!(matches!(e, TemplateError::Limit { .. }), "{e}");
        let e = run(
            r#"{{ define "r" }}{{ template "r" . }}{{ end }}{{ template "r" . }}"#,
            &mut env,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "template: key: exceeded maximum template depth (50)"
        );
        let e = run("{{ range 200 }}ab{{ end }}", &mut env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "template: key: template output exceeds 100 bytes (the limit for one template)"
        );
    }

    #[test]
    fn other_delimiters() {
        let funcs = crate::functions();
        // Empty ones are the defaults, as in Go.
        let empty = Delims {
            left: String::new(),
            right: String::new(),
        };
        assert!(Template::parse("foo", "{{ .user }}", &empty, &funcs).is_ok());
        let delims = Delims {
            left: "<<".into(),
            right: ">>".into(),
        };
        let t = Template::parse("foo", "<< .user >>{{ x }}", &delims, &funcs).unwrap();
        let mut random = |b: &mut [u8]| b.fill(0);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        assert_eq!(
            t.execute(&data(), &funcs, &mut env, &Limits::default())
                .unwrap(),
            b"foobert{{ x }}"
        );
    }
}
