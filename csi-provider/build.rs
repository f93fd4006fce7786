//! Generates the `v1alpha1.CSIDriverProvider` gRPC server and client with
//! tonic-build's `manual` module, so no `protoc` and no `.proto` file are
//! needed: the messages are written by hand in `src/proto.rs` with the field
//! numbers of kubernetes-sigs/secrets-store-csi-driver
//! `provider/v1alpha1/service.proto`.

fn main() {
    let method = |name: &str, route: &str, input: &str, output: &str| {
        tonic_build::manual::Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("crate::proto::{input}"))
            .output_type(format!("crate::proto::{output}"))
            .codec_path("tonic_prost::ProstCodec")
            .build()
    };
    let service = tonic_build::manual::Service::builder()
        .name("CSIDriverProvider")
        .package("v1alpha1")
        .method(method(
            "version",
            "Version",
            "VersionRequest",
            "VersionResponse",
        ))
        .method(method("mount", "Mount", "MountRequest", "MountResponse"))
        .build();
    tonic_build::manual::Builder::new()
        .build_transport(false)
        .compile(&[service]);
    println!("cargo:rerun-if-changed=build.rs");
}
