"""`not_before` and `expires_on` through Microsoft's SDKs: a secret set
with both (already expired) and a P-256 key created with `expires_on` then
given `not_before` by `update_key_properties`, and the secret given a later
`expires_on` and tags by `update_secret_properties`, read back by the gets
and lists as Unix seconds. An expired secret's value is still served, as Key
Vault serves it.

Usage: validity.py VAULT_URL
Prints one JSON object of observations for the Rust test to check; an SDK
call that raises is reported as {"error", "status", "code", "message"}.
"""

import datetime
import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient

from observe import attempt


def at(seconds):
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def seconds(when):
    return int(when.timestamp()) if when else None


def window(p):
    return {"nbf": seconds(p.not_before), "exp": seconds(p.expires_on)}


def main():
    vault = sys.argv[1]
    credential = WorkloadIdentityCredential()
    secrets = SecretClient(vault, credential)
    keys = KeyClient(vault, credential)
    out = {}
    out["set"] = attempt(lambda: window(secrets.set_secret(
        "dated", "v1", not_before=at(1_600_000_000), expires_on=at(1_700_000_000)).properties))
    out["get"] = attempt(lambda: (lambda s: {"value": s.value, **window(s.properties)})(
        secrets.get_secret("dated")))
    out["listed"] = attempt(lambda: [
        window(p) for p in secrets.list_properties_of_secrets() if p.name == "dated"])
    out["updated"] = attempt(lambda: {
        **window(secrets.update_secret_properties(
            "dated", expires_on=at(1_800_000_000), tags={"rotated": "no"})),
        "tags": secrets.get_secret("dated").properties.tags})
    out["key"] = attempt(lambda: window(keys.create_ec_key(
        "dated-key", expires_on=at(4_000_000_000)).properties))
    out["key_updated"] = attempt(lambda: window(keys.update_key_properties(
        "dated-key", not_before=at(1_600_000_000)).properties))
    out["key_get"] = attempt(lambda: window(keys.get_key("dated-key").properties))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
