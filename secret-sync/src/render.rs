//! `spec.target.template` applied as ESO's `ApplyTemplate` applies it
//! (external-secrets/external-secrets
//! `pkg/controllers/externalsecret/externalsecret_controller_template.go`,
//! `pkg/controllers/templating/parser.go`, `runtime/template/v2/template.go`):
//!
//! 1. the template is checked (engine `v2`; `templateFrom` targets only
//!    `Data`, `Annotations`, `Labels`; no bootstrap-token type and no
//!    service-account annotation on a token Secret);
//! 2. with `mergePolicy: Merge`, or with neither `data` nor
//!    `templateFrom`, the values read are the Secret's keys to start with;
//! 3. `templateFrom` entries in order (ConfigMap keys, Secret keys, a
//!    literal), then `template.data` (which so wins), then
//!    `metadata.labels` and `metadata.annotations`, each value a template.
//!
//! Pure: the ConfigMaps and Secrets `templateFrom` names are read by the
//! controller and handed in; the clock and randomness come in an
//! [`Env`]. All or nothing: an error leaves no half-built result, so the
//! Secret keeps what it had.

use std::collections::BTreeMap;

use azure_wi_template::{Delims, Env, Limits, Registry, Template, TemplateError, Value};

use crate::api::{
    DecodingStrategy, EngineVersion, MergePolicy, TargetTemplate, TemplateFrom, TemplateScope,
};
use crate::remote::decode;

/// Why a template could not make the Secret: the text says which key or
/// source and why, with ESO's wording where ESO has one; never a value.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// `engineVersion: v1`.
    #[error(
        "template engineVersion v1 is not served (ESO removed it too): set spec.target.template.engineVersion: v2 and write the template in Go template syntax"
    )]
    EngineV1,
    /// A `templateFrom` target other than `Data`, `Annotations`, `Labels`.
    #[error(
        "templateFrom target={0:?} is not allowed when targeting a Secret, must be one of \"Data\", \"Annotations\" or \"Labels\""
    )]
    TargetNotAllowed(String),
    /// A Secret type or annotation ESO refuses to template.
    #[error("{0}")]
    Privileged(String),
    /// A ConfigMap or Secret `templateFrom` names does not exist.
    #[error("error fetching templateFrom data: {kind} {name:?} not found")]
    SourceMissing {
        /// `configmaps` or `secrets`.
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A key `templateFrom` names is not in its ConfigMap.
    #[error("error fetching templateFrom data: error in configmap {name}: missing key {key}")]
    ConfigMapKeyMissing {
        /// The ConfigMap.
        name: String,
        /// The key.
        key: String,
    },
    /// A key `templateFrom` names is not in its Secret.
    #[error("error fetching templateFrom data: error in secret {name}: missing key {key}")]
    SecretKeyMissing {
        /// The Secret.
        name: String,
        /// The key.
        key: String,
    },
    /// A template did not parse. ESO's `execute` says so and its caller
    /// wraps that again (`runtime/template/v2/template.go`: `errParse`
    /// inside `errExecute`).
    #[error(
        "could not execute template: unable to execute template at key {key}: unable to parse template at key {key}: {source}"
    )]
    TemplateParse {
        /// The Secret key (or, for a `KeysAndValues` template, its text's
        /// first non-empty line) the template is for.
        key: String,
        /// Go's error.
        #[source]
        source: TemplateError,
    },
    /// A template failed as it ran; ESO's text says so twice, as its
    /// `execute` and its caller both wrap the error with `errExecute`.
    #[error(
        "could not execute template: unable to execute template at key {key}: unable to execute template at key {key}: {source}"
    )]
    Template {
        /// The Secret key (or, for a `KeysAndValues` template, its text's
        /// first non-empty line) the template is for.
        key: String,
        /// Go's error.
        #[source]
        source: TemplateError,
    },
    /// A `KeysAndValues` template or literal did not render YAML of
    /// string keys and values.
    #[error(
        "could not execute template: could not unmarshal template to 'map[string][]byte' (template {key}): {reason}"
    )]
    NotKeysAndValues {
        /// The template's first line.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The renderer's thread could not start, or stopped unexpectedly.
    #[error("could not execute template: the template renderer failed: {0}")]
    Renderer(String),
    /// `valuesDecodingStrategy` could not decode a rendered value.
    #[error(
        "could not execute template: failed to decode rendered template value for key {key}: {source}"
    )]
    Decode {
        /// The key.
        key: String,
        /// Why.
        #[source]
        source: crate::Error,
    },
}

