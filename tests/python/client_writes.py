"""Microsoft's SDKs reading back what azure-wi-auth's Key Vault client
wrote into the emulator (tests/tests/client_writes.rs): a secret's value,
content type, expiry and tags; an imported key's public point and tags;
imported certificates' leaf, tags and secret encoding; deleted objects as
`get_deleted_*` finds them. Also makes the certificate material the Rust
test imports (`made()` of import_certs.py, as PEM and as a PFX).

Usage: client_writes.py VAULT_URL (material|read)
Prints one JSON object for the Rust test to check; an SDK call that raises
is reported as {"error", "status", "code", "message"}.
"""

import base64
import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from import_certs import made
from observe import attempt


def material():
    key, leaf, ca = made()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    pem = key_pem + leaf.public_bytes(serialization.Encoding.PEM).decode() \
        + ca.public_bytes(serialization.Encoding.PEM).decode()
    pfx = pkcs12.serialize_key_and_certificates(None, key, leaf, [ca], serialization.NoEncryption())
    return {"pem": pem, "pfx": base64.b64encode(pfx).decode(),
            "leaf": leaf.public_bytes(serialization.Encoding.DER).hex()}


def secret_view(secret):
    p = secret.properties
    return {"value": secret.value, "content_type": p.content_type, "tags": p.tags,
            "enabled": p.enabled,
            "expires": int(p.expires_on.timestamp()) if p.expires_on else None}


def key_view(key):
    jwk = key.key
    return {"kty": getattr(jwk.kty, "value", jwk.kty), "crv": getattr(jwk.crv, "value", jwk.crv),
            "x": jwk.x.hex() if jwk.x else None, "y": jwk.y.hex() if jwk.y else None,
            "tags": key.properties.tags}


def certificate_view(certs, secrets, name):
    cert = certs.get_certificate(name)
    return {"cer": bytes(cert.cer).hex(), "tags": cert.properties.tags,
            "content_type": secrets.get_secret(name).properties.content_type}


def main():
    vault, mode = sys.argv[1], sys.argv[2]
    if mode == "material":
        print(json.dumps(material()))
        return
    credential = WorkloadIdentityCredential()
    secrets = SecretClient(vault, credential)
    keys = KeyClient(vault, credential)
    certs = CertificateClient(vault, credential)
    out = {
        "secret": attempt(lambda: secret_view(secrets.get_secret("pushed"))),
        "versions": attempt(lambda: len(list(secrets.list_properties_of_secret_versions("pushed")))),
        "key": attempt(lambda: key_view(keys.get_key("pushed-key"))),
        "pem": attempt(lambda: certificate_view(certs, secrets, "pushed-pem")),
        "pfx": attempt(lambda: certificate_view(certs, secrets, "pushed-pfx")),
        "secret_deleted": attempt(lambda: secrets.get_deleted_secret("gone-secret").name),
        "key_deleted": attempt(lambda: keys.get_deleted_key("gone-key").name),
        "cert_deleted": attempt(lambda: certs.get_deleted_certificate("pushed-pfx-gone").name),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
