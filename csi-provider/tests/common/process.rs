//! The provider binary as a child process, reaching the emulator as Azure
//! is reached (`HTTPS_PROXY`, `AZURE_WI_EXTRA_CA_FILE`): for the process
//! tests and the mount benchmark.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::unwrap_used)]

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use azure_wi_core::names;
use azure_wi_emulator::Emulator;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over plain HTTP/1.0 on loopback: the status and body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

pub struct Running {
    pub child: Child,
    pub socket: PathBuf,
    pub healthz: u16,
    pub metrics: u16,
    pub stderr: PathBuf,
}

/// Starts the provider with the emulator reachable as Azure is, and waits
/// for its socket.
pub fn start(emulator: &Emulator, dir: &Path) -> Running {
    start_with(
        emulator,
        dir,
        "--write-cert-and-key-in-separate-files=false",
    )
}

/// As [`start`], with the Azure provider's
/// `--write-cert-and-key-in-separate-files` argument given as `separate`.
pub fn start_with(emulator: &Emulator, dir: &Path, separate: &str) -> Running {
    start_with_args(emulator, dir, &[separate])
}

/// As [`start`], with `extra` arguments after the Azure provider's usual
/// ones (`--write-cert-and-key-in-separate-files=false` unless `extra`
/// says otherwise).
pub fn start_with_args(emulator: &Emulator, dir: &Path, extra: &[&str]) -> Running {
    let ca_file = dir.join("emulator-ca.pem");
    std::fs::write(&ca_file, emulator.ca_pem()).unwrap();
    let socket = dir.join("azure.sock");
    let stderr = dir.join("provider.log");
    let (healthz, metrics) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_azure-wi-csi-provider"));
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "https_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        command.env_remove(var);
    }
    let child = command
        .arg(format!("--endpoint=unix://{}", socket.display()))
        .args(["--healthz-port", &healthz.to_string()])
        .args(["--prometheus-port", &metrics.to_string()])
        .args(["--http-address", "127.0.0.1"])
        // The Azure provider's own arguments are accepted.
        .args([
            "--construct-pem-chain=true",
            "--metrics-backend=Prometheus",
            "-v=2",
        ])
        .args(
            extra
                .iter()
                .all(|a| !a.starts_with("--write-cert-and-key-in-separate-files"))
                .then_some("--write-cert-and-key-in-separate-files=false"),
        )
        .args(extra)
        .env("HTTPS_PROXY", emulator.proxy_url())
        .env(names::EXTRA_CA_FILE_ENV, &ca_file)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let mut running = Running {
        child,
        socket,
        healthz,
        metrics,
        stderr,
    };
    let started = Instant::now();
    while !running.socket.exists() {
        if let Some(status) = running.child.try_wait().unwrap() {
            panic!("the provider exited with {status}: {}", running.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no socket: {}",
            running.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    running
}

impl Running {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// `VmRSS` and `VmHWM` of the process, in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap()
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}
