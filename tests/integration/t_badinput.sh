#!/usr/bin/env bash
# Bad input never crashes or blocks the server: truncated, oversized,
# wrong-version, wrong-mode and random datagrams are dropped and counted,
# and real clients are still served afterwards.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require ntpdig python3 "$NTSD"

cat >"$WORK/ntp.conf" <<CONF
local stratum 10
restrict default nomodify notrap nopeer
CONF
start_ntsd "$WORK/ntp.conf" -P 12300
ok $? "ntsd starts on port 12300"

python3 - "$WORK" <<'PY'
import os, random, socket, struct, sys, time
work = sys.argv[1]
seed = int(time.time())
print(f"# seed {seed}")
rnd = random.Random(seed)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dst = ("127.0.0.1", 12300)
counts = {"short": 0, "oversize": 0, "bad_version": 0, "private": 0, "control": 0, "bad_mode": 0}
def req(vn, mode):
    return bytes([(vn << 3) | mode]) + bytes(47)
for n in range(48):                       # truncated
    s.sendto(req(4, 3)[:n], dst); counts["short"] += 1 if n else 0
s.sendto(bytes(2000), dst); counts["oversize"] += 1
s.sendto(bytes(9000), dst); counts["oversize"] += 1
for vn in (0, 5, 6, 7):
    s.sendto(req(vn, 3), dst); counts["bad_version"] += 1
for mode in (0, 2, 4, 5):
    s.sendto(req(4, mode), dst); counts["bad_mode"] += 1
s.sendto(req(2, 7) + bytes(100), dst); counts["private"] += 1
s.sendto(bytes([0x16, 0x02, 0, 1]) + bytes(8), dst); counts["control"] += 1
for i in range(3000):                     # random garbage
    s.sendto(os.urandom(rnd.randrange(1, 1300)), dst)
open(f"{work}/expected", "w").write("".join(f"{k} {v}\n" for k, v in counts.items()))
PY
sleep 0.5
kill -0 "$NTSD_PID"
ok $? "ntsd is still running after 3000+ bad datagrams"
python3 "$PYCLIENT" --port 12300 127.0.0.1 >"$WORK/after.json"
grep -q '"stratum": 10' "$WORK/after.json" && grep -q '"org_ok": true' "$WORK/after.json"
ok $? "a good request is still answered afterwards"

rm -f "$WORK/stats"
kill -USR1 "$NTSD_PID"
sleep 0.3
while read -r name want; do
	got=$(awk -v n="$name" '$1 == n { print $2 }' "$WORK/stats")
	[ "${got:-0}" -ge "$want" ]
	ok $? "counter $name counted the bad datagrams (want >= $want, got ${got:-none})"
done <"$WORK/expected"
recv=$(awk '$1 == "received" { print $2 }' "$WORK/stats")
sum=$(awk '$3 == "O" { s += $2 } END { print s }' "$WORK/stats")
[ "$recv" = "$sum" ]
ok $? "every datagram is accounted for: received $recv = replied + dropped $sum"
grep -q "Counter received" "$NTSD_LOG"
ok $? "SIGUSR1 logs the counters"
stop_ntsd
ok $? "ntsd exits cleanly"
