#!/usr/bin/env bash
# One-shot offset accuracy through an exact delay proxy: ntsclient, ntpdig
# and chronyd -Q query an ntsd server (-x, local clock) through delayproxy,
# which holds each datagram for a seeded delay drawn independently per
# direction. Server and clients share this machine's clock, so the true
# offset is 0 and each client's reported offset is its error. Run k of
# every client uses proxy seed EST_SEED+k: all clients see the same delays
# for their i-th request and answer. estsim replays the same seeds offline
# for the model's bound. Everything runs in a private network namespace
# (loopback only); ntsd and chronyd never touch the clock (-x, -Q).
# Not part of tests/run.sh.
#
# usage: tools/bench/estimator.sh [BUILD_DIR]   (default: $NTSD_BUILD or ./build)
# env:   EST_RUNS (21)  EST_SAMPLES (8)  EST_SEED (1000)
#        EST_MODELS ("gauss qout qback outliers mix fixed"; see model_specs)
#        EST_LATE_US (20: a run with a datagram sent later than this is repeated)
#        EST_VARIANTS ("LABEL=PATH ...": other ntsclient binaries, e.g. an older
#        one, measured like ntsclient under LABEL)
#        EST_OUT (directory for the raw results; default a temporary one)
# Clients: ntsclient -p N, ntpdig -p N (port 123 only, hence the proxy on
# 127.0.0.2:123 and ntsd on 127.0.0.1:1123), chronyd -Q with iburst (it
# stops once its source is selectable, after 3 samples, whatever N is).
# The proxy runs at SCHED_FIFO priority 1 (it spins the last 200 us before
# each send) and reports its own timing error; the other programs run at
# normal priority.
set -u
BUILD=$(cd "${1:-${NTSD_BUILD:-$(dirname "$0")/../../build}}" && pwd) || exit 1
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "${EST_IN_NETNS:-}" != 1 ]; then
	export EST_IN_NETNS=1
	exec unshare --net -- bash "$0" "$BUILD"
fi
ip link set lo up

RUNS=${EST_RUNS:-21}
N=${EST_SAMPLES:-8}
SEED=${EST_SEED:-1000}
LATE=${EST_LATE_US:-20}
MODELS=${EST_MODELS:-gauss qout qback outliers mix fixed}
NTSD=$BUILD/ntsd/ntsd
PROXY=$BUILD/tools/bench/delayproxy
ESTSIM=$BUILD/tools/bench/estsim
CLIENT=$BUILD/tools/ntsclient
declare -A BIN=([ntsclient]=$CLIENT)
CLIENTS=""
for v in ${EST_VARIANTS:-}; do
	BIN[${v%%=*}]=${v#*=}
	CLIENTS="$CLIENTS ${v%%=*}"
done
CLIENTS="${CLIENTS# } ntsclient ntpdig chronyd"
for p in "$NTSD" "$PROXY" "$ESTSIM" "${BIN[@]}" ntpdig chronyd chrt python3; do
	command -v "$p" >/dev/null 2>&1 || [ -x "$p" ] || { echo "estimator.sh: $p missing" >&2; exit 1; }
done

W=${EST_OUT:-$(mktemp -d /tmp/estbench.XXXXXX)}
mkdir -p "$W"
NTSD_PID="" PROXY_PID=""
stop() { # stop PID: SIGTERM, bounded wait, then SIGKILL
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
trap 'stop "$PROXY_PID"; stop "$NTSD_PID"; [ -n "${EST_OUT:-}" ] || rm -rf "$W"' EXIT

model_specs() { # model_specs MODEL: "OUT BACK" proxy specs (ms)
	case $1 in
	gauss) echo "gauss,2,0.5 gauss,2,0.5" ;;
	qout) echo "exp,0.2,1 fixed,0.2" ;;
	qback) echo "fixed,0.2 exp,0.2,1" ;;
	outliers) echo "gauss,2,0.5,outlier=0.1:20 gauss,2,0.5,outlier=0.1:20" ;;
	mix) echo "gexp,1,0.1,1 gauss,1,0.1" ;; # small jitter plus queueing one way
	fixed) echo "fixed,0.2 fixed,0.2" ;; # the setup's own noise: no jitter at all
	*) echo "estimator.sh: unknown model $1" >&2; return 1 ;;
	esac
}

