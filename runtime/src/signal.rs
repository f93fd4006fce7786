//! Shutdown on SIGTERM or SIGINT, as one cancellation token every part of
//! the process watches.

use tokio_util::sync::CancellationToken;

/// A token cancelled at the first SIGTERM or SIGINT (or when the process
/// cancels it itself). Needs a running Tokio runtime.
#[must_use]
pub fn shutdown_token() -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(cancel_on_signal(stop.clone()));
    stop
}

async fn cancel_on_signal(stop: CancellationToken) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        () = stop.cancelled() => return,
    }
    stop.cancel();
}
