"""azure-keyvault-keys writing keys into the emulator as into Key Vault:
`create_ec_key` on P-256K (secp256k1) and `import_key` of a secp256k1 key
made by `cryptography`, each read back with `get_key` and listed with
`list_properties_of_keys`, tags included.

Usage: key_writes.py VAULT_URL (forbidden|all)
Prints one JSON object of observations for the Rust test to check; an SDK
call that raises is reported as {"error", "status", "code", "message"}.
"""

import json
import sys

from azure.identity import WorkloadIdentityCredential
from azure.keyvault.keys import JsonWebKey, KeyClient, KeyCurveName
from cryptography.hazmat.primitives.asymmetric import ec

from observe import attempt


def text(value):
    """An SDK enum's wire value (str() of a str enum names the member)."""
    return getattr(value, "value", value)


def summary(key):
    jwk = key.key
    return {"id": key.id, "kty": text(jwk.kty), "crv": text(jwk.crv),
            "x": jwk.x.hex(), "y": jwk.y.hex(), "has_d": bool(jwk.d),
            "key_ops": [text(op) for op in (jwk.key_ops or [])],
            "tags": key.properties.tags, "enabled": key.properties.enabled}


def main():
    vault, mode = sys.argv[1], sys.argv[2]
    keys = KeyClient(vault, WorkloadIdentityCredential())
    out = {}
    out["create"] = attempt(lambda: summary(keys.create_ec_key(
        "k256-made", curve=KeyCurveName.p_256_k, tags={"curve": "secp256k1"})))
    if mode == "forbidden":
        print(json.dumps(out))
        return

    out["get"] = attempt(lambda: summary(keys.get_key("k256-made")))

    private = ec.generate_private_key(ec.SECP256K1())
    numbers = private.private_numbers()
    public = numbers.public_numbers
    out["made"] = {"x": public.x.to_bytes(32, "big").hex(), "y": public.y.to_bytes(32, "big").hex()}
    jwk = JsonWebKey(kty="EC", crv=KeyCurveName.p_256_k, key_ops=["sign", "verify"],
                     x=public.x.to_bytes(32, "big"), y=public.y.to_bytes(32, "big"),
                     d=numbers.private_value.to_bytes(32, "big"))
    out["import"] = attempt(lambda: summary(keys.import_key("k256-imported", jwk, tags={"source": "import"})))
    out["imported_get"] = attempt(lambda: summary(keys.get_key("k256-imported")))

    other = ec.generate_private_key(ec.SECP256K1()).private_numbers().public_numbers
    mismatched = JsonWebKey(kty="EC", crv=KeyCurveName.p_256_k,
                            x=other.x.to_bytes(32, "big"), y=other.y.to_bytes(32, "big"),
                            d=numbers.private_value.to_bytes(32, "big"))
    out["import_mismatched"] = attempt(lambda: summary(keys.import_key("k256-bad", mismatched)))

    out["listed"] = attempt(lambda: {
        p.name: {"tags": p.tags, "enabled": p.enabled}
        for p in keys.list_properties_of_keys() if p.name.startswith("k256-")})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
