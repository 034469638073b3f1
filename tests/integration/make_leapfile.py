#!/usr/bin/env python3
"""Writes a leap-seconds.list in the IETF format with a correct #h hash.
Usage: make_leapfile.py OUT UPDATED EXPIRES WHEN:OFFSET...  (NTP seconds;
"now+S" means S seconds from now, rounded down to the minute).
--bad-hash flips one hash digit."""
import hashlib
import sys
import time

NTP_UNIX = 2208988800


def ntp(v):
    if v.startswith("now"):
        return (int(time.time()) + NTP_UNIX + int(v[3:] or 0)) // 60 * 60
    return int(v)


args = sys.argv[1:]
bad = "--bad-hash" in args
args = [a for a in args if a != "--bad-hash"]
out, updated, expires = args[0], ntp(args[1]), ntp(args[2])
entries = [(ntp(w), int(o)) for w, o in (e.rsplit(":", 1) for e in args[3:])]
digits = "%d%d" % (updated, expires) + "".join("%d%d" % e for e in entries)
h = hashlib.sha1(digits.encode()).hexdigest()
if bad:
    h = h[:-1] + ("0" if h[-1] != "0" else "1")
with open(out, "w") as f:
    f.write("# test leap second list\n#$\t%d\n#@\t%d\n#\n" % (updated, expires))
    for w, o in entries:
        f.write("%d\t%d\t# test\n" % (w, o))
    f.write("#h\t%s\n" % " ".join(h[i:i + 8] for i in range(0, 40, 8)))