/// What `templateFrom` reads from the cluster: each named ConfigMap's
/// `data` and Secret's `data`, absent when the object does not exist.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// ConfigMaps by name.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets by name.
    pub secrets: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

/// What a template makes of the Secret.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The Secret's data.
    pub data: BTreeMap<String, Vec<u8>>,
    /// Its labels (the template's, rendered, and `templateFrom`'s).
    pub labels: BTreeMap<String, String>,
    /// Its annotations, made as the labels are.
    pub annotations: BTreeMap<String, String>,
}

/// The ConfigMaps and Secrets `template` reads templates from.
#[must_use]
pub fn source_names(template: &TargetTemplate) -> (Vec<String>, Vec<String>) {
    let mut config_maps = Vec::new();
    let mut secrets = Vec::new();
    for from in &template.template_from {
        if let Some(r) = &from.config_map {
            config_maps.push(r.name.clone());
        }
        if let Some(r) = &from.secret {
            secrets.push(r.name.clone());
        }
    }
    config_maps.sort();
    config_maps.dedup();
    secrets.sort();
    secrets.dedup();
    (config_maps, secrets)
}

/// The engine's settings for every template of a sync.
pub struct Engine<'a> {
    /// The functions templates may call.
    pub funcs: &'a Registry,
    /// Action delimiters.
    pub delims: &'a Delims,
    /// Bounds on each template's work.
    pub limits: &'a Limits,
}

/// Where a rendered value goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Data,
    Labels,
    Annotations,
}

/// Checks `template` as ESO's `ValidateSecretTemplate` does, before
/// anything is read or rendered.
///
/// # Errors
///
/// [`RenderError::EngineV1`], [`RenderError::TargetNotAllowed`],
/// [`RenderError::Privileged`].
pub fn validate(template: &TargetTemplate) -> Result<(), RenderError> {
    if template.engine_version == Some(EngineVersion::V1) {
        return Err(RenderError::EngineV1);
    }
    let annotations_target = |f: &TemplateFrom| {
        f.target
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("Annotations"))
    };
    match template.type_.as_deref() {
        Some("kubernetes.io/service-account-token") => {
            let annotated = template.metadata.as_ref().is_some_and(|m| {
                m.annotations
                    .contains_key("kubernetes.io/service-account.name")
            });
            if annotated {
                return Err(RenderError::Privileged(
                    "template.type=\"kubernetes.io/service-account-token\" with annotation \"kubernetes.io/service-account.name\" is not allowed".into(),
                ));
            }
            if template.template_from.iter().any(annotations_target) {
                return Err(RenderError::Privileged(
                    "template.type=\"kubernetes.io/service-account-token\" with templateFrom target=\"Annotations\" is not allowed".into(),
                ));
            }
        }
        Some("bootstrap.kubernetes.io/token") => {
            return Err(RenderError::Privileged(
                "template.type=\"bootstrap.kubernetes.io/token\" is not allowed".into(),
            ));
        }
        _ => {}
    }
    for from in &template.template_from {
        place_of(from)?;
    }
    Ok(())
}

fn place_of(from: &TemplateFrom) -> Result<Place, RenderError> {
    match from.target.as_deref() {
        None | Some("") => Ok(Place::Data),
        Some(t) if t.eq_ignore_ascii_case("Data") => Ok(Place::Data),
        Some(t) if t.eq_ignore_ascii_case("Labels") => Ok(Place::Labels),
        Some(t) if t.eq_ignore_ascii_case("Annotations") => Ok(Place::Annotations),
        Some(other) => Err(RenderError::TargetNotAllowed(other.to_owned())),
    }
}

