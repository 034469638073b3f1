#!/usr/bin/env bash
# Throughput benchmark: ntsd (-w 1, -w 2) vs chronyd vs NTPsec's ntpd, each
# answering ntpbench on loopback in a private network namespace (only lo is
# up; no packet can leave the machine). Servers run one after another on
# port 123, never touch the clock (ntsd -x, chronyd -x, ntpd `disable ntp`)
# and are stopped by pid. Not part of tests/run.sh.
#
# usage: tools/bench/run.sh [BUILD_DIR]       (default: $NTSD_BUILD or /tmp/b-h8)
# env:   BENCH_SECONDS (5)  BENCH_COUNT (5000000)  BENCH_SOCKETS (4)
#        BENCH_WINDOW (64)  BENCH_MODES ("plain sha1 cmac nts")
#        BENCH_SERVERS ("ntsd1 ntsd2 chrony ntpsec")
#        BENCH_PERF (1: perf stat on the server; "server CPUs" = CPUs it kept busy)
#        BENCH_PROFILE (1: an extra 2 s run per mode under perf record on ntsd -w 1,
#        printing its top symbols)
# "generator CPUs" is ntpbench's own CPU time over the run (from getrusage).
# "kernel drops" is the namespace's UDP RcvbufErrors delta: requests the
# kernel dropped because the server's socket buffer was full.
set -u
BUILD=$(cd "${1:-${NTSD_BUILD:-/tmp/b-h8}}" && pwd) || exit 1
if [ "${NTPBENCH_IN_NETNS:-}" != 1 ]; then
	# Peers are installed outside the namespace (deps.sh may need apt).
	eval "$("$(dirname "$0")/../deps.sh" --peers)"
	export NTPSEC_NTPD NTPBENCH_IN_NETNS=1
	exec unshare --net -- bash "$0" "$BUILD"
fi
ip link set lo up

NTSD=$BUILD/ntsd/ntsd
BENCH=$BUILD/tools/bench/ntpbench
SECS=${BENCH_SECONDS:-5}
COUNT=${BENCH_COUNT:-5000000}
SOCKS=${BENCH_SOCKETS:-4}
WIN=${BENCH_WINDOW:-64}
MODES=${BENCH_MODES:-plain sha1 cmac nts}
SERVERS=${BENCH_SERVERS:-ntsd1 ntsd2 chrony ntpsec}
PERF=${BENCH_PERF:-1}
PROFILE=${BENCH_PROFILE:-0}
NCPU=$(nproc)
GEN_CPU=0 SRV_CPU=$((NCPU > 1 ? 1 : 0))
for p in "$NTSD" "$BENCH" chronyd openssl "${NTPSEC_NTPD:-ntpd-missing}"; do
	command -v "$p" >/dev/null 2>&1 || [ -x "$p" ] || { echo "run.sh: $p missing" >&2; exit 1; }
done

W=$(mktemp -d /tmp/ntpbench.XXXXXX)
SRV_PID=""
stop_server() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=""
}
trap 'stop_server; rm -rf "$W"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$W/key.pem" -out "$W/cert.pem" >/dev/null 2>&1 || exit 1
chmod 600 "$W/key.pem"
SHA1=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
CMAC=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf '1 SHA1 %s\n2 AES128CMAC %s\n' "$SHA1" "$CMAC" >"$W/ntp.keys"
printf '1 SHA1 HEX:%s\n2 AES128 HEX:%s\n' "$SHA1" "$CMAC" >"$W/chrony.keys"
chmod 600 "$W/ntp.keys" "$W/chrony.keys"

