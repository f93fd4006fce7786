//! Go's `text/template/parse` lexer: text and actions, with configurable
//! delimiters, `{{-`/`-}}` trimming and `/* */` comments.

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// Text outside actions (already trimmed as the markers ask).
    Text(String),
    /// The left delimiter.
    Left,
    /// The right delimiter.
    Right,
    /// A keyword or function name.
    Ident(String),
    /// `.Field` (one element; chains are several).
    Field(String),
    /// `$name` or `$`.
    Variable(String),
    /// `.` alone.
    Dot,
    /// A string constant, unquoted.
    Str(String),
    /// A number constant as written.
    Number(String),
    /// A character constant, as its value.
    Char(char),
    /// `true`/`false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `|`.
    Pipe,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `:=`.
    Declare,
    /// `=`.
    Assign,
    /// `,` (in `range $i, $e :=`).
    Comma,
    /// Spaces inside an action (they separate arguments).
    Space,
}

/// A token and where it starts (byte offset into the template).
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// A lexing failure: its position and Go's message.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

const TRIM_MARKER: char = '-';

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `text` into tokens.
pub(crate) fn lex(text: &str, left: &str, right: &str) -> Result<Vec<Token>, LexError> {
    let mut out: Vec<Token> = Vec::new();
    let mut pos = 0;
    let left_comment = format!("{left}/*");
    loop {
        // Text up to the next action.
        let Some(rel) = text[pos..].find(left) else {
            if pos < text.len() {
                out.push(Token {
                    tok: Tok::Text(text[pos..].to_owned()),
                    pos,
                });
            }
            return Ok(out);
        };
        let start = pos + rel;
        let after_left = start + left.len();
        // `{{- ` trims the text before it.
        let trim_before = text[after_left..].starts_with(TRIM_MARKER)
            && text[after_left + 1..].starts_with(is_space);
        let mut chunk = &text[pos..start];
        if trim_before {
            chunk = chunk.trim_end_matches(is_space);
        }
        if !chunk.is_empty() {
            out.push(Token {
                tok: Tok::Text(chunk.to_owned()),
                pos,
            });
        }
        let mut inner = after_left;
        if trim_before {
            inner += 2;
        }
        // A comment: `{{/* ... */}}`, with optional trim markers.
        let comment_at = if trim_before {
            text[inner..].starts_with("/*")
        } else {
            text[start..].starts_with(&left_comment)
        };
        if comment_at {
            let body = inner + 2;
            let Some(end_rel) = text[body..].find("*/") else {
                return Err(LexError {
                    pos: start,
                    message: "unclosed comment".into(),
                });
            };
            let after = body + end_rel + 2;
            let Some((close_at, trims)) = at_right(text, after, right) else {
                return Err(LexError {
                    pos: start,
                    message: "comment ends before closing delimiter".into(),
                });
            };
            let after = close_at + right.len();
            pos = if trims {
                skip_space(text, after)
            } else {
                after
            };
            continue;
        }
        out.push(Token {
            tok: Tok::Left,
            pos: start,
        });
        pos = lex_action(text, inner, right, &mut out)?;
    }
}

/// Whether the right delimiter is at `at`, as Go's `atRightDelim`
/// decides: the delimiter itself, or one space, `-` and the delimiter
/// (which trims the text after it). Returns where the delimiter starts.
fn at_right(text: &str, at: usize, right: &str) -> Option<(usize, bool)> {
    let rest = &text[at..];
    if rest.starts_with(is_space)
        && rest[1..].starts_with(TRIM_MARKER)
        && rest[2..].starts_with(right)
    {
        return Some((at + 2, true));
    }
    if rest.starts_with(right) {
        return Some((at, false));
    }
    None
}

fn skip_space(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    at + (rest.len() - rest.trim_start_matches(is_space).len())
}