/// The stack a template renders on. A template can nest values as deep
/// as its step limit lets it (a loop of `list $l`), and dropping or
/// printing them recurses; the threads of an async runtime have 2 MiB.
/// Only the pages used are committed.
const RENDER_STACK: usize = 512 << 20;

/// Runs `work` on a thread with [`RENDER_STACK`] bytes of stack.
///
/// # Errors
///
/// The thread could not be started, or `work` panicked.
pub fn on_render_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T, String> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("template".into())
            .stack_size(RENDER_STACK)
            .spawn_scoped(scope, work)
            .map_err(|e| format!("starting its thread: {e}"))?
            .join()
            .map_err(|_| "it stopped unexpectedly".to_owned())
    })
}

/// Applies `template` to the values read (`fetched`), on a thread of its
/// own ([`on_render_stack`]).
///
/// # Errors
///
/// Any [`RenderError`]; nothing is returned half-built.
pub fn render(
    template: &TargetTemplate,
    fetched: &BTreeMap<String, Vec<u8>>,
    sources: &Sources,
    engine: &Engine<'_>,
    env: &mut Env<'_>,
) -> Result<Rendered, RenderError> {
    on_render_stack(|| render_here(template, fetched, sources, engine, env))
        .map_err(RenderError::Renderer)?
}

fn render_here(
    template: &TargetTemplate,
    fetched: &BTreeMap<String, Vec<u8>>,
    sources: &Sources,
    engine: &Engine<'_>,
    env: &mut Env<'_>,
) -> Result<Rendered, RenderError> {
    validate(template)?;
    let mut out = Rendered::default();
    let no_templates = template.data.is_empty() && template.template_from.is_empty();
    if template.merge_policy == Some(MergePolicy::Merge) || no_templates {
        out.data = fetched.clone();
    }
    // The templates' `.`: ESO hands them a map[string]string.
    let data = Value::map(
        fetched
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v.as_slice())))
            .collect(),
    );
    let mut r = Renderer {
        engine,
        env,
        data: &data,
        out: &mut out,
    };
    for from in &template.template_from {
        let place = place_of(from)?;
        let decoding = from.values_decoding_strategy.unwrap_or_default();
        if let Some(cm) = &from.config_map {
            let Some(values) = sources.config_maps.get(&cm.name) else {
                return Err(RenderError::SourceMissing {
                    kind: "configmaps",
                    name: cm.name.clone(),
                });
            };
            for item in &cm.items {
                let Some(text) = values.get(&item.key) else {
                    return Err(RenderError::ConfigMapKeyMissing {
                        name: cm.name.clone(),
                        key: item.key.clone(),
                    });
                };
                r.scoped(item.template_as, &item.key, text, place, decoding)?;
            }
        }
        if let Some(sec) = &from.secret {
            let Some(values) = sources.secrets.get(&sec.name) else {
                return Err(RenderError::SourceMissing {
                    kind: "secrets",
                    name: sec.name.clone(),
                });
            };
            for item in &sec.items {
                let Some(text) = values.get(&item.key) else {
                    return Err(RenderError::SecretKeyMissing {
                        name: sec.name.clone(),
                        key: item.key.clone(),
                    });
                };
                let text = String::from_utf8_lossy(text);
                r.scoped(item.template_as, &item.key, &text, place, decoding)?;
            }
        }
        if let Some(literal) = &from.literal {
            r.keys_and_values(literal, place, decoding)?;
        }
    }
    for (key, text) in &template.data {
        r.value(key, text, Place::Data, DecodingStrategy::None)?;
    }
    if let Some(metadata) = &template.metadata {
        for (key, text) in &metadata.labels {
            r.value(key, text, Place::Labels, DecodingStrategy::None)?;
        }
        for (key, text) in &metadata.annotations {
            r.value(key, text, Place::Annotations, DecodingStrategy::None)?;
        }
    }
    Ok(out)
}

struct Renderer<'r, 'a, 'e> {
    engine: &'r Engine<'a>,
    env: &'r mut Env<'e>,
    data: &'r Value,
    out: &'r mut Rendered,
}