cat >"$W/ntsd.conf" <<CONF
local stratum 10
restrict default nomodify notrap nopeer noquery
restrict 127.0.0.1
interface listen 127.0.0.1
keys $W/ntp.keys
trustedkey 1 2
nts enable
nts cert $W/cert.pem
nts key $W/key.pem
nts cookie $W/masterkeys
CONF
# chrony: no `ratelimit` line means no rate limiting; the client log stays
# at its default (clientloglimit 524288 bytes), as on a default server.
cat >"$W/chrony.conf" <<CONF
local stratum 10
allow 127.0.0.1
bindaddress 127.0.0.1
port 123
cmdport 0
keyfile $W/chrony.keys
ntsserverkey $W/key.pem
ntsservercert $W/cert.pem
ntsport 4460
ntsdumpdir $W/chrony-nts
pidfile $W/chronyd.pid
CONF
mkdir -p "$W/chrony-nts"
cat >"$W/ntpsec.conf" <<CONF
disable ntp
tos orphan 8 orphanwait 1
restrict default nomodify notrap nopeer noquery
restrict 127.0.0.1
keys $W/ntp.keys
trustedkey 1 2
nts enable
nts cert $W/cert.pem
nts key $W/key.pem
CONF

# bench MODE [EXTRA...]: one ntpbench run on the generator CPU.
bench_args() {
	case $1 in
	plain) ;;
	sha1) echo "-k $W/ntp.keys -a 1" ;;
	cmac) echo "-k $W/ntp.keys -a 2" ;;
	nts) echo "--nts 127.0.0.1:4460 --ca $W/cert.pem" ;;
	esac
}
# ready MODE: bounded wait (10 s) until the server answers in MODE.
ready() {
	for _ in $(seq 1 40); do
		kill -0 "$SRV_PID" 2>/dev/null || return 1
		# shellcheck disable=SC2046
		"$BENCH" -n 8 -d 0.2 -s 1 -W 1 $(bench_args "$1") >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	return 1
}

start_server() { # start_server NAME
	local s=$1
	: >"$W/$s.log"
	case $s in
	ntsd1) taskset -c "$SRV_CPU" "$NTSD" -n -x -w 1 -c "$W/ntsd.conf" \
		--stats-file "$W/ntsd1.stats" >"$W/$s.log" 2>&1 & ;;
	ntsd2) "$NTSD" -n -x -w 2 -c "$W/ntsd.conf" \
		--stats-file "$W/ntsd2.stats" >"$W/$s.log" 2>&1 & ;;
	chrony) taskset -c "$SRV_CPU" chronyd -x -d -u root -f "$W/chrony.conf" >"$W/$s.log" 2>&1 & ;;
	ntpsec) taskset -c "$SRV_CPU" "$NTPSEC_NTPD" -n -c "$W/ntpsec.conf" >"$W/$s.log" 2>&1 & ;;
	esac
	SRV_PID=$!
}

# UDP RcvbufErrors of this namespace (/proc/net/snmp is per namespace).
rcvbuf_errors() {
	awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}
