"""What Microsoft's Python SDKs see in a vault after secret-sync's
PushSecret controller wrote to it (tests/push_secret.rs): for each object
named on the command line (`secret/NAME`, `key/NAME`, `cert/NAME`), its
value or public part, tags, content type and number of versions, or the
SDK's error (a 404 for an object that is not there); `secret/*` gives
every secret of the vault, by name, each with its value and tags.

Usage: vault_state.py VAULT_URL OBJECT...
Authenticates as the pod would (WorkloadIdentityCredential from the
environment). Prints one JSON object keyed by OBJECT.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient


def attempt(call):
    try:
        return {"ok": call()}
    except Exception as e:  # reported, the Rust test asserts on it
        return {"error": type(e).__name__, "status": getattr(e, "status_code", None)}


def main():
    url, objects = sys.argv[1], sys.argv[2:]
    credential = WorkloadIdentityCredential()
    secrets = SecretClient(url, credential)
    keys = KeyClient(url, credential)
    certs = CertificateClient(url, credential)

    def secret(name):
        s = secrets.get_secret(name)
        versions = len(list(secrets.list_properties_of_secret_versions(name)))
        return {"value": s.value, "tags": s.properties.tags,
                "content_type": s.properties.content_type,
                "expires": int(s.properties.expires_on.timestamp()) if s.properties.expires_on else None,
                "versions": versions}

    def key(name):
        k = keys.get_key(name)
        jwk = k.key
        return {"kty": getattr(jwk.kty, "value", jwk.kty), "tags": k.properties.tags,
                "x": jwk.x.hex() if jwk.x else None, "n": jwk.n.hex() if jwk.n else None,
                "y": jwk.y.hex() if jwk.y else None, "e": jwk.e.hex() if jwk.e else None,
                "crv": getattr(jwk.crv, "value", jwk.crv),
                "versions": len(list(keys.list_properties_of_key_versions(name)))}

    def cert(name):
        c = certs.get_certificate(name)
        return {"tags": c.properties.tags, "cer": bytes(c.cer).hex(),
                "versions": len(list(certs.list_properties_of_certificate_versions(name)))}

    def every_secret():
        return {p.name: {"value": secrets.get_secret(p.name).value, "tags": p.tags or {}}
                for p in secrets.list_properties_of_secrets()}

    read = {"secret": secret, "key": key, "cert": cert}
    out = {}
    for obj in objects:
        if obj == "secret/*":
            out[obj] = attempt(every_secret)
            continue
        kind, name = obj.split("/", 1)
        out[obj] = attempt(lambda: read[kind](name))
    print(json.dumps(out))


main()