impl Renderer<'_, '_, '_> {
    fn execute(&mut self, name: &str, text: &str, key: &str) -> Result<Vec<u8>, RenderError> {
        let template = Template::parse(name, text, self.engine.delims, self.engine.funcs).map_err(
            |source| RenderError::TemplateParse {
                key: key.to_owned(),
                source,
            },
        )?;
        template
            .execute(self.data, self.engine.funcs, self.env, self.engine.limits)
            .map_err(|source| RenderError::Template {
                key: key.to_owned(),
                source,
            })
    }

    fn scoped(
        &mut self,
        scope: TemplateScope,
        key: &str,
        text: &str,
        place: Place,
        decoding: DecodingStrategy,
    ) -> Result<(), RenderError> {
        match scope {
            TemplateScope::Values => self.value(key, text, place, decoding),
            TemplateScope::KeysAndValues => self.keys_and_values(text, place, decoding),
        }
    }

    /// One template for one key.
    fn value(
        &mut self,
        key: &str,
        text: &str,
        place: Place,
        decoding: DecodingStrategy,
    ) -> Result<(), RenderError> {
        let rendered = self.execute(key, text, key)?;
        let value = decode(decoding, rendered, key).map_err(|source| RenderError::Decode {
            key: key.to_owned(),
            source,
        })?;
        self.put(key.to_owned(), value, place);
        Ok(())
    }

    /// One template rendering YAML of keys and values (ESO names the
    /// template after its own text).
    fn keys_and_values(
        &mut self,
        text: &str,
        place: Place,
        decoding: DecodingStrategy,
    ) -> Result<(), RenderError> {
        let label = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .to_owned();
        let rendered = self.execute(text, text, &label)?;
        let pairs = string_map(&rendered).map_err(|reason| RenderError::NotKeysAndValues {
            key: label.clone(),
            reason,
        })?;
        for (key, value) in pairs {
            let value = decode(decoding, value.into_bytes(), &key).map_err(|source| {
                RenderError::Decode {
                    key: key.clone(),
                    source,
                }
            })?;
            self.put(key, value, place);
        }
        Ok(())
    }

    fn put(&mut self, key: String, value: Vec<u8>, place: Place) {
        match place {
            Place::Data => {
                self.out.data.insert(key, value);
            }
            Place::Labels => {
                self.out
                    .labels
                    .insert(key, String::from_utf8_lossy(&value).into_owned());
            }
            Place::Annotations => {
                self.out
                    .annotations
                    .insert(key, String::from_utf8_lossy(&value).into_owned());
            }
        }
    }
}

/// YAML of string keys and string values, as ESO reads it (YAML to JSON,
/// then into a Go `map[string]string`: a null value is `""`, a number or
/// boolean is refused, an empty document is no keys).
fn string_map(yaml: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let doc: yaml_serde::Value =
        yaml_serde::from_slice(yaml).map_err(|e| format!("not YAML: {e}"))?;
    let mapping = match doc {
        yaml_serde::Value::Null => return Ok(BTreeMap::new()),
        yaml_serde::Value::Mapping(m) => m,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type map[string]string",
                json_kind(&other)
            ));
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in mapping {
        let key = match k {
            yaml_serde::Value::String(s) => s,
            yaml_serde::Value::Number(n) => n.to_string(),
            yaml_serde::Value::Bool(b) => b.to_string(),
            other => {
                return Err(format!("a key is a {}, not a string", json_kind(&other)));
            }
        };
        let value = match v {
            yaml_serde::Value::String(s) => s,
            yaml_serde::Value::Null => String::new(),
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go value of type string (key {key})",
                    json_kind(&other)
                ));
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}

fn json_kind(v: &yaml_serde::Value) -> &'static str {
    match v {
        yaml_serde::Value::Null => "null",
        yaml_serde::Value::Bool(_) => "bool",
        yaml_serde::Value::Number(_) => "number",
        yaml_serde::Value::String(_) => "string",
        yaml_serde::Value::Sequence(_) => "array",
        _ => "object",
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
