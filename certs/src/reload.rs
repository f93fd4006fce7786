//! Serving a certificate that can be replaced on disk while the server runs.
//!
//! The webhook mounts a `kubernetes.io/tls` Secret as a directory holding
//! `tls.crt` and `tls.key`. When the Secret changes (cert-manager renewal, a
//! rotation by hand), the kubelet does not rewrite those files: it writes a
//! new timestamped directory, points a temporary `..data_tmp` symlink at it
//! and renames that over `..data`, and `tls.crt`/`tls.key` are symlinks
//! through `..data`. [`ReloadingCertResolver`] rereads both paths (following
//! the symlinks), so it sees such a swap as well as a plain rewrite.
//!
//! # Why polling
//!
//! A watch on `tls.crt` itself never fires on a `..data` swap (the watched
//! inode is untouched), inotify does not work on every filesystem a Secret
//! may be projected onto, and a watch can be lost silently. Reading two small
//! files every few seconds costs nothing and has none of these failure
//! modes; see [`ReloadingCertResolver::spawn_watch`].
//!
//! # Starting before the files exist
//!
//! A Secret or cert-manager Certificate is often created together with the
//! Deployment that mounts it, so the files may appear after the server
//! starts. [`ReloadingCertResolver::waiting`] makes a resolver that serves
//! nothing (handshakes fail, as they should on an unready replica) until a
//! reload finds a usable pair; the watch retries such a resolver every
//! [`WAITING_RETRY_INTERVAL`] at most, and tells its caller when the first
//! pair is in service.
//!
//! # Safety of the swap
//!
//! A new pair is only served after both files parse and the key matches the
//! certificate; until then the previous pair stays in use. The current pair
//! sits behind an [`ArcSwap`]: a handshake takes a reference and keeps it, so
//! connections already established or mid-handshake are never affected by a
//! swap, and only handshakes started afterwards see the new certificate.
//! (A client that resumes an earlier TLS session skips the certificate
//! exchange altogether and keeps the identity it verified then; that is
//! ordinary TLS behaviour and harmless while the CA is unchanged.)

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::{Error, Result, pem};

#[cfg(test)]
mod tests;

/// File name of the certificate (chain) in a `kubernetes.io/tls` Secret.
pub const CERT_FILE: &str = "tls.crt";
/// File name of the private key in a `kubernetes.io/tls` Secret.
pub const KEY_FILE: &str = "tls.key";
/// The shortest polling interval [`ReloadingCertResolver::spawn_watch`] uses;
/// shorter requests are raised to it so a misconfiguration cannot spin.
pub const MIN_WATCH_INTERVAL: Duration = Duration::from_millis(100);
/// How often [`ReloadingCertResolver::spawn_watch`] retries while no pair
/// is served yet (when its interval is longer): a replica waiting for its
/// first certificate should become ready soon after the files appear.
pub const WAITING_RETRY_INTERVAL: Duration = Duration::from_secs(1);

/// What a call to [`ReloadingCertResolver::reload`] did.
///
/// Deliberately exhaustive: callers match on it to update an expiry metric,
/// and a new outcome should make them revisit that match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// Both files hold the same bytes as the pair being served; nothing was
    /// parsed or swapped.
    Unchanged,
    /// A new, complete and matching pair is now served to new connections
    /// (for a [waiting](ReloadingCertResolver::waiting) resolver, the first).
    Reloaded {
        /// When the new leaf certificate expires.
        not_after: SystemTime,
    },
}

/// The pair being served, with the file bytes it came from so that an
/// unchanged pair is recognised without parsing.
struct Loaded {
    certified: Arc<CertifiedKey>,
    not_after: SystemTime,
    cert_bytes: Vec<u8>,
    key_bytes: Vec<u8>,
}

