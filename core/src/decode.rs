//! Decoding errors that name the field at fault.

/// Renders a decoding error with the path of the field at fault, such as
/// `spec.containers[0].env[1].name: invalid type: integer `5`, expected a string`,
/// so a user knows which line of the manifest to fix.
///
/// The same whether the JSON was decoded from text or from a value: the
/// line and column of the text are left out, since the text is what the API
/// server re-encoded, not what the user wrote, and the path names the field.
#[must_use]
pub fn describe_decode_error(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.inner().to_string();
    let position = format!(
        " at line {} column {}",
        e.inner().line(),
        e.inner().column()
    );
    let inner = match e.inner().line() {
        0 => inner.as_str(),
        _ => inner.strip_suffix(&position).unwrap_or(&inner),
    };
    let path = e.path().to_string();
    if path == "." {
        inner.to_owned()
    } else {
        format!("{path}: {inner}")
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[allow(dead_code)]
        inner: Vec<u8>,
    }

    #[test]
    fn names_the_path_or_only_the_error_at_the_root() {
        let e =
            serde_path_to_error::deserialize::<_, Outer>(json!({"inner": [1, "x"]})).unwrap_err();
        assert_eq!(
            describe_decode_error(&e),
            "inner[1]: invalid type: string \"x\", expected u8"
        );
        let e = serde_path_to_error::deserialize::<_, Outer>(json!(5)).unwrap_err();
        assert_eq!(
            describe_decode_error(&e),
            "invalid type: integer `5`, expected struct Outer"
        );
    }

    #[test]
    fn decoding_text_gives_the_same_message_as_decoding_a_value() {
        let text = r#"{"inner": [1, "x"]}"#;
        let e = serde_path_to_error::deserialize::<_, Outer>(
            &mut serde_json::Deserializer::from_str(text),
        )
        .unwrap_err();
        assert_eq!(
            describe_decode_error(&e),
            "inner[1]: invalid type: string \"x\", expected u8"
        );
    }
}
