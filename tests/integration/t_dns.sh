#!/usr/bin/env bash
# Server names are looked up in the background: a DNS server that never
# answers delays neither ntsd's start nor its other sources. Runs in its
# own mount namespace too, where /etc/resolv.conf points at a local
# "resolver" that swallows every query and /etc/hosts names the good
# upstream; the real files are never touched.
if [ "${NTSD_IN_MOUNTNS:-}" != 1 ]; then
	export NTSD_IN_MOUNTNS=1
	exec unshare --mount --propagation private -- "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
NTSQ="$NTSD_BUILD/tools/ntsq"
require python3 getent "$NTSD" "$NTSQ"
for a in 127.0.0.3 127.0.0.4; do ip addr add $a/8 dev lo 2>/dev/null; done

# a resolver that reads queries and never answers (stops by itself)
python3 - >"$WORK/dns.log" 2>&1 <<'PY' &
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
s.settimeout(1.0)
print("listening", flush=True)
end = time.time() + 120
n = 0
while time.time() < end:
    try:
        s.recvfrom(2048)
        n += 1
        print("query", n, flush=True)
    except socket.timeout:
        pass
PY
PIDS+=("$!")
printf 'nameserver 127.0.0.1\noptions timeout:3 attempts:2\n' >"$WORK/resolv.conf"
printf '127.0.0.1 localhost\n127.0.0.2 good.ntsd.test\n127.0.0.3 pool.ntsd.test\n127.0.0.4 pool.ntsd.test\n' >"$WORK/hosts"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf &&
	mount --bind "$WORK/hosts" /etc/hosts
ok $? "private /etc/resolv.conf (a resolver that never answers) and /etc/hosts"
for _ in $(seq 1 40); do grep -q listening "$WORK/dns.log" && break; sleep 0.05; done

# How long one lookup of the dead name blocks (the reference for below).
t0=$(date +%s.%N)
getent ahosts slow.ntsd.test >/dev/null
GRC=$?
LOOKUP=$(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))")
[ $GRC -ne 0 ] && python3 -c "import sys; sys.exit(0 if $LOOKUP >= 4 else 1)"
ok $? "a lookup of slow.ntsd.test fails only after $LOOKUP s (resolver timeout)"

# Upstream A: local clock, stratum 10, on 127.0.0.2.
cat >"$WORK/a.conf" <<CONF
local stratum 10
interface listen 127.0.0.2
restrict default nomodify notrap nopeer
CONF
start_ntsd "$WORK/a.conf"
ok $? "upstream ntsd A serves on 127.0.0.2"

# C and D: the two addresses of pool.ntsd.test, local clock, stratum 10.
for a in 127.0.0.3 127.0.0.4; do
	printf 'local stratum 10\ninterface listen %s\nrestrict default nomodify notrap nopeer\n' $a >"$WORK/$a.conf"
	start_ntsd "$WORK/$a.conf" || break
done
ok $? "pool members C and D serve on 127.0.0.3 and 127.0.0.4"

# B: a server and a pool by names from /etc/hosts, a server and a pool
# whose lookups hang.
cat >"$WORK/b.conf" <<CONF
server slow.ntsd.test iburst
pool slowpool.ntsd.test iburst
server good.ntsd.test iburst
pool pool.ntsd.test iburst
interface listen 127.0.0.1
restrict default nomodify notrap nopeer
CONF
t0=$(date +%s.%N)
start_ntsd "$WORK/b.conf"
RC=$?
START=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
ok $RC "ntsd B serves NTP ${START} s after it starts, while a lookup still hangs"
B_LOG=$NTSD_LOG
python3 -c "import sys; sys.exit(0 if $START < $LOOKUP / 2 else 1)"
ok $? "B's start ($START s) did not wait for the dead lookup ($LOOKUP s)"
for n in slow.ntsd.test slowpool.ntsd.test good.ntsd.test pool.ntsd.test; do
	grep -q "resolving $n in the background" "$B_LOG" || break
done
ok $? "B says all four names are resolved in the background"

t0=$(date +%s.%N)
"$NTSQ" wait --timeout 20 -t 0.5 127.0.0.1 >"$WORK/wait.out" 2>&1
RC=$?
SYNC=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
ok $RC "B synchronizes to its resolvable sources (after ${SYNC} s more)"
sed 's/^/#   /' "$WORK/wait.out"
python3 -c "import sys; sys.exit(0 if $START + $SYNC < $LOOKUP else 1)"
ok $? "synchronized ($START + $SYNC s) before the dead lookup could have failed ($LOOKUP s)"
# the system peer is whichever of good.ntsd.test and the two pool
# addresses selection prefers: all three are stratum 10 on loopback
grep -Eq "synchronized to (good|pool)\.ntsd\.test \(refid 127\.0\.0\.[234]\) at stratum 11" "$WORK/wait.out"
ok $? "ntsq wait: synchronized to good.ntsd.test or a pool address at stratum 11"
grep -q "Source good.ntsd.test: resolved to 127.0.0.2" "$B_LOG"
ok $? "B logs the background lookup's result"
for _ in $(seq 1 40); do
	[ "$(grep -c "Source pool.ntsd.test: resolved to 127.0.0.[34]" "$B_LOG")" -eq 2 ] && break
	sleep 0.1
done
grep -q "Source pool.ntsd.test: resolved to 127.0.0.3" "$B_LOG" &&
	grep -q "Source pool.ntsd.test: resolved to 127.0.0.4" "$B_LOG" &&
	grep -q "Source pool.ntsd.test: the pool gave 2 addresses for 4 sources" "$B_LOG"
ok $? "the pool's one lookup gives its two addresses to two of its four sources"

# The dead name fails on its own and is retried later; B stays synchronized.
for _ in $(seq 1 300); do
	grep -q "Source slowpool.ntsd.test: cannot resolve" "$B_LOG" &&
		grep -q "Source slow.ntsd.test: cannot resolve" "$B_LOG" && break
	sleep 0.1
done
grep -q "Source slow.ntsd.test: cannot resolve slow.ntsd.test" "$B_LOG" &&
	grep -q "Source slowpool.ntsd.test: cannot resolve slowpool.ntsd.test" "$B_LOG"
ok $? "the dead lookups fail with a warning naming the source"
grep "slow.ntsd.test" "$B_LOG" | sed 's/^/#   /'
for _ in $(seq 1 100); do
	"$NTSQ" -p -n 127.0.0.1 >"$WORK/peers.out" 2>&1
	[ "$(grep -Ec '^[*+ ]127\.0\.0\.[234] .* 10 u ' "$WORK/peers.out")" -eq 3 ] && break
	sleep 0.1
done
[ "$(grep -Ec '^[*+ ]127\.0\.0\.[234] .* 10 u ' "$WORK/peers.out")" -eq 3 ] &&
	[ "$(grep -Ec '^ +0\.0\.0\.0 ' "$WORK/peers.out")" -eq 7 ]
ok $? "ntsq -p: good.ntsd.test and both pool addresses answer at stratum 10; 7 sources wait for an address"
sed 's/^/#   /' "$WORK/peers.out"
Q=$(grep -c query "$WORK/dns.log")
[ "$Q" -ge 1 ]
ok $? "the names went to the (dead) resolver: $Q queries"
t0=$SECONDS
stop_ntsd
ok $? "B stops cleanly on SIGTERM ($((SECONDS - t0)) s)"
