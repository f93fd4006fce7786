//! `azure-wi-proxy --probe`, what the injected `postStart` hook runs: asks
//! the proxy's `/readyz` up to seven times, a second apart (the
//! reference's count and pause), and succeeds at the first `200`. Unlike
//! the reference, a refused connection is tried again too: `postStart`
//! runs as the container starts, often before the proxy listens.

use std::time::Duration;

/// How many times the proxy is asked.
pub const TRIES: u32 = 7;
/// The pause between two tries.
pub const PAUSE: Duration = Duration::from_secs(1);

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
#[error("the proxy on port {port} did not answer /readyz with 200 in {TRIES} tries: {last}")]
pub struct ProbeError {
    /// The port asked.
    pub port: u16,
    /// The last answer or error.
    pub last: String,
}

/// Probes `http://localhost:<port>/readyz`.
///
/// # Errors
///
/// [`ProbeError`] after [`TRIES`] tries without a `200`.
pub async fn probe(port: u16) -> Result<(), ProbeError> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| ProbeError {
            port,
            last: e.to_string(),
        })?;
    let url = format!("http://127.0.0.1:{port}{}", crate::imds::READYZ_PATH);
    let mut last = String::new();
    for attempt in 1..=TRIES {
        match client.get(&url).send().await {
            Ok(answer) if answer.status() == reqwest::StatusCode::OK => return Ok(()),
            Ok(answer) => last = format!("HTTP {}", answer.status()),
            Err(error) => last = error.to_string(),
        }
        if attempt < TRIES {
            tokio::time::sleep(PAUSE).await;
        }
    }
    Err(ProbeError { port, last })
}