/// A rustls certificate resolver backed by `tls.crt` and `tls.key` in a
/// directory, which can be told to reread them.
///
/// Give it to `ServerConfig::with_cert_resolver` and call
/// [`spawn_watch`](Self::spawn_watch) (or [`reload`](Self::reload) yourself)
/// to pick up renewed certificates without restarting the server.
pub struct ReloadingCertResolver {
    dir: PathBuf,
    /// `None` only before a [waiting](Self::waiting) resolver's first
    /// successful reload; once a pair is served, there always is one.
    current: ArcSwapOption<Loaded>,
    /// Serialises reloads so two concurrent callers cannot store their
    /// results out of order.
    reloading: Mutex<()>,
}

impl ReloadingCertResolver {
    /// Read `dir/tls.crt` and `dir/tls.key` and serve them.
    ///
    /// The certificate file may hold a chain (leaf first); the key may be
    /// PKCS#8, SEC1 or PKCS#1 PEM.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if a file cannot be read, a parse error naming the file,
    /// or [`Error::KeyMismatch`] if the key does not belong to the
    /// certificate. A server should not start without a usable pair.
    pub fn load(dir: &Path) -> Result<Self> {
        let (cert_bytes, key_bytes) = read_pair(dir)?;
        let loaded = parse_pair(dir, cert_bytes, key_bytes)?;
        Ok(Self {
            dir: dir.to_owned(),
            current: ArcSwapOption::from_pointee(loaded),
            reloading: Mutex::new(()),
        })
    }

