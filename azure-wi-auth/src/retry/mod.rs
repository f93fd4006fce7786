//! Retrying failed requests, for the token endpoint and Key Vault alike.
//!
//! * [`classify`]: whether a failure may succeed if sent again;
//! * [`policy`]: how long to wait between attempts and when to give up;
//! * [`driver`]: the one loop that runs attempts under a policy, reading
//!   time from and sleeping on the injected [`Clock`](crate::clock::Clock).

pub(crate) mod classify;
pub(crate) mod driver;
pub(crate) mod policy;

pub use classify::{Retry, retry_class};
pub use policy::{RetryPolicy, retry_after};
