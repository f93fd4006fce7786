//! Reading manifests from files or stdin, as JSON or YAML.

use std::io::Read as _;

use serde::Deserialize as _;
use serde_json::Value;

/// Why an input file could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid JSON: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is not valid YAML: {source}")]
    Yaml {
        path: String,
        #[source]
        source: yaml_serde::Error,
    },
    #[error("{path} holds no document")]
    Empty { path: String },
    #[error("{path} holds {count} documents, expected exactly one")]
    NotOne { path: String, count: usize },
}

/// Why a ServiceAccount file could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ServiceAccountFileError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{path}: document {index}: {source}")]
    Invalid {
        path: String,
        index: usize,
        #[source]
        source: azure_wi_core::Error,
    },
}

/// Reads one ServiceAccount or a list of them; those without a namespace
/// are placed in `default_namespace`.
pub(crate) fn service_accounts(
    path: &str,
    default_namespace: &str,
) -> Result<Vec<azure_wi_core::ServiceAccountInfo>, ServiceAccountFileError> {
    items(documents(path)?)
        .iter()
        .enumerate()
        .map(|(index, doc)| {
            azure_wi_core::ServiceAccountInfo::from_value(doc, default_namespace).map_err(
                |source| ServiceAccountFileError::Invalid {
                    path: display(path),
                    index: index + 1,
                    source,
                },
            )
        })
        .collect()
}

/// Reads every document in `path` (`-` for stdin). JSON is recognised by its
/// first character; anything else is read as YAML, `---`-separated documents
/// included.
pub(crate) fn documents(path: &str) -> Result<Vec<Value>, InputError> {
    let text = read(path)?;
    let trimmed = text.trim_start();
    let docs = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let doc: Value = serde_json::from_str(trimmed).map_err(|source| InputError::Json {
            path: display(path),
            source,
        })?;
        vec![doc]
    } else {
        let mut docs = Vec::new();
        for de in yaml_serde::Deserializer::from_str(&text) {
            let doc = Value::deserialize(de).map_err(|source| InputError::Yaml {
                path: display(path),
                source,
            })?;
            if !doc.is_null() {
                docs.push(doc);
            }
        }
        docs
    };
    if docs.is_empty() {
        return Err(InputError::Empty {
            path: display(path),
        });
    }
    Ok(docs)
}

/// Reads exactly one document.
pub(crate) fn document(path: &str) -> Result<Value, InputError> {
    let mut docs = documents(path)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        count => Err(InputError::NotOne {
            path: display(path),
            count,
        }),
    }
}

/// Flattens lists: a JSON array, or a `kind: List`/`*List` object with
/// `items`, becomes its elements.
pub(crate) fn items(docs: Vec<Value>) -> Vec<Value> {
    docs.into_iter()
        .flat_map(|doc| match doc {
            Value::Array(items) => items,
            Value::Object(mut map)
                if map
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                match map.remove("items") {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                }
            }
            other => vec![other],
        })
        .collect()
}

fn read(path: &str) -> Result<String, InputError> {
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|source| InputError::Read {
        path: display(path),
        source,
    })?;
    Ok(text)
}

/// How `path` is named in messages: stdin has no file name.
pub(crate) fn display(path: &str) -> String {
    if path == "-" {
        "standard input".to_owned()
    } else {
        path.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_are_flattened() {
        let docs = vec![
            json!([{"a": 1}, {"a": 2}]),
            json!({"kind": "List", "items": [{"a": 3}]}),
            json!({"kind": "ServiceAccountList", "items": [{"a": 4}]}),
            json!({"a": 5}),
        ];
        let a: Vec<i64> = items(docs)
            .iter()
            .map(|d| d["a"].as_i64().unwrap())
            .collect();
        assert_eq!(a, [1, 2, 3, 4, 5]);
    }
}
