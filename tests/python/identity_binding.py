"""A pod given an AKS identity binding, as Microsoft documents it for the
Python SDK: `WorkloadIdentityCredential(enable_azure_proxy=True)` with the
webhook's AZURE_KUBERNETES_* variables sends its token request to the
token proxy, then reads a Key Vault secret.

Usage: identity_binding.py VAULT_URL
Prints one JSON object of observations for the Rust test to check.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.secrets import SecretClient

from observe import attempt


def main():
    vault = sys.argv[1]
    out = {}
    credential = None
    try:
        credential = WorkloadIdentityCredential(enable_azure_proxy=True)
    except Exception as e:  # reported, the Rust test asserts on it
        out["credential"] = {"error": type(e).__name__, "message": str(e)[:600]}
    if credential is not None:
        out["secret"] = attempt(lambda: SecretClient(vault, credential).get_secret("db-password").value)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
