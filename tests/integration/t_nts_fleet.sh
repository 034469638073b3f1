#!/usr/bin/env bash
# A fleet of ntsd servers sharing one NTS master key file, in two network
# namespaces joined by a veth pair (addresses that exist only inside the
# two namespaces): ntsd F (NTS-KE front end, `nts ntpserver` pointing at
# B) in this namespace, ntsd B (NTP back end) in a second one. chronyd -Q
# does its key exchange with F and gets NTS time from B. Then B restarts
# and F stops: chronyd, starting again from the cookies it saved, still
# gets NTS time from B without any key exchange, because the master keys
# survive in the file.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require openssl python3 ip chronyd "$NTSD"

NS=ntsdtest-$$-fleet
F=10.200.9.1
B=10.200.9.2
teardown() {
	cleanup
	local rc=$?
	[ -n "${BPID:-}" ] && kill "$BPID" 2>/dev/null && wait "$BPID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	exit $rc
}
trap teardown EXIT

ip netns add "$NS" &&
	ip link add vfront type veth peer name vback netns "$NS" &&
	ip addr add $F/30 dev vfront && ip link set vfront up &&
	ip -n "$NS" link set lo up &&
	ip -n "$NS" addr add $B/30 dev vback && ip -n "$NS" link set vback up
ok $? "two network namespaces joined by a veth pair ($F, $B)"
for i in $(seq 1 50); do
	ip link show vfront | grep -q LOWER_UP && ip -n "$NS" link show vback | grep -q LOWER_UP && break
	sleep 0.1
done

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=time.fleet.test -addext "subjectAltName=IP:$F,IP:$B" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for $F and $B"
chmod 600 "$WORK/key.pem"
for who in front back; do
	{
		[ $who = front ] && echo "local stratum 10" || echo "local stratum 11"
		[ $who = front ] && echo "interface listen $F" || echo "interface listen $B"
		echo "nts enable"
		echo "nts cert $WORK/cert.pem"
		echo "nts key $WORK/key.pem"
		echo "nts cookie $WORK/shared-masterkeys"
		[ $who = front ] && echo "nts ntpserver $B"
	} >"$WORK/$who.conf"
done

start_ntsd "$WORK/front.conf"
ok $? "front end F starts (NTS-KE on $F, sends clients to $B)"
FPID=$NTSD_PID
# start_back: ntsd B in the second namespace.
start_back() {
	ip netns exec "$NS" "$NTSD" -n -x -c "$WORK/back.conf" --stats-file "$WORK/back.stats" \
		>"$WORK/back.$1.log" 2>&1 &
	BPID=$!
	for i in $(seq 1 100); do
		grep -q "serving NTP" "$WORK/back.$1.log" 2>/dev/null && return 0
		sleep 0.05
	done
	sed 's/^/#   /' "$WORK/back.$1.log"
	return 1
}
back_stat() {
	rm -f "$WORK/back.stats"
	kill -USR1 "$BPID"
	for i in $(seq 1 60); do
		[ -f "$WORK/back.stats" ] && break
		sleep 0.05
	done
	awk -v n="$1" '$1 == n { print $2 }' "$WORK/back.stats"
}
start_back 1
ok $? "back end B starts in the other namespace, sharing the master key file"

mkdir -p "$WORK/chrony"
cat >"$WORK/chrony/chrony.conf" <<CC
server $F iburst nts maxsamples 4
ntstrustedcerts $WORK/cert.pem
ntsdumpdir $WORK/chrony
logdir $WORK/chrony
log measurements
pidfile $WORK/chrony/chronyd.pid
CC
# cq RUN: one chronyd -Q run; prints its output; ok when it reported an offset.
cq() {
	timeout 40 chronyd -Q -u root -f "$WORK/chrony/chrony.conf" -t 30 >"$WORK/chrony/q$1.out" 2>&1
	sed 's/^/#   /' "$WORK/chrony/q$1.out" | tail -3
	grep -q "System clock wrong by" "$WORK/chrony/q$1.out"
}
cq 1
ok $? "chronyd -Q: KE with F, NTS time from B"
awk -v b="$B" '$3 == b && $6 == "111" && $7 == "111" && $8 == "1111" { f = 1 } END { exit !f }' \
	"$WORK/chrony/measurements.log" 2>/dev/null
ok $? "chronyd's measurements come from B ($B) and pass every test"
[ "$(back_stat nts_ok)" -ge 1 ]
ok $? "B opened cookies that F sealed (nts_ok >= 1)"
ls "$WORK/chrony/"*.nts >/dev/null 2>&1
ok $? "chronyd saved its NTS cookies (ntsdumpdir)"

# Restart B, stop F: only the master key file carries the keys across.
kill "$BPID" && wait "$BPID" 2>/dev/null
NTSD_PID=$FPID
stop_ntsd
start_back 2
ok $? "B restarted; F stopped (no KE server is left)"
rm -f "$WORK/chrony/measurements.log"
cq 2
ok $? "chronyd -Q, starting from its saved cookies, still gets NTS time from the restarted B"
[ "$(back_stat nts_ok)" -ge 1 ] && [ "$(back_stat nts_bad_cookie)" = 0 ]
ok $? "the restarted B accepted the cookies sealed before its restart (no NTSN)"
