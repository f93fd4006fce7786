//! `azure-wi-proxy` as a process: the variables it needs named when
//! missing, `--probe` as the injected `postStart` runs it, the reference's
//! argument forms (`--log-level=` empty), SIGTERM; and `init`'s NAT rules
//! in a network namespace this test makes (`unshare --net`, as root, with
//! `iptables`), where a client reaches the proxy through 169.254.169.254.
// Test code: a failed setup is a failed test.
#![allow(clippy::unwrap_used)]

use azure_wi_core::names;
use std::{
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_azure-wi-proxy");
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "3f2b9c1e-8d4a-4b6f-9e2d-7a1c5b8e0f34";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn proxy(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serving(port: u16, token_file: &std::path::Path) -> Serving {
    let port_arg = format!("--proxy-port={port}");
    Serving(
        proxy(&[&port_arg, "--log-level="])
            .env(names::TENANT_ID_ENV, TENANT)
            .env(names::CLIENT_ID_ENV, CLIENT)
            .env(names::FEDERATED_TOKEN_FILE_ENV, token_file)
            .spawn()
            .unwrap(),
    )
}

#[test]
fn a_missing_variable_is_named() {
    let output = proxy(&["--proxy-port=18000"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(&format!("{} is not set", names::TENANT_ID_ENV)),
        "{}",
        stderr(&output)
    );
    let output = proxy(&["--log-level=loud"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("loud"), "{}", stderr(&output));
}

#[test]
fn probe_succeeds_once_the_proxy_answers_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_arg = format!("--proxy-port={port}");
    // Started together, as kubelet runs postStart right after the start:
    // refused connections are tried again.
    let mut server = serving(port, &dir.path().join("token"));
    let probe = proxy(&[&port_arg, "--probe", "--log-level="])
        .output()
        .unwrap();
    assert_eq!(probe.status.code(), Some(0), "{}", stderr(&probe));

    // SIGTERM stops the proxy cleanly.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");

    let nobody = format!("--proxy-port={}", free_port());
    let started = Instant::now();
    let probe = proxy(&[&nobody, "--probe"]).output().unwrap();
    assert_eq!(probe.status.code(), Some(1));
    assert!(
        stderr(&probe).contains("did not answer /readyz with 200 in 7 tries"),
        "{}",
        stderr(&probe)
    );
    // Seven tries a second apart.
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

/// `init` in a fresh network namespace: TCP to 169.254.169.254:80 reaches
/// the proxy, except the proxy user's own (here root, `PROXY_UID=0`, so
/// the client can run as another user without the test binary being
/// readable to it); running `init` twice changes nothing.
#[test]
fn init_sends_imds_traffic_to_the_proxy_in_a_network_namespace() {
    assert!(
        Command::new("iptables")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "iptables is needed (Debian: apt-get install iptables; .ci/run installs it)"
    );
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        r#"set -e
ip link set lo up
ip addr add 10.244.0.7/32 dev lo
ip route add 169.254.169.254/32 dev lo src 10.244.0.7
export PROXY_PORT={port} PROXY_UID=0
{BIN} init
{BIN} init
echo "rules: $(iptables -t nat -S | grep -c AZWI_PROXY)"
{tenant_env}={TENANT} {client_env}={CLIENT} {token_env}={token} {BIN} --proxy-port={port} --log-level= >/dev/null 2>&1 &
PROXY=$!
trap 'kill $PROXY' EXIT
{BIN} --proxy-port={port} --probe
echo "pod user: $(setpriv --reuid=1501 --regid=1501 --clear-groups curl -s -m 3 http://169.254.169.254/readyz)"
echo "token api: $(setpriv --reuid=1501 --regid=1501 --clear-groups curl -s -m 3 -o /dev/null -w '%{{http_code}}' 'http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01')"
set +e
curl -s -m 2 http://169.254.169.254/readyz
echo "proxy user: exit $?"
"#,
        token = dir.path().join("token").display(),
        tenant_env = names::TENANT_ID_ENV,
        client_env = names::CLIENT_ID_ENV,
        token_env = names::FEDERATED_TOKEN_FILE_ENV,
    );
    let output = Command::new("unshare")
        .args(["--net", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", stderr(&output));
    // Two chains, the OUTPUT jump, their three rules: once, after two runs.
    assert!(stdout.contains("rules: 6"), "{stdout}");
    assert!(stdout.contains("pod user: ok"), "{stdout}");
    // The token API through IMDS's address: no resource asked.
    assert!(stdout.contains("token api: 400"), "{stdout}");
    let exempt = stdout
        .lines()
        .find_map(|l| l.strip_prefix("proxy user: exit "))
        .unwrap();
    assert_ne!(
        exempt, "0",
        "the proxy user's traffic must not be redirected: {stdout}"
    );
}
