//! An HTTP `CONNECT` proxy that tunnels the hosts the emulator plays (each
//! cloud's Entra host and vaults, see [`crate::hosts`], and the issuer) to
//! its TLS listener and refuses every other destination. Clients that honour
//! `HTTPS_PROXY` (Microsoft's Python SDK does) then reach the emulator with
//! the real Azure URLs, certificate names and challenge checks unchanged.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader},
    net::{TcpListener, TcpStream},
};
use tokio_util::sync::CancellationToken;

/// Whether the emulator serves `host`.
pub(crate) fn serves(host: &str, issuer_host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    crate::hosts::entra_cloud(&host).is_some()
        || crate::hosts::vault_of(&host).is_some()
        || host == issuer_host
}

/// Accepts proxy connections on `listener` until `stop`.
pub(crate) async fn run(
    listener: TcpListener,
    upstream: SocketAddr,
    issuer_host: String,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Both legs of the tunnel carry small TLS records: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let issuer_host = issuer_host.clone();
        tokio::spawn(async move {
            if let Err(error) = tunnel(stream, upstream, &issuer_host).await {
                tracing::debug!(%error, "proxy connection ended");
            }
        });
    }
}

async fn tunnel(stream: TcpStream, upstream: SocketAddr, issuer_host: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
    let mut client = reader.into_inner();
    if method != "CONNECT" || !serves(host, issuer_host) {
        let message = format!("the emulator only tunnels its own hosts, not {target}\n");
        client
            .write_all(
                format!(
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
                    message.len()
                )
                .as_bytes(),
            )
            .await?;
        return Ok(());
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    tokio::io::copy_bidirectional(&mut client, &mut server).await?;
    Ok(())
}