    /// A resolver for `dir/tls.crt` and `dir/tls.key` that serves nothing
    /// until a [`reload`](Self::reload) finds a usable pair there.
    ///
    /// For a server that should start, unready, before its certificate
    /// exists rather than crash: until then every handshake fails and
    /// [`not_after`](Self::not_after) is `None`. Reads nothing itself.
    #[must_use]
    pub fn waiting(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            current: ArcSwapOption::empty(),
            reloading: Mutex::new(()),
        }
    }

    /// Reread both files and serve them if they changed and form a valid
    /// pair.
    ///
    /// On any error the pair served so far stays in place, so a transient
    /// state such as a certificate written before its key is never served;
    /// the next successful call picks up the completed pair.
    ///
    /// # Errors
    ///
    /// As for [`load`](Self::load).
    pub fn reload(&self) -> Result<ReloadOutcome> {
        // The guarded data is `()`, so a poisoned lock carries no broken state.
        let _serial = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (cert_bytes, key_bytes) = read_pair(&self.dir)?;
        if let Some(current) = self.current.load().as_deref()
            && current.cert_bytes == cert_bytes
            && current.key_bytes == key_bytes
        {
            return Ok(ReloadOutcome::Unchanged);
        }
        let loaded = parse_pair(&self.dir, cert_bytes, key_bytes)?;
        let not_after = loaded.not_after;
        self.current.store(Some(Arc::new(loaded)));
        Ok(ReloadOutcome::Reloaded { not_after })
    }

    /// When the certificate being served expires, for an expiry metric or a
    /// renewal check; `None` while a [waiting](Self::waiting) resolver has
    /// no pair yet.
    #[must_use]
    pub fn not_after(&self) -> Option<SystemTime> {
        self.current
            .load()
            .as_deref()
            .map(|loaded| loaded.not_after)
    }

    /// The certificate chain and key that a handshake starting now would get
    /// (`None`: the handshake fails). Exposed for health checks and tests
    /// that want to see what is served.
    #[must_use]
    pub fn certified_key(&self) -> Option<Arc<CertifiedKey>> {
        self.current
            .load()
            .as_deref()
            .map(|loaded| Arc::clone(&loaded.certified))
    }

    /// The directory the pair is read from.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Start a task on the current tokio runtime that calls
    /// [`reload`](Self::reload) every `interval` (at least
    /// [`MIN_WATCH_INTERVAL`]; at most [`WAITING_RETRY_INTERVAL`] while no
    /// pair is served yet) and logs the result.
    ///
    /// `on_new_pair` is called on the task with the new expiry each time the
    /// watch puts a pair in service, the first pair of a
    /// [waiting](Self::waiting) resolver included: that is where a server
    /// marks itself ready and updates an expiry metric. It runs on the async
    /// task, so it must not block.
    ///
    /// Polling is used instead of inotify on purpose: it sees the kubelet's
    /// `..data` symlink swap, works on every filesystem, and cannot lose a
    /// watch. A failed reload is logged as a warning once per distinct error
    /// (repeats at debug level) and retried at the next tick. The files are
    /// read on tokio's blocking pool so a slow volume cannot stall request
    /// handling. Abort the returned handle to stop watching.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime, like `tokio::spawn`.
    pub fn spawn_watch<F>(
        self: Arc<Self>,
        interval: Duration,
        mut on_new_pair: F,
    ) -> tokio::task::JoinHandle<()>
    where
        F: FnMut(SystemTime) + Send + 'static,
    {
        let interval = interval.max(MIN_WATCH_INTERVAL);
        let pause = move |serving: bool| {
            if serving {
                interval
            } else {
                interval.min(WAITING_RETRY_INTERVAL)
            }
        };
        tokio::spawn(async move {
            // A loaded pair was just read; a waiting resolver tries at once.
            if self.not_after().is_some() {
                tokio::time::sleep(interval).await;
            }
            let mut last_error: Option<String> = None;
            loop {
                let was_serving = self.not_after().is_some();
                let resolver = Arc::clone(&self);
                let outcome = tokio::task::spawn_blocking(move || resolver.reload()).await;
                let dir = self.dir.display();
                match outcome {
                    // Back to (or still at) the pair being served: a later
                    // failure is news again.
                    Ok(Ok(ReloadOutcome::Unchanged)) => last_error = None,
                    Ok(Ok(ReloadOutcome::Reloaded { not_after })) => {
                        last_error = None;
                        let expires_in_days =
                            crate::clock::days_until(SystemTime::now(), not_after);
                        if was_serving {
                            tracing::info!(%dir, expires_in_days, "reloaded TLS certificate");
                        } else {
                            tracing::info!(%dir, expires_in_days, "loaded TLS certificate");
                        }
                        on_new_pair(not_after);
                    }
                    Ok(Err(err)) => {
                        let message = err.to_string();
                        let what = if was_serving {
                            "TLS certificate reload failed; serving the previous certificate"
                        } else {
                            "TLS certificate not usable yet; handshakes fail until it is"
                        };
                        if last_error.as_deref() == Some(message.as_str()) {
                            tracing::debug!(%dir, error = %message, "{what}");
                        } else {
                            tracing::warn!(%dir, error = %message, "{what}");
                            last_error = Some(message);
                        }
                    }
                    Err(join) => {
                        tracing::error!(%dir, error = %join, "TLS certificate reload task panicked");
                    }
                }
                tokio::time::sleep(pause(self.not_after().is_some())).await;
            }
        })
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.certified_key()
    }
}

impl fmt::Debug for ReloadingCertResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCertResolver")
            .field("dir", &self.dir)
            .field("not_after", &self.not_after())
            .finish_non_exhaustive()
    }
}

/// The raw bytes of `dir/tls.crt` and `dir/tls.key`, symlinks followed.
fn read_pair(dir: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| Error::Io { path, source })
    };
    Ok((read(CERT_FILE)?, read(KEY_FILE)?))
}

/// Parse and cross-check a pair read from `dir`.
fn parse_pair(dir: &Path, cert_bytes: Vec<u8>, key_bytes: Vec<u8>) -> Result<Loaded> {
    let cert_origin = dir.join(CERT_FILE).display().to_string();
    let key_origin = dir.join(KEY_FILE).display().to_string();
    let (chain, key, not_after) =
        pem::matched_pair(&cert_bytes, &key_bytes, &cert_origin, &key_origin)?;
    Ok(Loaded {
        certified: Arc::new(CertifiedKey::new(chain, key)),
        not_after,
        cert_bytes,
        key_bytes,
    })
}
