#!/usr/bin/python3
"""Reference validator for bench/run.sh (BENCH_PARTS=client): PyJWT (Debian's python3-jwt) checks
the tokens latchkey-bench-validator wrote, the way that program's Validator does, and reports
validations per CPU-second of this process.

    python3 bench/validator_pyjwt.py DIR SECONDS

DIR holds jwks.json, config.json and tokens-ES256.txt / tokens-RS256.txt. Per token: the header's
typ (at+jwt) and kid, the key chosen by kid from the JWKS (parsed once), jwt.decode with the two
algorithms, issuer, audience and the RFC 9068 required claims, then the scope check. Each
algorithm: one pass over every token (warm-up, and each must pass), then SECONDS of process CPU time
(time.process_time) measured. One JSON line per algorithm on stdout.
"""
import json
import sys
import time

import jwt


def main():
    if len(sys.argv) != 3 or float(sys.argv[2]) <= 0:
        sys.exit("usage: validator_pyjwt.py DIR SECONDS")
    directory, seconds = sys.argv[1], float(sys.argv[2])
    with open(f"{directory}/config.json", encoding="utf-8") as f:
        config = json.load(f)
    with open(f"{directory}/jwks.json", encoding="utf-8") as f:
        keys = {k.key_id: k.key for k in jwt.PyJWKSet.from_dict(json.load(f)).keys}
    required = ["iss", "aud", "exp", "iat", "sub", "client_id", "jti"]

    def validate(token):
        header = jwt.get_unverified_header(token)
        if header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError("typ is not at+jwt")
        key = keys.get(header.get("kid"))
        if key is None:
            raise jwt.InvalidTokenError("unknown kid")
        claims = jwt.decode(token, key=key, algorithms=config["algorithms"], audience=config["audience"],
                            issuer=config["issuer"], options={"require": required})
        scope = claims.get("scope")
        if not isinstance(scope, str) or config["required_scope"] not in scope.split(" "):
            raise jwt.InvalidTokenError("insufficient_scope")
        return claims

    for alg in ("ES256", "RS256"):
        with open(f"{directory}/tokens-{alg}.txt", encoding="utf-8") as f:
            tokens = [line.strip() for line in f if line.strip()]
        for token in tokens:
            validate(token)
        done = 0
        cpu0, wall0 = time.process_time(), time.monotonic()
        cpu = 0.0
        while cpu < seconds:
            for _ in range(64):
                validate(tokens[done % len(tokens)])
                done += 1
            cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        print(json.dumps({"impl": "pyjwt", "level": "validator", "alg": alg, "tokens": len(tokens),
                          "validations": done, "cpu_s": cpu, "wall_s": wall, "per_cpu_s": done / cpu,
                          "us_per_validation": 1e6 * cpu / done, "version": jwt.__version__}), flush=True)


if __name__ == "__main__":
    main()
