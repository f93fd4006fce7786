//! Logging: JSON lines, one event a line, filtered by `--log-level`.
//! Every binary logs the same way, so one log pipeline reads them all.

use crate::Error;

/// The stream logs go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Standard output (`webhook serve`, as the reference webhook's
    /// deployments collect it).
    Stdout,
    /// Standard error (the CSI provider and secret-sync).
    Stderr,
}

/// The levels a bare `--log-level` may name.
const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks `level` and turns it into a filter.
///
/// A bare word is a target name to `tracing`, so a misspelt level would
/// silently log nothing: only levels or full directives are accepted.
///
/// # Errors
///
/// [`Error::LogLevel`] naming the value and what would do.
pub fn filter(level: &str) -> Result<tracing_subscriber::EnvFilter, Error> {
    let refused = |reason: String| Error::LogLevel {
        value: level.to_owned(),
        reason,
    };
    if !level.contains(['=', ',']) && !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
        return Err(refused(
            "expected a level (error, warn, info, debug, trace, off) or directives such as \
             info,webhook=debug"
                .to_owned(),
        ));
    }
    tracing_subscriber::EnvFilter::try_new(level).map_err(|e| refused(e.to_string()))
}

/// Installs the process's logger: JSON, with the current span's fields,
/// at `level`, on `output`. Call once, first thing in `main`.
///
/// # Errors
///
/// As [`filter`].
pub fn init(level: &str, output: Output) -> Result<(), Error> {
    let builder = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(level)?)
        .with_current_span(true)
        .with_span_list(false);
    match output {
        Output::Stdout => builder.init(),
        Output::Stderr => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_pass_and_a_misspelt_level_is_named() {
        for good in [
            "info",
            "DEBUG",
            "off",
            "info,secret_sync=debug",
            "kube=warn",
        ] {
            assert!(filter(good).is_ok(), "{good}");
        }
        let error = filter("verbose").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("--log-level \"verbose\": expected a level"),
            "{error}"
        );
    }
}
