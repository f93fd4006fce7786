//! Where "now" comes from and how waiting happens: injected so that cache,
//! refresh and retry decisions can be tested without waiting.

use std::{
    fmt,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use futures::future::BoxFuture;

/// A source of the current time, and of waits measured against it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;

    /// Waits `duration` (between retries). The default sleeps on the tokio
    /// timer; a test clock can record the wait and return at once instead,
    /// so a test sees exactly how long the client would have waited.
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to, for tests. Its waits are real
/// ([`Clock::sleep`]'s default): moving it forward is the test's decision.
#[derive(Debug)]
pub struct ManualClock(Mutex<SystemTime>);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: SystemTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A clock for tests of waiting: stopped at a time, each [`Clock::sleep`]
/// returns at once after moving it forward by the wait, which it records,
/// so a test sees exactly how long a client would have waited.
#[derive(Debug)]
pub struct RecordingClock {
    now: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    /// A clock stopped at `at` that has not waited yet.
    pub fn new(at: SystemTime) -> Self {
        Self {
            now: Mutex::new(at),
            slept: Mutex::new(Vec::new()),
        }
    }

    /// Every wait so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) += duration;
        self.slept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(duration);
        Box::pin(async {})
    }
}
