# A static, non-root image of the webhook: `docker build -t azure-wi-webhook .`
#
# The binary is linked against musl, so the final image is `scratch` plus one
# file; TLS is rustls, so there is no OpenSSL to ship. In a cluster the kube
# client trusts the API server through the ServiceAccount's CA file, so no CA
# bundle is needed in the image.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p webhook \
 && cp target/x86_64-unknown-linux-musl/release/webhook /webhook

FROM scratch
COPY --from=build /webhook /webhook
USER 65532:65532
ENTRYPOINT ["/webhook"]
CMD ["serve"]
