//! Where the mutation's ServiceAccounts come from: a fixed set (the dry run,
//! tests) or the cluster, through a watch cache with a GET on a miss.
//!
//! Both hand out [`azure_wi_core::ServiceAccountInfo`], the slice of a
//! ServiceAccount that workload identity reads.

mod store;
mod watch;

pub use store::{LookupError, ServiceAccountLookup, StaticServiceAccounts};
pub use watch::ClusterServiceAccounts;
