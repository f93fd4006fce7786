//! Where the mutation's ServiceAccounts come from: a fixed set (the dry run,
//! tests) or the cluster, through a watch-fed index with a GET on a miss.
//!
//! Both hand out [`azure_wi_core::ServiceAccountInfo`], the slice of a
//! ServiceAccount that workload identity reads, shared behind an `Arc`.

mod index;
mod store;
#[cfg(feature = "server")]
mod watch;

pub use index::ServiceAccountIndex;
pub use store::{LookupError, ServiceAccountLookup, SourceStatus, StaticServiceAccounts};
#[cfg(feature = "server")]
pub use watch::ClusterServiceAccounts;
