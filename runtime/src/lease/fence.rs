//! [`FenceLayer`]: a `kube::Client` whose writes go out only while its
//! replica leads. Controllers notice a lost term when they are cancelled;
//! a reconcile already running, or resumed after the process was stopped,
//! may not have noticed yet. The fence refuses its writes at the moment
//! they would be sent, by the clock, so nothing is written outside a term.

use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt as _, TryFutureExt as _};
use http::{Method, Request};
use tower::{Layer, Service};

use super::Leadership;
use crate::Error;

/// Wraps a client's service so that every request but a read (`GET`,
/// `HEAD`, `OPTIONS`) fails with [`Error::NotLeading`] outside a term.
#[derive(Debug, Clone)]
pub struct FenceLayer {
    leadership: Leadership,
}

impl FenceLayer {
    /// Fencing on `leadership`.
    #[must_use]
    pub fn new(leadership: Leadership) -> Self {
        Self { leadership }
    }
}

impl<S> Layer<S> for FenceLayer {
    type Service = Fenced<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Fenced {
            inner,
            leadership: self.leadership.clone(),
        }
    }
}

/// The service [`FenceLayer`] makes.
#[derive(Debug, Clone)]
pub struct Fenced<S> {
    inner: S,
    leadership: Leadership,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<S, B> Service<Request<B>> for Fenced<S>
where
    S: Service<Request<B>>,
    S::Response: Send + 'static,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let reads = [Method::GET, Method::HEAD, Method::OPTIONS];
        if !reads.contains(request.method()) && !self.leadership.is_leading_now() {
            let refused: BoxError = Box::new(Error::NotLeading {
                method: request.method().to_string(),
                path: request.uri().path().to_owned(),
            });
            return futures::future::ready(Err(refused)).boxed();
        }
        self.inner.call(request).map_err(Into::into).boxed()
    }
}