/// Lexes one action from `pos` up to and including its right delimiter;
/// returns where the text after it starts.
fn lex_action(
    text: &str,
    mut pos: usize,
    right: &str,
    out: &mut Vec<Token>,
) -> Result<usize, LexError> {
    let mut paren_depth = 0usize;
    loop {
        if let Some((close, trims)) = at_right(text, pos, right) {
            if paren_depth > 0 {
                return Err(LexError {
                    pos,
                    message: "unclosed left paren".into(),
                });
            }
            out.push(Token {
                tok: Tok::Right,
                pos: close,
            });
            let after = close + right.len();
            return Ok(if trims {
                skip_space(text, after)
            } else {
                after
            });
        }
        let rest = &text[pos..];
        let Some(c) = rest.chars().next() else {
            return Err(LexError {
                pos,
                message: "unclosed action".into(),
            });
        };
        match c {
            c if is_space(c) => {
                let mut end = skip_space(text, pos);
                // The last space may begin ` -}}`: it belongs to the
                // delimiter (Go's lexSpace backs up over it).
                if at_right(text, end - 1, right).is_some_and(|(_, trims)| trims) {
                    end -= 1;
                }
                if end > pos {
                    out.push(Token {
                        tok: Tok::Space,
                        pos,
                    });
                }
                pos = end;
            }
            '=' => {
                out.push(Token {
                    tok: Tok::Assign,
                    pos,
                });
                pos += 1;
            }
            ':' => {
                if !rest.starts_with(":=") {
                    return Err(LexError {
                        pos,
                        message: "expected :=".into(),
                    });
                }
                out.push(Token {
                    tok: Tok::Declare,
                    pos,
                });
                pos += 2;
            }
            '|' => {
                out.push(Token {
                    tok: Tok::Pipe,
                    pos,
                });
                pos += 1;
            }
            ',' => {
                out.push(Token {
                    tok: Tok::Comma,
                    pos,
                });
                pos += 1;
            }
            '(' => {
                paren_depth += 1;
                out.push(Token {
                    tok: Tok::LParen,
                    pos,
                });
                pos += 1;
            }
            ')' => {
                if paren_depth == 0 {
                    return Err(LexError {
                        pos,
                        message: "unexpected right paren".into(),
                    });
                }
                paren_depth -= 1;
                out.push(Token {
                    tok: Tok::RParen,
                    pos,
                });
                pos += 1;
            }
            '"' => {
                let (value, end) = lex_quote(text, pos)?;
                out.push(Token {
                    tok: Tok::Str(value),
                    pos,
                });
                pos = end;
            }
            '`' => {
                let Some(end_rel) = text[pos + 1..].find('`') else {
                    return Err(LexError {
                        pos,
                        message: "unterminated raw quoted string".into(),
                    });
                };
                out.push(Token {
                    tok: Tok::Str(text[pos + 1..pos + 1 + end_rel].to_owned()),
                    pos,
                });
                pos = pos + 2 + end_rel;
            }
            '\'' => {
                let (value, end) = lex_char(text, pos)?;
                out.push(Token {
                    tok: Tok::Char(value),
                    pos,
                });
                pos = end;
            }
            '$' => {
                let end = pos + 1 + ident_len(&text[pos + 1..]);
                out.push(Token {
                    tok: Tok::Variable(text[pos..end].to_owned()),
                    pos,
                });
                pos = end;
            }
            '.' => {
                let next = rest[1..].chars().next();
                match next {
                    Some(d) if d.is_ascii_digit() => {
                        let end = pos + number_len(rest);
                        out.push(Token {
                            tok: Tok::Number(text[pos..end].to_owned()),
                            pos,
                        });
                        pos = end;
                    }
                    Some(a) if is_alnum(a) => {
                        let end = pos + 1 + ident_len(&rest[1..]);
                        out.push(Token {
                            tok: Tok::Field(text[pos + 1..end].to_owned()),
                            pos,
                        });
                        pos = end;
                    }
                    _ => {
                        out.push(Token { tok: Tok::Dot, pos });
                        pos += 1;
                    }
                }
            }
            '+' | '-' | '0'..='9' => {
                let len = number_len(rest);
                if len == 0 || (len == 1 && (c == '+' || c == '-')) {
                    return Err(LexError {
                        pos,
                        message: format!("bad character {c:?}"),
                    });
                }
                let end = pos + len;
                if text[end..].starts_with(is_alnum) {
                    return Err(LexError {
                        pos,
                        message: format!("bad number syntax: {:?}", &text[pos..end + 1]),
                    });
                }
                out.push(Token {
                    tok: Tok::Number(text[pos..end].to_owned()),
                    pos,
                });
                pos = end;
            }
            c if is_alnum(c) => {
                let end = pos + ident_len(rest);
                let word = &text[pos..end];
                let tok = match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_owned()),
                };
                out.push(Token { tok, pos });
                pos = end;
            }
            other => {
                return Err(LexError {
                    pos,
                    message: format!("unexpected {:?} in command", other.to_string()),
                });
            }
        }
    }
}

fn ident_len(s: &str) -> usize {
    s.char_indices()
        .find(|(_, c)| !is_alnum(*c))
        .map_or(s.len(), |(i, _)| i)
}

/// The length of a number as Go's lexer scans it: sign, base prefix,
/// digits with `_`, fraction, exponent.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.len() > i + 1 && b[i] == b'0' {
        match b[i + 1] {
            b'x' | b'X' => {
                i += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                i += 2;
                digits = b"01234567_";
            }
            b'b' | b'B' => {
                i += 2;
                digits = b"01_";
            }
            _ => {}
        }
    }
    while i < b.len() && digits.contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
    }
    if i < b.len() && exp.contains(&b[i]) {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i
}

