"""Time from process start to the first secret value: our read_secret
example against Microsoft's Python SDK (sdk.py get), in one run against the
same emulator, alternating, with the same pod environment. Also each
process's CPU time (user + system) and peak resident memory, measured by
GNU time (`apt-get install time` where /usr/bin/time is missing).

Usage: side_by_side.py EMULATOR_BIN READ_SECRET_BIN [RUNS]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time


TIME = "/usr/bin/time"


def run(command, env):
    """Runs `command` to completion under GNU time (Debian's `time`
    package): its exit status, stdout, stderr, CPU seconds and peak
    resident memory in KiB. The figures are the program's own: a child
    forked from this Python process would report Python's resident memory
    as its peak (fork and vfork share the parent's pages until exec)."""
    with tempfile.NamedTemporaryFile("r") as report:
        result = subprocess.run([TIME, "-f", "%U %S %M", "-o", report.name, *command],
                                env=env, capture_output=True, text=True)
        user, system, peak_kib = report.read().split()[-3:]
    return (result.returncode, result.stdout, result.stderr,
            float(user) + float(system), int(peak_kib))


def main():
    emulator_bin, ours_bin = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    out = tempfile.mkdtemp()
    server = subprocess.Popen([emulator_bin, "serve", "--out", out],
                              stdout=subprocess.PIPE, text=True)
    if not os.path.exists(TIME):
        raise SystemExit(f"{TIME} is needed for CPU and memory figures: apt-get install time")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/")}
    for line in server.stdout:
        if line.startswith("export "):
            key, value = line[len("export "):].strip().split("=", 1)
            env[key] = value
        if line.startswith("# TLS listener"):
            break
    env["AZURE_WI_EXTRA_CA_FILE"] = env["REQUESTS_CA_BUNDLE"]
    vault = "https://orders-kv.vault.azure.net"
    sdk = os.path.join(os.path.dirname(__file__), "sdk.py")
    commands = {
        "azure-wi-auth read_secret": [ours_bin, vault, "db-password"],
        "python azure-identity + azure-keyvault-secrets": [sys.executable, sdk, vault, "get", "db-password"],
    }
    times = {name: [] for name in commands}
    cpu = {name: [] for name in commands}
    peak = {name: [] for name in commands}
    try:
        for _ in range(runs):
            for name, command in commands.items():
                start = time.perf_counter()
                code, stdout, stderr, cpu_seconds, peak_kib = run(command, env)
                elapsed = time.perf_counter() - start
                if code != 0 or "s3cr3t-from-key-vault" not in stdout:
                    raise SystemExit(f"{name} failed: {stdout}{stderr}")
                times[name].append(elapsed)
                cpu[name].append(cpu_seconds)
                peak[name].append(peak_kib / 1024)
    finally:
        server.terminate()
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    for name, median in medians.items():
        print(f"{name}: median {median:.1f} ms over {runs} runs (min {min(times[name]) * 1000:.1f} ms), "
              f"CPU median {statistics.median(cpu[name]) * 1000:.0f} ms (10 ms resolution), "
              f"peak RSS median {statistics.median(peak[name]):.1f} MiB")
    ours, theirs = medians.values()
    ours_rss, theirs_rss = (statistics.median(peak[name]) for name in commands)
    print(f"ratio: the Python SDK takes {theirs / ours:.1f}x as long and {theirs_rss / ours_rss:.1f}x the peak memory")


if __name__ == "__main__":
    main()
