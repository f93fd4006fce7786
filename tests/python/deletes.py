"""Soft delete through Microsoft's SDKs: `begin_delete_secret`,
`begin_delete_key` and `begin_delete_certificate` each run to completion
(they poll `GET /deleted{secrets,keys,certificates}/{name}`), report the
recovery id and dates, and leave the object answering 404 to a get while
`get_deleted_*` still finds it. A deleted name is not reused: setting
the secret, creating the key or importing the certificate again is
refused (409 Conflict, ObjectIsDeletedButRecoverable).

Usage: deletes.py VAULT_URL (forbidden|all)
Prints one JSON object of observations for the Rust test to check; an SDK
call that raises is reported as {"error", "status", "code", "message"}.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient

from import_certs import made
from observe import attempt


def deleted(d):
    return {"recovery_id": d.recovery_id, "name": d.name,
            # DeletedSecret and DeletedKey name it deleted_date,
            # DeletedCertificate deleted_on.
            "deleted": int((getattr(d, "deleted_date", None) or d.deleted_on).timestamp()),
            "purge": int(d.scheduled_purge_date.timestamp())}


def pfx():
    """A PFX (no password) of a made key and leaf, to import."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    key, leaf, ca = made()
    return pkcs12.serialize_key_and_certificates(b"again", key, leaf, [ca], serialization.NoEncryption())


def main():
    vault, mode = sys.argv[1], sys.argv[2]
    credential = WorkloadIdentityCredential()
    secrets = SecretClient(vault, credential)
    keys = KeyClient(vault, credential)
    certs = CertificateClient(vault, credential)
    out = {}
    out["secret"] = attempt(lambda: deleted(secrets.begin_delete_secret("api-key").result()))
    if mode == "forbidden":
        print(json.dumps(out))
        return
    out["secret_get"] = attempt(lambda: secrets.get_secret("api-key").value)
    out["secret_deleted"] = attempt(lambda: deleted(secrets.get_deleted_secret("api-key")))
    out["secret_reset"] = attempt(lambda: secrets.set_secret("api-key", "again").value)
    out["key"] = attempt(lambda: deleted(keys.begin_delete_key("signing-ec").result()))
    out["key_get"] = attempt(lambda: keys.get_key("signing-ec").id)
    out["key_deleted"] = attempt(lambda: deleted(keys.get_deleted_key("signing-ec")))
    out["key_reset"] = attempt(lambda: keys.create_ec_key("signing-ec").id)
    out["cert"] = attempt(lambda: deleted(certs.begin_delete_certificate("web-tls").result()))
    out["cert_get"] = attempt(lambda: certs.get_certificate("web-tls").id)
    out["cert_secret_get"] = attempt(lambda: secrets.get_secret("web-tls").id)
    out["cert_deleted"] = attempt(lambda: deleted(certs.get_deleted_certificate("web-tls")))
    out["cert_reset"] = attempt(lambda: certs.import_certificate("web-tls", pfx()).id)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
