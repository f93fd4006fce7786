//! The workload identity contract, written once.
//!
//! Every component of this project (the mutating webhook, the
//! `azure-wi-auth` library, the emulator, the delivery components and the
//! diagnostics) agrees on a handful of values: the pod label and the
//! ServiceAccount annotations the webhook reads, the environment variables
//! and token path it writes and the SDKs read, the token audience Entra
//! expects, the Azure clouds and their hosts, and what a valid client or
//! tenant id looks like. They live here and nowhere else, so the copies
//! cannot drift apart.
//!
//! - [`names`]: labels, annotations, environment variables, paths, defaults.
//! - [`AzureCloud`]: cloud names and their Entra and Key Vault hosts.
//! - [`TokenLayout`]: where the token volume, its mount and the token file
//!   are, as the reference webhook v1.5 and v1.6 lay them out.
//! - [`ClientId`], [`TenantId`], [`Audience`], [`Scope`]: validated on parse, with
//!   one [`Error`] that says what is wrong.
//! - [`ServiceAccountInfo`]: the part of a ServiceAccount workload identity
//!   reads (with feature `k8s`, read from a whole ServiceAccount document).
//!
//! It does no I/O and depends on serde and little else.
//!
//! ```
//! use azure_wi_core::{AzureCloud, TenantId, names};
//!
//! let cloud: AzureCloud = "AzureUSGovernmentCloud".parse()?;
//! assert_eq!(cloud.authority_host(), "https://login.microsoftonline.us/");
//! assert!("..".parse::<TenantId>().is_err());
//! assert_eq!(names::TOKEN_FILE_PATH, "/var/run/secrets/azure/tokens/azure-identity-token");
//! # Ok::<(), azure_wi_core::Error>(())
//! ```
#![forbid(unsafe_code)]

mod cloud;
mod decode;
mod error;
mod ids;
mod layout;
pub mod names;
mod serviceaccount;

pub use cloud::{AzureCloud, DEFAULT_AUTHORITY_HOST};
pub use decode::describe_decode_error;
pub use error::Error;
pub use ids::{Audience, ClientId, Scope, TenantId, is_guid};
pub use layout::{RESERVED_VOLUME_HASH_LEN, RESERVED_VOLUME_PREFIX, TokenLayout};
pub use serviceaccount::ServiceAccountInfo;
