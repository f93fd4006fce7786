//! [`SharedReads`]: the Key Vault transport that lets the mounts of one
//! identity share a read within the window, as [`crate::share`] decides.
//!
//! It sits where `azure-wi-auth`'s Key Vault client hands a request to
//! the network ([`WorkloadVaults::with_key_vault_transport`]), after the
//! pod's own token exchange: the request carries the access token that
//! exchange got, whose identity keys the share. One read runs per key at
//! a time (single flight); the callers arriving meanwhile, or within the
//! window after it was sent, take its answer. A `200` answer is held until
//! the window ends and then dropped, its body zeroized; any other answer
//! is dropped as soon as the callers that waited for it have it.
//!
//! [`WorkloadVaults::with_key_vault_transport`]: azure_wi_auth::WorkloadVaults::with_key_vault_transport

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError, Weak},
};

use azure_wi_auth::transport::{HttpRequest, HttpResponse, Transport};
use futures::future::BoxFuture;
use tokio::{sync::OnceCell, time::Instant};
use zeroize::Zeroizing;

use crate::share::{ShareKey, ShareWindow, keep, share_in_flight};

/// A [`Transport`] sharing the Key Vault reads of one identity within a
/// [`ShareWindow`], sending everything else, and every read when the
/// window is off, through `inner`.
pub struct SharedReads<T> {
    inner: T,
    window: ShareWindow,
    reads: Arc<Mutex<HashMap<ShareKey, Arc<Read>>>>,
}

/// One read and, once answered, its answer.
struct Read {
    started: Instant,
    answer: OnceCell<Answer>,
}

/// An answer as callers get it; the body may hold a secret value, so it is
/// zeroized when the last holder drops it.
struct Answer {
    result: Result<Held, String>,
}

struct Held {
    status: u16,
    headers: Vec<(String, String)>,
    body: Zeroizing<Vec<u8>>,
}

impl Answer {
    fn new(result: Result<HttpResponse, String>) -> Self {
        Self {
            result: result.map(|response| Held {
                status: response.status,
                headers: response.headers,
                body: Zeroizing::new(response.body),
            }),
        }
    }

    /// A copy for one caller.
    fn response(&self) -> Result<HttpResponse, String> {
        match &self.result {
            Ok(held) => Ok(HttpResponse {
                status: held.status,
                headers: held.headers.clone(),
                body: held.body.to_vec(),
            }),
            Err(reason) => Err(reason.clone()),
        }
    }

    /// The decision functions' view: status and headers, no body.
    fn outline(&self) -> Result<HttpResponse, String> {
        match &self.result {
            Ok(held) => Ok(HttpResponse {
                status: held.status,
                headers: Vec::new(),
                body: Vec::new(),
            }),
            Err(reason) => Err(reason.clone()),
        }
    }
}

impl<T> fmt::Debug for SharedReads<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The reads hold answers: only how many.
        f.debug_struct("SharedReads")
            .field("window", &self.window)
            .field("reads", &lock(&self.reads).len())
            .finish_non_exhaustive()
    }
}

impl<T: Transport> SharedReads<T> {
    /// Sends through `inner`, sharing reads within `window`.
    pub fn new(inner: T, window: ShareWindow) -> Self {
        Self {
            inner,
            window,
            reads: Arc::default(),
        }
    }

    /// Reads held or in flight now.
    #[must_use]
    pub fn held(&self) -> usize {
        lock(&self.reads).len()
    }

    /// The read `key` joins at `now`: one that still serves, or a new one
    /// (whose end is then scheduled).
    fn join(&self, key: &ShareKey, now: Instant) -> Arc<Read> {
        let mut reads = lock(&self.reads);
        if let Some(read) = reads.get(key) {
            let failed = read.answer.get().is_some_and(|a| !keep(&a.outline()));
            if !failed && self.window.serves(read.started, now) {
                return Arc::clone(read);
            }
        }
        let read = Arc::new(Read {
            started: now,
            answer: OnceCell::new(),
        });
        reads.insert(key.clone(), Arc::clone(&read));
        drop(reads);
        self.end_at(key.clone(), &read);
        read
    }

    /// Drops `read` from the map when its window ends, unless a newer
    /// read took its place; its answer goes with the last caller holding
    /// it.
    fn end_at(&self, key: ShareKey, read: &Arc<Read>) {
        let (reads, read_ref) = (Arc::downgrade(&self.reads), Arc::downgrade(read));
        let expiry = self.window.expiry(read.started);
        tokio::spawn(async move {
            tokio::time::sleep_until(expiry).await;
            forget(&reads, &key, &read_ref);
        });
    }

    async fn shared(&self, key: ShareKey, request: HttpRequest) -> Result<HttpResponse, String> {
        let read = self.join(&key, Instant::now());
        let mut own = Some(request);
        let mut sent = false;
        let answer = read
            .answer
            .get_or_init(|| {
                sent = true;
                let request = own.take().expect("the request is taken once");
                async move { Answer::new(self.inner.send(request).await) }
            })
            .await;
        let outline = answer.outline();
        if sent {
            if !keep(&outline) {
                forget(&Arc::downgrade(&self.reads), &key, &Arc::downgrade(&read));
            }
            return answer.response();
        }
        match own {
            Some(request) if !share_in_flight(&outline) => self.inner.send(request).await,
            _ => answer.response(),
        }
    }
}

/// Removes `read` from `reads` under `key` if it is still the one there.
fn forget(reads: &Weak<Mutex<HashMap<ShareKey, Arc<Read>>>>, key: &ShareKey, read: &Weak<Read>) {
    let Some(reads) = reads.upgrade() else {
        return;
    };
    let mut reads = lock(&reads);
    if reads
        .get(key)
        .is_some_and(|held| std::ptr::eq(Arc::as_ptr(held), read.as_ptr()))
    {
        reads.remove(key);
    }
}

impl<T: Transport> Transport for SharedReads<T> {
    fn send(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, String>> {
        let key = self
            .window
            .is_on()
            .then(|| ShareKey::of(&request))
            .flatten();
        match key {
            Some(key) => Box::pin(self.shared(key, request)),
            None => self.inner.send(request),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
#[path = "shared_reads_tests.rs"]
mod tests;
