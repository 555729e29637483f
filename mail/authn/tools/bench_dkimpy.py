#!/usr/bin/env python3
"""dkimpy sign/verify throughput on the same message and keys as
examples/dkim_bench.rs (figures only)."""
import base64
import os
import time

import dkim

KEYS = os.path.join(os.path.dirname(__file__), "..", "tests", "keys")


def message():
    m = (b"From: Ada <ada@example.com>\r\nTo: Grace <grace@example.org>\r\n"
         b"Subject: benchmark\r\nDate: Sun, 22 Nov 2026 06:00:00 +0000\r\n"
         b"Message-ID: <b@example.com>\r\n\r\n")
    for i in range(80):
        m += b"line %d of a 4 KiB-ish body, with some  spaces   \r\n" % i
    return m


def main():
    msg = message()
    ed_der = base64.b64decode("".join(
        l for l in open(os.path.join(KEYS, "ed25519.pkcs8.pem")) if not l.startswith("-----")))
    cases = [
        ("rsa-2048", b"rsa-sha256", open(os.path.join(KEYS, "rsa2048.pkcs1.pem"), "rb").read(), 100),
        ("ed25519", b"ed25519-sha256", base64.b64encode(ed_der[-32:]), 500),
    ]
    for name, algo, key, n in cases:
        t = time.time()
        for _ in range(n):
            sig = dkim.sign(msg, b"b", b"example.com", key, signature_algorithm=algo,
                            canonicalize=(b"relaxed", b"relaxed"))
        sign_rate = n / (time.time() - t)
        # The public record: sign once more and read p= back via dkimpy's own
        # key handling would need DNS; take it from our PEM instead.
        if algo == b"ed25519-sha256":
            import nacl.signing
            pub = nacl.signing.SigningKey(ed_der[-32:]).verify_key.encode()
            rec = b"v=DKIM1; k=ed25519; p=" + base64.b64encode(pub)
        else:
            from cryptography.hazmat.primitives import serialization
            k = serialization.load_pem_private_key(key, None)
            der = k.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
            rec = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
        full = sig + msg
        t = time.time()
        for _ in range(n):
            assert dkim.verify(full, dnsfunc=lambda name, timeout=5: rec)
        verify_rate = n / (time.time() - t)
        print("dkimpy %s: sign %.0f/s, verify %.0f/s (%d byte message)" % (name, sign_rate, verify_rate, len(msg)))


if __name__ == "__main__":
    main()