/// A double-quoted string with Go's escapes; returns the value and the
/// offset after the closing quote.
fn lex_quote(text: &str, start: usize) -> Result<(String, usize), LexError> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    let err = |message: &str| LexError {
        pos: start,
        message: message.into(),
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, start + 1 + i + 1)),
            '\n' => return Err(err("unterminated quoted string")),
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Err(err("unterminated quoted string"));
                };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\u{7}'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'v' => out.push('\u{b}'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => return Err(err("invalid syntax")),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut hex = String::new();
                        for _ in 0..n {
                            match chars.next() {
                                Some((_, h)) => hex.push(h),
                                None => return Err(err("unterminated quoted string")),
                            }
                        }
                        let v = u32::from_str_radix(&hex, 16).map_err(|_| err("invalid syntax"))?;
                        let ch = char::from_u32(v).ok_or_else(|| err("invalid syntax"))?;
                        out.push(ch);
                    }
                    '0'..='7' => {
                        let mut oct = e.to_string();
                        for _ in 0..2 {
                            match chars.next() {
                                Some((_, h)) => oct.push(h),
                                None => return Err(err("unterminated quoted string")),
                            }
                        }
                        let v = u32::from_str_radix(&oct, 8).map_err(|_| err("invalid syntax"))?;
                        let ch = char::from_u32(v).ok_or_else(|| err("invalid syntax"))?;
                        out.push(ch);
                    }
                    _ => return Err(err("invalid syntax")),
                }
            }
            c => out.push(c),
        }
    }
    Err(err("unterminated quoted string"))
}

fn lex_char(text: &str, start: usize) -> Result<(char, usize), LexError> {
    let rest = &text[start + 1..];
    let err = || LexError {
        pos: start,
        message: "unterminated character constant".into(),
    };
    let Some(close) = rest.find('\'') else {
        return Err(err());
    };
    let body = &rest[..close];
    let value = if let Some(esc) = body.strip_prefix('\\') {
        match esc {
            "n" => '\n',
            "t" => '\t',
            "r" => '\r',
            "\\" => '\\',
            "'" => '\'',
            "0" => '\0',
            _ => return Err(err()),
        }
    } else {
        let mut cs = body.chars();
        match (cs.next(), cs.next()) {
            (Some(c), None) => c,
            _ => return Err(err()),
        }
    };
    Ok((value, start + 1 + close + 1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        lex(text, "{{", "}}")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn trim_markers_remove_the_spaces_beside_them() {
        assert_eq!(
            toks("a  {{- 3 -}}  b"),
            vec![
                Tok::Text("a".into()),
                Tok::Left,
                Tok::Number("3".into()),
                Tok::Right,
                Tok::Text("b".into())
            ]
        );
    }

    #[test]
    fn a_minus_number_is_not_a_trim_marker() {
        assert_eq!(
            toks("{{-3}}"),
            vec![Tok::Left, Tok::Number("-3".into()), Tok::Right]
        );
    }

    #[test]
    fn comments_vanish_and_trim() {
        assert_eq!(
            toks("a {{- /* c */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into())]
        );
        assert_eq!(
            toks("a{{/* c */}}b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into())]
        );
    }

    #[test]
    fn fields_variables_and_strings() {
        assert_eq!(
            toks(r#"{{ $x := .a.b | printf "%s\n" `raw` }}"#),
            vec![
                Tok::Left,
                Tok::Space,
                Tok::Variable("$x".into()),
                Tok::Space,
                Tok::Declare,
                Tok::Space,
                Tok::Field("a".into()),
                Tok::Field("b".into()),
                Tok::Space,
                Tok::Pipe,
                Tok::Space,
                Tok::Ident("printf".into()),
                Tok::Space,
                Tok::Str("%s\n".into()),
                Tok::Space,
                Tok::Str("raw".into()),
                Tok::Space,
                Tok::Right
            ]
        );
    }

    #[test]
    fn other_delimiters() {
        let t: Vec<Tok> = lex("<< .a >>", "<<", ">>")
            .unwrap()
            .into_iter()
            .map(|t| t.tok)
            .collect();
        assert_eq!(
            t,
            vec![
                Tok::Left,
                Tok::Space,
                Tok::Field("a".into()),
                Tok::Space,
                Tok::Right
            ]
        );
    }

    #[test]
    fn bad_characters_are_errors() {
        let e = lex("{{ #xx }}", "{{", "}}").unwrap_err();
        assert_eq!(e.message, r##"unexpected "#" in command"##);
        assert!(lex("{{ .a ", "{{", "}}").is_err());
    }
}
