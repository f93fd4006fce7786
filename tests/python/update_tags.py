"""azure-keyvault-keys' `update_key_properties` and
azure-keyvault-certificates' `update_certificate_properties` changing the
tags of seeded objects in the emulator, read back by `get_key`,
`get_certificate` and the SDKs' `list_properties_of_*`.

Usage: update_tags.py VAULT_URL
Prints one JSON object of observations for the Rust test to check; an SDK
call that raises is reported as {"error", "status", "code", "message"}.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient

from observe import attempt


def props(p):
    return {"tags": p.tags, "enabled": p.enabled, "version": p.version,
            "updated_after_created": p.updated_on >= p.created_on}


def main():
    vault = sys.argv[1]
    credential = WorkloadIdentityCredential()
    keys = KeyClient(vault, credential)
    certs = CertificateClient(vault, credential)
    out = {}
    out["key_update"] = attempt(lambda: props(keys.update_key_properties(
        "signing-ec", tags={"owner": "team-a"}).properties))
    out["key_get"] = attempt(lambda: props(keys.get_key("signing-ec").properties))
    out["key_listed"] = attempt(lambda: [
        p.tags for p in keys.list_properties_of_keys() if p.name == "signing-ec"])
    out["key_retag"] = attempt(lambda: props(keys.update_key_properties(
        "signing-ec", tags={"owner": "team-b", "tier": "1"}).properties))
    out["cert_update"] = attempt(lambda: props(certs.update_certificate_properties(
        "web-tls", tags={"env": "prod"}).properties))
    out["cert_get"] = attempt(lambda: props(certs.get_certificate("web-tls").properties))
    out["cert_listed"] = attempt(lambda: [
        p.tags for p in certs.list_properties_of_certificates() if p.name == "web-tls"])
    out["absent"] = attempt(lambda: props(keys.update_key_properties("no-such-key", tags={"a": "b"}).properties))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
