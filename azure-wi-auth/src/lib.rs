//! Azure workload identity for applications running in a pod that the
//! `webhook` crate mutated.