# ntsd_counters: "received replied auth_ok nts_ok" from ntsd (SIGUSR1 to
# --stats-file; bounded wait of 3 s).
ntsd_counters() {
	local f=$W/$s.stats
	rm -f "$f"
	kill -USR1 "$SRV_PID" 2>/dev/null
	for _ in $(seq 1 60); do [ -s "$f" ] && grep -q '^ke_responses' "$f" && break; sleep 0.05; done
	awk '{ v[$1] = $2 } END { print v["received"] + 0, v["replied"] + 0, v["auth_ok"] + 0, v["nts_ok"] + 0 }' "$f"
}
ROWS=()
echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -r), $NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "# loadavg before: $(cat /proc/loadavg)"
echo "# ntpbench -s $SOCKS -W $WIN -n $COUNT -d $SECS (generator on CPU $GEN_CPU, server on CPU $SRV_CPU; ntsd -w 2 unpinned)"
for s in $SERVERS; do
	start_server "$s"
	for m in $MODES; do
		if ! ready "$m"; then
			echo "# $s $m: no answer (skipped); log:"; tail -5 "$W/$s.log" | sed 's/^/#   /'
			ROWS+=("$s|$m|-|-|-|-|-|-|-")
			continue
		fi
		[ "$s" = ntpsec ] && sleep 1 # past orphanwait: answers as stratum 8 orphan
		perf_pid=""
		if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
			timeout $((${SECS%.*} + 5)) perf stat -e task-clock,context-switches,cycles,instructions \
				-p "$SRV_PID" -o "$W/perf.$s.$m" -- sleep "$SECS" >/dev/null 2>&1 &
			perf_pid=$!
		fi
		d0=$(rcvbuf_errors)
		case $s in ntsd*) c0=$(ntsd_counters) ;; esac
		# shellcheck disable=SC2046
		out=$(taskset -c "$GEN_CPU" "$BENCH" -s "$SOCKS" -W "$WIN" -n "$COUNT" -d "$SECS" --json $(bench_args "$m"))
		[ -n "$perf_pid" ] && wait "$perf_pid"
		drops=$(($(rcvbuf_errors) - d0))
		case $s in ntsd*)
			c1=$(ntsd_counters)
			sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sent"])' "$out" 2>/dev/null)
			read -r r0 p0 a0 n0 <<<"$c0"
			read -r r1 p1 a1 n1 <<<"$c1"
			echo "# $s $m: ntsd counted received +$((r1 - r0)) replied +$((p1 - p0)) auth_ok +$((a1 - a0)) nts_ok +$((n1 - n0)); ntpbench sent $sent"
			;;
		esac
		echo "# $s $m: $out"
		if [ -n "$perf_pid" ] && [ -f "$W/perf.$s.$m" ]; then
			grep -E 'task-clock|cycles|instructions|context' "$W/perf.$s.$m" | sed "s/^/#   perf $s $m: /"
		fi
		cpu=$(awk '/task-clock/ { for (i = 1; i < NF; i++) if ($(i+1) == "CPUs") print $i }' "$W/perf.$s.$m" 2>/dev/null)
		row=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%d|%.2f%%|%d|%d|%.2f" % (d["responses_per_s"], d["loss_pct"], d["p50_us"], d["p99_us"], d["generator_cpus"]))' "$out" 2>/dev/null) || row="-|-|-|-|-"
		ROWS+=("$s|$m|$row|${cpu:--}|$drops")
		if [ "$PROFILE" = 1 ] && [ "$s" = ntsd1 ] && command -v perf >/dev/null; then
			timeout 10 perf record -q -o "$W/rec.$m" -p "$SRV_PID" -- sleep 2 >/dev/null 2>&1 &
			perf_pid=$!
			# shellcheck disable=SC2046
			taskset -c "$GEN_CPU" "$BENCH" -s "$SOCKS" -W "$WIN" -n "$COUNT" -d 2 $(bench_args "$m") >/dev/null
			wait "$perf_pid"
			echo "# perf record, ntsd -w 1, $m: top symbols (self)"
			perf report -i "$W/rec.$m" --no-children --sort dso,symbol --stdio 2>/dev/null |
				grep -E '^ +[0-9]' | head -15 | sed 's/^/#   /'
		fi
	done
	stop_server
	case $s in ntsd1|ntsd2)
		echo "# $s counters (--stats-file, written at exit):"
		awk '$2 != 0' "$W/$s.stats" 2>/dev/null | sed 's/^/#   /' ;;
	esac
done
echo "# loadavg after: $(cat /proc/loadavg)"
echo
echo "| server | workers | mode | responses/s | loss | kernel drops | p50 µs | p99 µs | server CPUs | generator CPUs |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
	IFS='|' read -r s m rps loss p50 p99 gcpu cpu drops <<<"$r"
	case $s in
	ntsd1) name="ntsd" wk=1 ;;
	ntsd2) name="ntsd" wk=2 ;;
	chrony) name="chronyd $(chronyd -v | awk '{print $4}')" wk=1 ;;
	ntpsec) name="NTPsec ntpd $("$NTPSEC_NTPD" --version 2>&1 | awk '{print $2}' | head -1)" wk=1 ;;
	esac
	echo "| $name | $wk | $m | $rps | $loss | $drops | $p50 | $p99 | $cpu | $gcpu |"
done
