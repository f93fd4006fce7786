//! `azure-wi-proxy`: an IMDS proxy for pods whose SDK knows managed
//! identity only through IMDS (`169.254.169.254`), as under the retired
//! aad-pod-identity. The webhook injects it into pods annotated
//! `azure.workload.identity/inject-proxy-sidecar`: `azure-wi-proxy init`
//! (the `azwi-proxy-init` container) sets NAT rules that send the pod's
//! IMDS traffic to the proxy, and the proxy (the `azwi-proxy` container)
//! answers IMDS's token API with the pod's workload identity.
//!
//! * [`imds`]: the token API as pure functions (routes, the request, the
//!   JSON answered), as the reference proxy serves it.
//! * [`server`]: the HTTP shell over it, one cached credential per client
//!   id; other IMDS paths are forwarded, the node's identity paths refused.
//! * [`nat`]: the `iptables` calls of `init`.
//! * [`probe`]: `--probe`, what the injected `postStart` hook runs.

pub mod imds;
pub mod nat;
pub mod probe;
pub mod server;
