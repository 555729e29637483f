#!/usr/bin/env python3
"""Batch driver for dkimpy, the independent DKIM implementation the
mail-authn interop test compares against.

stdin: JSON {"keys": {"<s>._domainkey.<d>": "<TXT record>"}, "jobs": [...]}
  {"op": "verify", "msg": <base64>}  -> [true|false per DKIM-Signature]
  {"op": "sign", "msg": <base64>, "selector": s, "domain": d,
   "key": <path to PEM>, "algo": "rsa-sha256"|"ed25519-sha256",
   "canon": "relaxed/relaxed", "headers": [..] or null}
                                      -> {"sig": <base64 of the header field>}
  {"op": "arc_sign", "msg": .., "selector", "domain", "key", "srv_id"}
                                      -> {"sig": <base64 of the 3 ARC fields>}
  {"op": "arc_verify", "msg": ..}     -> "pass" | "fail" | "none"
stdout: JSON list, one entry per job. DNS is answered from "keys" only
(dkimpy's dnsfunc hook); nothing goes to the network.
"""
import base64
import json
import os
import sys

import dkim


def seed_from_pkcs8_pem(path):
    body = "".join(l for l in open(path) if not l.startswith("-----"))
    der = base64.b64decode(body)
    return base64.b64encode(der[-32:])  # RFC 8410 PKCS#8: the seed is last


def main():
    req = json.load(sys.stdin)
    keys = {k.lower().rstrip("."): v.encode() for k, v in req["keys"].items()}

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return keys.get(name.lower().rstrip("."), None)

    out = []
    for job in req["jobs"]:
        msg = base64.b64decode(job["msg"])
        if job["op"] == "verify":
            d = dkim.DKIM(msg, minkey=1024)
            n = sum(1 for (h, _) in d.headers if h.lower() == b"dkim-signature")
            res = []
            for i in range(n):
                try:
                    res.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
                except Exception as e:  # dkimpy raises on malformed input
                    if os.environ.get("DKIMPY_DEBUG"):
                        sys.stderr.write("dkimpy verify error: %r\n" % (e,))
                    res.append(False)
            out.append(res)
        elif job["op"] == "sign":
            if job["algo"] == "ed25519-sha256":
                key = seed_from_pkcs8_pem(job["key"])
            else:
                key = open(job["key"], "rb").read()
            hc, bc = job.get("canon", "relaxed/relaxed").split("/")
            hdrs = job.get("headers")
            sig = dkim.sign(
                msg,
                job["selector"].encode(),
                job["domain"].encode(),
                key,
                canonicalize=(hc.encode(), bc.encode()),
                signature_algorithm=job["algo"].encode(),
                include_headers=[h.encode() for h in hdrs] if hdrs else None,
                length=bool(job.get("length")),
            )
            out.append({"sig": base64.b64encode(sig).decode()})
        elif job["op"] == "arc_sign":
            # ARC sealing (RFC 8617); needs an Authentication-Results field
            # whose authserv-id is srv_id in the message.
            key = open(job["key"], "rb").read()
            hdrs = dkim.arc_sign(msg, job["selector"].encode(), job["domain"].encode(),
                                 key, job["srv_id"].encode())
            out.append({"sig": base64.b64encode(b"".join(hdrs)).decode()})
        elif job["op"] == "arc_verify":
            cv, _, _ = dkim.arc_verify(msg, dnsfunc=dnsfunc)
            out.append(cv.decode() if cv else "fail")  # None: chain unparsable
        else:
            raise SystemExit("unknown op %r" % job["op"])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
