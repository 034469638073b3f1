#!/usr/bin/env python3
"""Stands in for systemd's notification socket (sd_notify(3)): binds a
datagram socket at PATH and appends each message to OUT as
"MONOTONIC_SECONDS<TAB>message with newlines as |". On READY=1 it also
sends one NTP client request to 127.0.0.1:PORT and records
"QUERY<TAB>answered" or "QUERY<TAB>no answer", proving the daemon serves
when it says it is ready. Runs until killed."""
import os
import socket
import sys
import time

path, out, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write("%.3f\t%s\n" % (time.monotonic(), msg.replace("\n", "|")))
        if "READY=1" in msg.split("\n"):
            q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            q.settimeout(1)
            try:
                q.sendto(b"\x23" + b"\0" * 47, ("127.0.0.1", port))
                q.recv(512)
                f.write("QUERY\tanswered\n")
            except OSError:
                f.write("QUERY\tno answer\n")
            q.close()
