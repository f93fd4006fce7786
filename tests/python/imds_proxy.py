"""An app whose SDK knows managed identity only through IMDS, as the pod
the webhook gave the IMDS proxy sees it: `ManagedIdentityCredential`
without the workload-identity variables (with them azure-identity switches
to workload identity by itself), pointed at the proxy by
AZURE_POD_IDENTITY_AUTHORITY_HOST, reads a Key Vault secret.

Usage: imds_proxy.py VAULT_URL
Prints one JSON object of observations for the Rust test to check.
"""

import json
import sys

from azure.identity import ManagedIdentityCredential
from azure.keyvault.secrets import SecretClient

from observe import attempt


def main():
    vault = sys.argv[1]
    credential = ManagedIdentityCredential()
    out = {}
    out["token"] = attempt(lambda: credential.get_token("https://vault.azure.net/.default").expires_on)
    out["secret"] = attempt(lambda: SecretClient(vault, credential).get_secret("db-password").value)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
