#!/usr/bin/python3
"""Cross-checks Latchkey's JOSE implementation against python3-jwcrypto.

For each of RS256, PS256, ES256 and EdDSA:
  1. Latchkey signs, jwcrypto verifies (and reads the same payload).
  2. jwcrypto generates a key and signs, Latchkey verifies.
  3. The jwcrypto token with a tampered signature or payload is rejected by Latchkey.

Usage: jwcrypto_cross_check.py PATH/TO/jose_tool   (exit 0 only when every check passed)
"""

import json
import subprocess
import sys

from jwcrypto import jwk, jws

ALGS = {
    "RS256": {"kty": "RSA", "size": 2048},
    "PS256": {"kty": "RSA", "size": 2048},
    "ES256": {"kty": "EC", "crv": "P-256"},
    "EdDSA": {"kty": "OKP", "crv": "Ed25519"},
}
PAYLOAD = '{"iss":"https://jwcrypto.example","sub":"interop","n":2}'


def run_tool(tool, args, stdin=None):
    return subprocess.run([tool] + args, input=stdin, capture_output=True, text=True, timeout=60)


def latchkey_signs_jwcrypto_verifies(tool, alg):
    out = run_tool(tool, ["sign", alg])
    if out.returncode != 0:
        return f"jose_tool sign failed: {out.stderr.strip()}"
    doc = json.loads(out.stdout)
    keyset = jwk.JWKSet.from_json(json.dumps(doc["jwks"]))
    token = jws.JWS()
    token.deserialize(doc["token"])
    header = token.jose_header
    if header.get("alg") != alg or header.get("typ") != "JWT":
        return f"unexpected header {header}"
    key = keyset.get_key(header["kid"])
    token.verify(key, alg=alg)  # raises on failure
    payload = json.loads(token.payload)
    if payload.get("sub") != "interop":
        return f"unexpected payload {token.payload!r}"
    return None


def jwcrypto_token(alg):
    params = ALGS[alg]
    key = jwk.JWK.generate(kid="jwcrypto-1", **params)
    token = jws.JWS(PAYLOAD.encode())
    token.add_signature(key, alg=alg, protected=json.dumps({"alg": alg, "kid": "jwcrypto-1"}))
    jwks = {"keys": [json.loads(key.export_public())]}
    return jwks, token.serialize(compact=True)


def jwcrypto_signs_latchkey_verifies(tool, alg, jwks, compact):
    out = run_tool(tool, ["verify", alg], json.dumps({"jwks": jwks, "token": compact}))
    if out.returncode != 0:
        return f"jose_tool verify rejected a valid token: {out.stderr.strip()}"
    if out.stdout != PAYLOAD:
        return f"payload mismatch: {out.stdout!r}"
    return None


def tampered_rejected(tool, alg, jwks, compact):
    header, payload, signature = compact.split(".")
    flipped = ("A" if signature[10] != "A" else "B")
    tampered = [
        ".".join([header, payload, signature[:10] + flipped + signature[11:]]),
        ".".join([header, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature]),
    ]
    for token in tampered:
        out = run_tool(tool, ["verify", alg], json.dumps({"jwks": jwks, "token": token}))
        if out.returncode == 0:
            return f"tampered token accepted: {token}"
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    tool = sys.argv[1]
    passed = failed = 0
    for alg in ALGS:
        jwks, compact = jwcrypto_token(alg)
        checks = [
            ("latchkey signs, jwcrypto verifies", lambda: latchkey_signs_jwcrypto_verifies(tool, alg)),
            ("jwcrypto signs, latchkey verifies", lambda: jwcrypto_signs_latchkey_verifies(tool, alg, jwks, compact)),
            ("tampered token rejected", lambda: tampered_rejected(tool, alg, jwks, compact)),
        ]
        for name, check in checks:
            try:
                error = check()
            except Exception as e:  # jwcrypto raises on verification failure
                error = f"{type(e).__name__}: {e}"
            if error is None:
                passed += 1
                print(f"PASS {alg}: {name}")
            else:
                failed += 1
                print(f"FAIL {alg}: {name}: {error}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
