"""Time from process start to the first secret value: our read_secret
example against Microsoft's Python SDK (sdk.py get), in one run against the
same emulator, alternating, with the same pod environment.

Usage: side_by_side.py EMULATOR_BIN READ_SECRET_BIN [RUNS]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time


def main():
    emulator_bin, ours_bin = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    out = tempfile.mkdtemp()
    server = subprocess.Popen([emulator_bin, "serve", "--out", out],
                              stdout=subprocess.PIPE, text=True)
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
    try:
        for _ in range(runs):
            for name, command in commands.items():
                start = time.perf_counter()
                result = subprocess.run(command, env=env, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if result.returncode != 0 or "s3cr3t-from-key-vault" not in result.stdout:
                    raise SystemExit(f"{name} failed: {result.stdout}{result.stderr}")
                times[name].append(elapsed)
    finally:
        server.terminate()
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    for name, median in medians.items():
        print(f"{name}: median {median:.1f} ms over {runs} runs (min {min(times[name]) * 1000:.1f} ms)")
    ours, theirs = medians.values()
    print(f"ratio: the Python SDK takes {theirs / ours:.1f}x as long")


if __name__ == "__main__":
    main()
