"""Microsoft's Python SDK imports certificates into the emulator
(azure-keyvault-certificates' `import_certificate`) and reads them back
(`get_certificate`, and azure-keyvault-secrets' `get_secret` for the
certificate's secret), configured only the way a mutated pod is (see
sdk.py).

Usage: import_certs.py VAULT_URL (forbidden|all)
`forbidden` tries one import and reports it; `all` imports a PFX with a
password, a PFX without one, and a PEM bundle (key, leaf, CA), then the
refusals (a corrupt PFX, a wrong password, a PEM without its key), and
prints one JSON object of observations for the Rust test to check.
The key, the leaf and its CA are made here with `cryptography`.
"""

import base64
import datetime
import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient, CertificateContentType, CertificatePolicy
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from keys_certs import attempt, spki, text


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def made():
    """A CA (EC P-256) and a leaf for an RSA 2048 key it signs."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Import Test CA")).issuer_name(name("Import Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (x509.CertificateBuilder().subject_name(name("imported.example.com")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("imported.example.com")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, leaf, ca


def secret_view(secrets, name):
    secret = secrets.get_secret(name)
    if secret.properties.content_type == "application/x-pkcs12":
        der = base64.b64decode(secret.value)
        key, leaf, extra = pkcs12.load_key_and_certificates(der, None)
        chain = [leaf] + list(extra)
        first = "pfx"
    else:
        data = secret.value.encode()
        key = serialization.load_pem_private_key(data, None)
        chain = x509.load_pem_x509_certificates(data)
        first = "key" if secret.value.startswith("-----BEGIN PRIVATE KEY-----") else "other"
        der = b""
    return {"content_type": secret.properties.content_type, "managed": secret.properties.managed,
            "key_id": secret.properties.key_id, "key_spki": spki(key.public_key()),
            "chain_spki": [spki(c.public_key()) for c in chain], "first": first,
            "der_hex": der.hex()}


def imported(cert):
    return {"id": cert.id, "key_id": cert.key_id, "secret_id": cert.secret_id,
            "cer_spki": spki(x509.load_der_x509_certificate(bytes(cert.cer)).public_key()),
            "x5t": base64.urlsafe_b64encode(cert.properties.x509_thumbprint).decode().rstrip("="),
            "content_type": text(cert.policy.content_type) if cert.policy else None,
            "subject": cert.policy.subject if cert.policy else None,
            "issuer": cert.policy.issuer_name if cert.policy else None,
            "dns": list(cert.policy.san_dns_names or []) if cert.policy else None,
            "tags": cert.properties.tags}


def main():
    vault, mode = sys.argv[1], sys.argv[2]
    credential = WorkloadIdentityCredential()
    certs = CertificateClient(vault, credential)
    secrets = SecretClient(vault, credential)
    key, leaf, ca = made()
    out = {"made": {"key_spki": spki(key.public_key()), "ca_spki": spki(ca.public_key())}}

    pfx_pw = pkcs12.serialize_key_and_certificates(
        b"imported", key, leaf, [ca], serialization.BestAvailableEncryption(b"pfx-password"))
    if mode == "forbidden":
        out["import"] = attempt(lambda: imported(certs.import_certificate("imported-pfx", pfx_pw, password="pfx-password")))
        try:
            certs.import_certificate("imported-pfx", pfx_pw, password="pfx-password")
        except Exception as e:  # the whole RBAC text, for the action it names
            out["import"]["message"] = str(e)
        print(json.dumps(out))
        return

    out["pfx"] = attempt(lambda: imported(certs.import_certificate(
        "imported-pfx", pfx_pw, password="pfx-password", tags={"source": "pfx"})))
    out["pfx_secret"] = attempt(lambda: secret_view(secrets, "imported-pfx"))
    out["pfx_get"] = attempt(lambda: imported(certs.get_certificate("imported-pfx")))

    pfx_open = pkcs12.serialize_key_and_certificates(b"imported", key, leaf, None, serialization.NoEncryption())
    out["pfx_open"] = attempt(lambda: imported(certs.import_certificate("imported-open", pfx_open)))

    pem = (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
           + leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    pem_policy = CertificatePolicy(issuer_name="Unknown", subject="CN=imported.example.com",
                                   content_type=CertificateContentType.pem)
    out["pem"] = attempt(lambda: imported(certs.import_certificate("imported-pem", pem, policy=pem_policy)))
    out["pem_secret"] = attempt(lambda: secret_view(secrets, "imported-pem"))
    out["pem_get"] = attempt(lambda: imported(certs.get_certificate("imported-pem")))

    out["corrupt"] = attempt(lambda: certs.import_certificate("refused-corrupt", pfx_pw[:200]))
    out["wrong_password"] = attempt(lambda: certs.import_certificate("refused-password", pfx_pw, password="nope"))
    keyless = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    out["pem_without_key"] = attempt(lambda: certs.import_certificate("refused-pem", keyless, policy=pem_policy))
    out["refused_absent"] = attempt(lambda: certs.get_certificate("refused-password"))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
