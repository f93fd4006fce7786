//! Go's `text/template/parse`: tokens into trees, with Go's checks made
//! at parse time (functions defined, variables declared, `end`/`else`
//! matched).

use std::collections::HashMap;

use super::lex::{Tok, Token};

/// A node of a template's tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Text copied to the output.
    Text(String),
    /// `{{ pipeline }}`: printed unless it declares variables.
    Action(Pipe),
    /// `if`, `range` or `with`.
    Branch {
        kind: BranchKind,
        pipe: Pipe,
        list: Vec<Node>,
        else_list: Option<Vec<Node>>,
    },
    /// `{{ template "name" pipeline }}`.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    /// `{{ break }}`.
    Break,
    /// `{{ continue }}`.
    Continue,
}

/// Which branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BranchKind {
    If,
    Range,
    With,
}

/// A pipeline: optional variables, then commands joined by `|`.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) pos: usize,
    /// `=` rather than `:=`.
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Command>,
}

/// One command: a function and its arguments, or a single operand.
#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Arg>,
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.a.b` (empty `names` never occurs: that is `Dot`).
    Field { pos: usize, names: Vec<String> },
    /// `$x.a.b`.
    Variable {
        pos: usize,
        name: String,
        fields: Vec<String>,
    },
    /// `.`.
    Dot { pos: usize },
    /// `nil`.
    Nil { pos: usize },
    /// `true`/`false`.
    Bool { pos: usize, value: bool },
    /// A number or character constant.
    Number { pos: usize, number: Number },
    /// A string constant.
    Str { pos: usize, value: String },
    /// A function name.
    Ident { pos: usize, name: String },
    /// `( pipeline )`, possibly followed by fields.
    Pipe {
        pos: usize,
        pipe: Box<Pipe>,
        fields: Vec<String>,
    },
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. }
            | Arg::Variable { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Bool { pos, .. }
            | Arg::Number { pos, .. }
            | Arg::Str { pos, .. }
            | Arg::Ident { pos, .. }
            | Arg::Pipe { pos, .. } => *pos,
        }
    }
}

/// A numeric constant as Go's `parse.NumberNode` holds it: which Go types
/// it can be, and its value as each.
#[derive(Debug, Clone)]
pub(crate) struct Number {
    pub(crate) text: String,
    pub(crate) int: Option<i64>,
    pub(crate) float: Option<f64>,
    /// Written as a float (`.`, `e`, `p`): untyped, it is a float64.
    pub(crate) float_literal: bool,
}

/// The trees of one template text: the main one under the template's
/// name, and each `define`d or `block`ed one.
pub(crate) type Trees = HashMap<String, Vec<Node>>;

/// A parse failure: where, and Go's message.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

fn err<T>(pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        pos,
        message: message.into(),
    })
}

/// How a list ended.
enum End {
    Eof,
    Close(usize),
    Else(usize),
}

struct Parser<'a> {
    toks: Vec<Token>,
    at: usize,
    is_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    trees: Trees,
    name: String,
    text_len: usize,
}

/// Parses `toks` (of a template called `name`) into its trees.
pub(crate) fn parse(
    name: &str,
    toks: Vec<Token>,
    text_len: usize,
    is_func: &dyn Fn(&str) -> bool,
) -> Result<Trees, ParseError> {
    let mut p = Parser {
        toks,
        at: 0,
        is_func,
        vars: vec!["$".into()],
        range_depth: 0,
        trees: HashMap::new(),
        name: name.to_owned(),
        text_len,
    };
    let (list, end) = p.list(true)?;
    match end {
        End::Eof => {}
        End::Close(pos) => return err(pos, "unexpected {{end}}"),
        End::Else(pos) => return err(pos, "unexpected {{else}}"),
    }
    p.trees.insert(p.name.clone(), list);
    Ok(p.trees)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.toks.get(self.at).map_or(self.text_len, |t| t.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(Tok::Space)) {
            self.at += 1;
        }
    }

    fn next_non_space(&mut self) -> Option<Token> {
        self.skip_space();
        self.next()
    }

    fn peek_non_space(&mut self) -> Option<&Tok> {
        self.skip_space();
        self.peek()
    }

    fn expect_right(&mut self, context: &str) -> Result<(), ParseError> {
        match self.next_non_space() {
            Some(Token {
                tok: Tok::Right, ..
            }) => Ok(()),
            Some(t) => err(
                t.pos,
                format!("unexpected {} in {context}", describe(&t.tok)),
            ),
            None => err(self.text_len, format!("unclosed action in {context}")),
        }
    }

    /// Items until `{{end}}`, `{{else}}` or the end of input (`top`).
    fn list(&mut self, top: bool) -> Result<(Vec<Node>, End), ParseError> {
        let mut nodes = Vec::new();
        loop {
            let Some(tok) = self.next() else {
                if top {
                    return Ok((nodes, End::Eof));
                }
                return err(self.text_len, "unexpected EOF");
            };
            match tok.tok {
                Tok::Text(t) => nodes.push(Node::Text(t)),
                Tok::Left => {
                    let pos = self.pos();
                    match self.peek_non_space() {
                        Some(Tok::Ident(word)) if word == "end" => {
                            self.at += 1;
                            self.expect_right("end")?;
                            return Ok((nodes, End::Close(pos)));
                        }
                        Some(Tok::Ident(word)) if word == "else" => {
                            self.at += 1;
                            // `else if`/`else with` keep the action open.
                            return Ok((nodes, End::Else(pos)));
                        }
                        _ => {}
                    }
                    if let Some(node) = self.action()? {
                        nodes.push(node);
                    }
                }
                other => return err(tok.pos, format!("unexpected {}", describe(&other))),
            }
        }
    }

    /// One action after its `{{`; `None` for a `define`.
    fn action(&mut self) -> Result<Option<Node>, ParseError> {
        let pos = self.pos();
        if let Some(Tok::Ident(word)) = self.peek_non_space() {
            let word = word.clone();
            match word.as_str() {
                "if" => return self.branch(BranchKind::If).map(Some),
                "range" => return self.branch(BranchKind::Range).map(Some),
                "with" => return self.branch(BranchKind::With).map(Some),
                "template" => return self.template(pos).map(Some),
                "block" => return self.block(pos).map(Some),
                "define" => {
                    self.define(pos)?;
                    return Ok(None);
                }
                "break" | "continue" => {
                    self.at += 1;
                    self.expect_right(&word)?;
                    if self.range_depth == 0 {
                        return err(pos, format!("{{{{{word}}}}} outside {{{{range}}}}"));
                    }
                    return Ok(Some(if word == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    }));
                }
                _ => {}
            }
        }
        let pipe = self.pipeline("command", false)?;
        Ok(Some(Node::Action(pipe)))
    }

    /// `if`, `range`, `with` after the keyword's `{{`, up to its `{{end}}`.
    fn branch(&mut self, kind: BranchKind) -> Result<Node, ParseError> {
        let pos = self.pos();
        self.at += 1; // the keyword
        let context = match kind {
            BranchKind::If => "if",
            BranchKind::Range => "range",
            BranchKind::With => "with",
        };
        // Variables declared in the pipeline or the body end at `end`.
        let scope = self.vars.len();
        let pipe = self.pipeline(context, kind == BranchKind::Range)?;
        if pipe.cmds.is_empty() {
            return err(pos, format!("missing value for {context}"));
        }
        if kind == BranchKind::Range {
            self.range_depth += 1;
        }
        let (list, end) = self.list(false)?;
        if kind == BranchKind::Range {
            self.range_depth -= 1;
        }
        let else_list = match end {
            End::Eof => return err(self.text_len, "unexpected EOF"),
            End::Close(_) => None,
            End::Else(_) => {
                // `{{else if ...}}` / `{{else with ...}}`: a nested branch
                // whose `end` is this one's.
                match self.peek_non_space() {
                    Some(Tok::Ident(w))
                        if (w == "if" && kind == BranchKind::If)
                            || (w == "with" && kind == BranchKind::With) =>
                    {
                        let nested = self.branch(kind)?;
                        Some(vec![nested])
                    }
                    _ => {
                        self.expect_right("else")?;
                        let (else_list, end) = self.list(false)?;
                        match end {
                            End::Close(_) => {}
                            End::Else(p) => return err(p, "expected end; found {{else}}"),
                            End::Eof => return err(self.text_len, "unexpected EOF"),
                        }
                        Some(else_list)
                    }
                }
            }
        };
        self.vars.truncate(scope);
        Ok(Node::Branch {
            kind,
            pipe,
            list,
            else_list,
        })
    }

    /// The quoted name after `template`, `block` or `define`.
    fn template_name(&mut self, context: &str) -> Result<String, ParseError> {
        match self.next_non_space() {
            Some(Token {
                tok: Tok::Str(name),
                ..
            }) => Ok(name),
            Some(t) => err(
                t.pos,
                format!("unexpected {} in {context} clause", describe(&t.tok)),
            ),
            None => err(self.text_len, format!("unexpected EOF in {context} clause")),
        }
    }

    fn template(&mut self, pos: usize) -> Result<Node, ParseError> {
        self.at += 1;
        let name = self.template_name("template")?;
        let pipe = if matches!(self.peek_non_space(), Some(Tok::Right)) {
            self.at += 1;
            None
        } else {
            Some(self.pipeline("template clause", false)?)
        };
        Ok(Node::Template { pos, name, pipe })
    }

    fn define(&mut self, pos: usize) -> Result<(), ParseError> {
        self.at += 1;
        let name = self.template_name("define")?;
        self.expect_right("define clause")?;
        let list = self.body_of(&name, pos)?;
        self.trees.insert(name, list);
        Ok(())
    }

    fn block(&mut self, pos: usize) -> Result<Node, ParseError> {
        self.at += 1;
        let name = self.template_name("block")?;
        let pipe = self.pipeline("block clause", false)?;
        let list = self.body_of(&name, pos)?;
        self.trees.insert(name.clone(), list);
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    /// A `define`d or `block`ed body: its own variables (only `$`).
    fn body_of(&mut self, name: &str, pos: usize) -> Result<Vec<Node>, ParseError> {
        let outer_vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let outer_range = std::mem::take(&mut self.range_depth);
        let (list, end) = self.list(false)?;
        self.vars = outer_vars;
        self.range_depth = outer_range;
        match end {
            End::Close(_) => Ok(list),
            End::Else(p) => err(p, "unexpected {{else}}"),
            End::Eof => err(pos, format!("unexpected EOF in definition of {name:?}")),
        }
    }

    /// A pipeline up to and including the `}}` that closes its action.
    fn pipeline(&mut self, context: &str, range: bool) -> Result<Pipe, ParseError> {
        let pos = self.pos();
        let mut decl = Vec::new();
        let mut is_assign = false;
        // Declarations: `$x :=`, `$x =`, `$i, $e :=` (range only).
        let save = self.at;
        if let Some(Tok::Variable(first)) = self.peek_non_space().cloned() {
            self.at += 1;
            match self.peek_non_space().cloned() {
                Some(Tok::Declare) | Some(Tok::Assign) => {
                    is_assign = matches!(self.peek(), Some(Tok::Assign));
                    self.at += 1;
                    decl.push(first);
                }
                Some(Tok::Comma) if range => {
                    self.at += 1;
                    let Some(Token {
                        tok: Tok::Variable(second),
                        ..
                    }) = self.next_non_space()
                    else {
                        return err(self.pos(), "range can only initialize variables");
                    };
                    match self.next_non_space() {
                        Some(Token {
                            tok: Tok::Declare, ..
                        }) => {}
                        Some(Token {
                            tok: Tok::Assign, ..
                        }) => is_assign = true,
                        _ => return err(self.pos(), "range can only initialize variables"),
                    }
                    decl.push(first);
                    decl.push(second);
                }
                Some(Tok::Comma) => {
                    return err(self.pos(), format!("too many declarations in {context}"));
                }
                _ => self.at = save,
            }
        }
        let mut cmds = Vec::new();
        loop {
            match self.peek_non_space() {
                Some(Tok::Right) => {
                    self.at += 1;
                    break;
                }
                None => return err(self.text_len, format!("unclosed action in {context}")),
                _ => {}
            }
            cmds.push(self.command(context)?);
            match self.peek_non_space() {
                Some(Tok::Pipe) => {
                    self.at += 1;
                    if matches!(self.peek_non_space(), Some(Tok::Right) | None) {
                        return err(self.pos(), "missing command");
                    }
                }
                Some(Tok::Right) => {}
                Some(Tok::RParen) => return err(self.pos(), "unexpected right paren"),
                Some(other) => {
                    let other = describe(other);
                    return err(self.pos(), format!("unexpected {other} in operand"));
                }
                None => return err(self.text_len, format!("unclosed action in {context}")),
            }
        }
        if cmds.is_empty() && !decl.is_empty() {
            return err(pos, format!("missing value for {context}"));
        }
        // Declared after their value is parsed: `{{ $x := $x }}` needs
        // an outer `$x`.
        if !is_assign {
            self.vars.extend(decl.iter().cloned());
        } else {
            for v in &decl {
                if !self.vars.contains(v) {
                    return err(pos, format!("undefined variable {v:?}"));
                }
            }
        }
        Ok(Pipe {
            pos,
            is_assign,
            decl,
            cmds,
        })
    }

    /// A parenthesized pipeline after its `(`, up to its `)`.
    fn paren_pipeline(&mut self, pos: usize) -> Result<Pipe, ParseError> {
        let mut cmds = Vec::new();
        loop {
            match self.peek_non_space() {
                Some(Tok::RParen) => {
                    self.at += 1;
                    break;
                }
                None | Some(Tok::Right) => return err(self.pos(), "unclosed left paren"),
                _ => {}
            }
            cmds.push(self.command("parenthesized pipeline")?);
            match self.peek_non_space() {
                Some(Tok::Pipe) => {
                    self.at += 1;
                }
                Some(Tok::RParen) => {}
                _ => return err(self.pos(), "unclosed left paren"),
            }
        }
        if cmds.is_empty() {
            return err(pos, "missing value for parenthesized pipeline");
        }
        Ok(Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds,
        })
    }

    /// Operands separated by spaces, up to `|`, `)` or `}}`.
    fn command(&mut self, context: &str) -> Result<Command, ParseError> {
        let pos = self.pos();
        let mut args = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                Some(Tok::Pipe) | Some(Tok::Right) | Some(Tok::RParen) | None => break,
                _ => {}
            }
            let arg = self.operand(context)?;
            args.push(arg);
            // Operands are separated by spaces.
            match self.peek() {
                Some(Tok::Space) | Some(Tok::Pipe) | Some(Tok::Right) | Some(Tok::RParen)
                | None => {}
                Some(other) => {
                    let other = describe(other);
                    return err(self.pos(), format!("unexpected {other} in operand"));
                }
            }
        }
        if args.is_empty() {
            return err(pos, "empty command");
        }
        if let Some(Arg::Nil { .. }) = args.first()
            && args.len() == 1
        {
            return err(pos, "nil is not a command");
        }
        if args.len() > 1
            && !matches!(
                args.first(),
                Some(Arg::Ident { .. })
                    | Some(Arg::Field { .. })
                    | Some(Arg::Variable { .. })
                    | Some(Arg::Pipe { .. })
            )
        {
            return err(pos, "can't give argument to non-function");
        }
        Ok(Command { pos, args })
    }

    fn fields(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        while let Some(Tok::Field(name)) = self.peek() {
            names.push(name.clone());
            self.at += 1;
        }
        names
    }

    fn operand(&mut self, context: &str) -> Result<Arg, ParseError> {
        let Some(tok) = self.next() else {
            return err(self.text_len, format!("unclosed action in {context}"));
        };
        let pos = tok.pos;
        let arg = match tok.tok {
            Tok::Ident(name) => {
                if !(self.is_func)(&name) {
                    return err(pos, format!("function {name:?} not defined"));
                }
                Arg::Ident { pos, name }
            }
            Tok::Dot => {
                if matches!(self.peek(), Some(Tok::Field(_))) {
                    return err(pos, "unexpected . after term \".\"");
                }
                Arg::Dot { pos }
            }
            Tok::Nil => Arg::Nil { pos },
            Tok::Bool(value) => Arg::Bool { pos, value },
            Tok::Str(value) => Arg::Str { pos, value },
            Tok::Number(text) => Arg::Number {
                pos,
                number: number(&text).ok_or_else(|| ParseError {
                    pos,
                    message: format!("illegal number syntax: {text:?}"),
                })?,
            },
            Tok::Char(c) => Arg::Number {
                pos,
                number: Number {
                    text: format!("'{c}'"),
                    int: Some(i64::from(u32::from(c))),
                    float: Some(f64::from(u32::from(c))),
                    float_literal: false,
                },
            },
            Tok::Field(first) => {
                let mut names = vec![first];
                names.extend(self.fields());
                return Ok(Arg::Field { pos, names });
            }
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return err(pos, format!("undefined variable {name:?}"));
                }
                let fields = self.fields();
                return Ok(Arg::Variable { pos, name, fields });
            }
            Tok::LParen => {
                let pipe = self.paren_pipeline(pos)?;
                let fields = self.fields();
                return Ok(Arg::Pipe {
                    pos,
                    pipe: Box::new(pipe),
                    fields,
                });
            }
            other => {
                return err(pos, format!("unexpected {} in {context}", describe(&other)));
            }
        };
        if matches!(self.peek(), Some(Tok::Field(_))) {
            return err(pos, "unexpected . after term");
        }
        Ok(arg)
    }
}

/// A number constant as Go's `parse.newNumber` reads it.
fn number(text: &str) -> Option<Number> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, body) = match clean.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, clean.trim_start_matches('+').to_owned()),
    };
    let lower = body.to_ascii_lowercase();
    let radix_int = |digits: &str, radix: u32| -> Option<i64> {
        let v = i64::from_str_radix(digits, radix).ok()?;
        Some(if negative { -v } else { v })
    };
    let int = if let Some(hex) = lower.strip_prefix("0x") {
        if hex.contains('p') || hex.contains('.') {
            None
        } else {
            radix_int(hex, 16)
        }
    } else if let Some(oct) = lower.strip_prefix("0o") {
        radix_int(oct, 8)
    } else if let Some(bin) = lower.strip_prefix("0b") {
        radix_int(bin, 2)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        radix_int(&lower[1..], 8)
    } else {
        clean.trim_start_matches('+').parse::<i64>().ok()
    };
    let float_literal = !lower.starts_with("0x") && lower.contains(['.', 'e']);
    let float = if let Some(i) = int {
        Some(i as f64)
    } else if lower.starts_with("0x") {
        None
    } else {
        clean.trim_start_matches('+').parse::<f64>().ok()
    };
    // A float constant with an integral value is an int too.
    let int = int
        .or_else(|| float.and_then(|f| (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64)));
    if int.is_none() && float.is_none() {
        return None;
    }
    Some(Number {
        text: text.to_owned(),
        int,
        float,
        float_literal,
    })
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Text(_) => "text".into(),
        Tok::Left => "\"{{\"".into(),
        Tok::Right => "\"}}\"".into(),
        Tok::Ident(s) => format!("{s:?}"),
        Tok::Field(s) => format!("\".{s}\""),
        Tok::Variable(s) => format!("{s:?}"),
        Tok::Dot => "\".\"".into(),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Number(s) => format!("{s:?}"),
        Tok::Char(c) => format!("'{c}'"),
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "\"nil\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Space => "space".into(),
    }
}
