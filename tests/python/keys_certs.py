"""Microsoft's Python SDK for Key Vault keys and certificates
(azure-keyvault-keys, azure-keyvault-certificates, and
azure-keyvault-secrets for a certificate's secret) against the emulator,
configured only the way a mutated pod is (see sdk.py).

Usage: keys_certs.py VAULT_URL
Reads what Config::demo_with_keys_and_certificates seeds and prints one
JSON object of observations for the Rust test to check; every SDK call that
raises is reported as {"error": <exception type>, "status", "code"}.
The certificate-backed secrets are decoded with `cryptography`, as an
application would: PKCS#12 with no password, PEM key then chain.
"""

import base64
import hashlib
import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.certificates import CertificateClient
from azure.keyvault.keys import KeyClient
from azure.keyvault.secrets import SecretClient
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from observe import attempt


def spki(public_key):
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).hex()


def text(value):
    """An SDK enum's wire value (str() of a str enum names the member)."""
    return getattr(value, "value", value)


def jwk_summary(key):
    jwk = key.key
    out = {"kty": text(jwk.kty), "enabled": key.properties.enabled,
           "version": key.properties.version, "managed": key.properties.managed,
           "key_ops": [text(op) for op in (jwk.key_ops or [])]}
    if jwk.n:
        out["n_bits"] = len(jwk.n) * 8
        out["e"] = int.from_bytes(jwk.e, "big")
    if jwk.crv:
        out["crv"] = text(jwk.crv)
        out["x_len"] = len(jwk.x)
        out["y_len"] = len(jwk.y)
    return out


def cert_summary(cert):
    leaf = x509.load_der_x509_certificate(bytes(cert.cer))
    return {
        "version": cert.properties.version,
        "enabled": cert.properties.enabled,
        "x5t_matches": cert.properties.x509_thumbprint == hashlib.sha1(bytes(cert.cer)).digest(),
        "subject": leaf.subject.rfc4514_string(),
        "content_type": text(cert.policy.content_type) if cert.policy else None,
        "key_id": cert.key_id,
        "secret_id": cert.secret_id,
        "spki": spki(leaf.public_key()),
    }


def main():
    vault = sys.argv[1]
    credential = WorkloadIdentityCredential()
    keys = KeyClient(vault, credential)
    certs = CertificateClient(vault, credential)
    secrets = SecretClient(vault, credential)
    out = {}

    out["rsa"] = attempt(lambda: jwk_summary(keys.get_key("signing-rsa")))
    out["ec"] = attempt(lambda: jwk_summary(keys.get_key("signing-ec")))
    out["key_names"] = attempt(lambda: sorted(p.name for p in keys.list_properties_of_keys()))
    versions = attempt(lambda: [{"version": p.version, "enabled": p.enabled}
                                for p in keys.list_properties_of_key_versions("signing-rsa")])
    out["rsa_versions"] = versions
    if "ok" in versions:
        disabled = [v["version"] for v in versions["ok"] if not v["enabled"]]
        out["rsa_disabled"] = attempt(lambda: jwk_summary(keys.get_key("signing-rsa", disabled[0])))
        out["ec_versions"] = attempt(lambda: [jwk_summary(keys.get_key("signing-ec", p.version))["crv"]
                                              for p in keys.list_properties_of_key_versions("signing-ec")])
    out["missing_key"] = attempt(lambda: keys.get_key("nope"))

    out["cert"] = attempt(lambda: cert_summary(certs.get_certificate("web-tls")))
    out["cert_pem"] = attempt(lambda: cert_summary(certs.get_certificate("web-tls-pem")))
    out["cert_names"] = attempt(lambda: sorted(p.name for p in certs.list_properties_of_certificates()))
    cert_versions = attempt(lambda: [{"version": p.version, "enabled": p.enabled}
                                     for p in certs.list_properties_of_certificate_versions("web-tls")])
    out["cert_versions"] = cert_versions
    out["missing_cert"] = attempt(lambda: certs.get_certificate("nope"))
    if "ok" in cert_versions:
        first = cert_versions["ok"][0]["version"]
        out["cert_disabled"] = attempt(lambda: cert_summary(certs.get_certificate_version("web-tls", first)))
        out["secret_disabled"] = attempt(lambda: secrets.get_secret("web-tls", first).value)

    def managed_key_matches(name):
        cert = x509.load_der_x509_certificate(bytes(certs.get_certificate(name).cer))
        jwk = keys.get_key(name).key
        public = cert.public_key().public_numbers()
        if jwk.n:
            return int.from_bytes(jwk.n, "big") == public.n and int.from_bytes(jwk.e, "big") == public.e
        return int.from_bytes(jwk.x, "big") == public.x and int.from_bytes(jwk.y, "big") == public.y
    out["managed_key_matches"] = attempt(lambda: [managed_key_matches("web-tls"), managed_key_matches("web-tls-pem")])

    def pfx():
        secret = secrets.get_secret("web-tls")
        key, leaf, extra = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
        return {"content_type": secret.properties.content_type, "key_id": secret.properties.key_id,
                "managed": secret.properties.managed,
                "key_matches": spki(key.public_key()) == spki(leaf.public_key()),
                "leaf_spki": spki(leaf.public_key()), "extra_certs": len(extra),
                "der_hex": base64.b64decode(secret.value).hex()}
    out["pfx"] = attempt(pfx)

    def pem():
        secret = secrets.get_secret("web-tls-pem")
        data = secret.value.encode()
        key = serialization.load_pem_private_key(data, None)
        chain = x509.load_pem_x509_certificates(data)
        return {"content_type": secret.properties.content_type, "key_id": secret.properties.key_id,
                "key_first": secret.value.startswith("-----BEGIN PRIVATE KEY-----"),
                "key_matches": spki(key.public_key()) == spki(chain[0].public_key()),
                "leaf_spki": spki(chain[0].public_key()), "chain": len(chain),
                "issued_by_second": chain[0].issuer == chain[1].subject,
                "aki_is_ca_ski": chain[0].extensions.get_extension_for_class(
                    x509.AuthorityKeyIdentifier).value.key_identifier
                == chain[1].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest}
    out["pem"] = attempt(pem)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
