#!/usr/bin/env python3
"""Batch driver for pysrs (PyPI "pysrs", module SRS: the Python port of
libsrs/Mail::SRS, Guarded scheme as used by postsrsd).

stdin: JSON {"secret": s, "domain": d, "now": unix-seconds, "maxage": days,
             "jobs": [{"op": "forward"|"reverse", "addr": a}]}
stdout: JSON list of results; failures are "ERR".
time.time() is pinned to "now" so both sides use the same day.
"""
import base64
import json
import sys
import time

# pysrs 1.0.3 still calls base64.encodestring (removed in Python 3.9).
if not hasattr(base64, "encodestring"):
    base64.encodestring = base64.encodebytes

import SRS


def main():
    req = json.load(sys.stdin)
    now = float(req["now"])
    time.time = lambda: now
    srs = SRS.new(secret=req["secret"], maxage=req.get("maxage", 21),
                  hashlength=4, separator="=", alwaysrewrite=True)
    out = []
    for job in req["jobs"]:
        try:
            if job["op"] == "forward":
                out.append(srs.forward(job["addr"], req["domain"]))
            else:
                out.append(srs.reverse(job["addr"]))
        except Exception:
            out.append("ERR")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
