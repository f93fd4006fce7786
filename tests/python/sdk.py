"""Microsoft's Python SDK against the emulator, configured only the way a
mutated pod is: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE
and AZURE_AUTHORITY_HOST, plus trust in the emulator's CA
(REQUESTS_CA_BUNDLE) and the route to it (HTTPS_PROXY).

Usage: sdk.py VAULT_URL OP [ARGS...] where OP is one of
  get NAME            the current value
  get-version NAME    the value of the version the current id names
  list                the names of all secrets (follows nextLink)
  versions NAME       the number of versions
  set NAME VALUE      writes a new version
  token SCOPE         only the credential: get_token(SCOPE)
Prints one JSON object: {"ok": ...} or {"error": <exception type>,
"message": ..., "status": ..., "code": ...}.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient


def run(client, op, args):
    if op == "token":
        return bool(WorkloadIdentityCredential().get_token(args[0]).token)
    if op == "get":
        return client.get_secret(args[0]).value
    if op == "get-version":
        current = client.get_secret(args[0])
        return {"version": current.properties.version,
                "value": client.get_secret(args[0], current.properties.version).value}
    if op == "list":
        return sorted(p.name for p in client.list_properties_of_secrets())
    if op == "versions":
        return len(list(client.list_properties_of_secret_versions(args[0])))
    if op == "set":
        return client.set_secret(args[0], args[1]).value
    raise SystemExit(f"unknown op {op}")


def main():
    vault_url, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    client = SecretClient(vault_url, WorkloadIdentityCredential())
    try:
        print(json.dumps({"ok": run(client, op, args)}))
    except Exception as e:  # report, the Rust test asserts on it
        error = getattr(e, "error", None)
        print(json.dumps({
            "error": type(e).__name__,
            "message": str(e),
            "status": getattr(e, "status_code", None),
            "code": getattr(error, "code", None),
        }))


if __name__ == "__main__":
    main()
