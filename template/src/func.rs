//! The contract between the engine and the functions a template calls.
//!
//! Go calls a template function through reflection: it checks the number
//! of arguments and each argument's type against the Go signature, then
//! calls it. A [`Func`] declares that signature as [`Param`]s so the
//! engine makes the same checks with Go's texts; the function body then
//! receives arguments already of the declared kinds.

use std::collections::HashMap;

use crate::value::Value;

/// A parameter's Go type, as far as the engine checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`: anything, nil included.
    Any,
    /// `string`.
    Str,
    /// `int`/`int64`: an integer (a float or string argument is refused).
    Int,
    /// `float64`: a number (an integer constant is converted, as Go does
    /// for untyped constants).
    Float,
    /// `bool`.
    Bool,
    /// `[]interface{}`/`[]string`: a list.
    List,
    /// `map[string]interface{}`: a map.
    Map,
}

impl Param {
    /// The Go type name errors show.
    pub fn go_type(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Str => "string",
            Param::Int => "int",
            Param::Float => "float64",
            Param::Bool => "bool",
            Param::List => "[]interface {}",
            Param::Map => "map[string]interface {}",
        }
    }
}

/// What a function may use besides its arguments: the clock and a random
/// source are injected, so rendering is a function of its inputs.
pub struct Env<'a> {
    /// `now`.
    pub now: time::OffsetDateTime,
    /// Fills the buffer with random bytes (`randAlphaNum`, `uuidv4`,
    /// `genPrivateKey`, salts). `Send`, so a render can run on a thread of
    /// its own (see secret-sync's `render`).
    pub random: &'a mut (dyn FnMut(&mut [u8]) + Send),
}

/// A function's failure: the text Go's function would return as its
/// `error` (the engine adds `error calling <name>: `).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FuncError(pub String);

impl std::fmt::Debug for FuncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Texts name what failed, never a value; shown as they are.
        write!(f, "FuncError({:?})", self.0)
    }
}

impl FuncError {
    /// An error with this text.
    pub fn new(text: impl Into<String>) -> Self {
        FuncError(text.into())
    }
}

/// A function's body: arguments already checked against its signature.
pub type Body = fn(&mut Env<'_>, Vec<Value>) -> Result<Value, FuncError>;

/// A template function.
#[derive(Clone, Copy)]
pub struct Func {
    /// The fixed parameters.
    pub params: &'static [Param],
    /// The trailing `...T` parameter, if any.
    pub variadic: Option<Param>,
    /// The body.
    pub body: Body,
}

/// The functions a template may call, by name.
#[derive(Clone, Default)]
pub struct Registry {
    funcs: HashMap<&'static str, Func>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `name`.
    pub fn add(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        variadic: Option<Param>,
        body: Body,
    ) {
        self.funcs.insert(
            name,
            Func {
                params,
                variadic,
                body,
            },
        );
    }

    /// The function called `name`.
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.funcs.get(name)
    }

    /// Removes `name` (Sprig's `env` and `expandenv` are never offered).
    pub fn remove(&mut self, name: &str) {
        self.funcs.remove(name);
    }

    /// Every name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.funcs.keys().copied().collect();
        names.sort_unstable();
        names
    }
}