printf 'local stratum 10\n' >"$W/ntsd.conf"
"$NTSD" -n -x -P 1123 -c "$W/ntsd.conf" >"$W/ntsd.log" 2>&1 &
NTSD_PID=$!
for _ in $(seq 1 100); do grep -q "serving NTP" "$W/ntsd.log" && break; sleep 0.05; done
grep -q "serving NTP" "$W/ntsd.log" || { cat "$W/ntsd.log"; exit 1; }
cat >"$W/chrony.conf" <<CONF
server 127.0.0.2 iburst minpoll -6 maxpoll -6
pidfile $W/chronyd.pid
cmdport 0
CONF

# query CLIENT: prints the client's offset in seconds (empty on failure).
query() {
	case $1 in
	ntpdig)
		timeout 60 ntpdig -j -p "$N" -t 2 127.0.0.2 2>>"$W/client.err" |
			sed -n 's/.*"offset":\([-+0-9.e]*\),.*/\1/p' ;;
	chronyd)
		# "System clock wrong by X": X is minus the offset.
		timeout 30 chronyd -Q -u root -f "$W/chrony.conf" -t 20 2>&1 | tee -a "$W/chronyd.out" |
			sed -n 's/.*System clock wrong by \([-+0-9.e]*\) seconds.*/\1/p' |
			awk '{ printf "%.9f\n", -$1 }' ;;
	*)
		timeout 30 "${BIN[$1]}" -p "$N" -t 2 127.0.0.2 2>>"$W/client.err" |
			sed -n 's/^offset \([-+0-9.]*\) s from.*/\1/p' ;;
	esac
}

start_proxy() { # start_proxy MODEL SEED LOG
	local specs
	specs=$(model_specs "$1") || exit 1
	# shellcheck disable=SC2086
	set -- "$1" "$2" "$3" $specs
	rm -f "$3.err" # a stale "ready" must not be read
	chrt -f 1 "$PROXY" --listen 127.0.0.2:123 --server 127.0.0.1:1123 --out "$4" --back "$5" \
		--seed "$2" --log "$3" 2>"$3.err" &
	PROXY_PID=$!
	for _ in $(seq 1 100); do grep -q ready "$3.err" 2>/dev/null && return 0; sleep 0.02; done
	echo "estimator.sh: delayproxy did not start:" >&2
	cat "$3.err" >&2
	exit 1
}

: >"$W/retries"
echo "estimator benchmark: $RUNS runs x {$CLIENTS}, $N samples, seeds $SEED..$((SEED + RUNS - 1)), raw results in $W"
for m in $MODELS; do
	: >"$W/$m.results"
	rm -rf "${W:?}/$m"
	mkdir -p "$W/$m"
	for k in $(seq 0 $((RUNS - 1))); do
		s=$((SEED + k))
		for c in $CLIENTS; do
			# A run in which the proxy sent a datagram more than
			# EST_LATE_US late (preempted: the machine is shared) is
			# not exact: it is repeated, at most 10 times.
			for a in $(seq 1 10); do
				start_proxy "$m" "$s" "$W/$m/$c.$s.log"
				off=$(query "$c")
				stop "$PROXY_PID"
				PROXY_PID=""
				late=$(awk -v l="$LATE" '$5 > l * 1000 { n++ } END { print n + 0 }' "$W/$m/$c.$s.log")
				[ "$late" -eq 0 ] && break
				echo "$m $c $s attempt $a: $late datagram(s) late" >>"$W/retries"
			done
			echo "$c $s ${off:-fail} $a" >>"$W/$m.results"
		done
	done
	read -r out back <<<"$(model_specs "$m")"
	"$ESTSIM" --out "$out" --back "$back" --runs "$RUNS" --seed "$SEED" --samples "$N" \
		--runs-out "$W/$m.sim" >"$W/$m.same"
	"$ESTSIM" --out "$out" --back "$back" --runs 100000 --seed 1 --samples "$N" >"$W/$m.population"
	echo "$m: out $out, back $back" >"$W/$m.model"
done
# shellcheck disable=SC2086 # one argument per model
python3 "$HERE/estimator_report.py" "$W" $MODELS
