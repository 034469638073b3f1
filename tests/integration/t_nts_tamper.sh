#!/usr/bin/env bash
# On-the-wire NTS tamper tests (RFC 8915 §5.7) with a real client: ntsd's
# NTS-KE sends chronyd to an NTP port (Port Negotiation record, `nts
# ntpport`) where nts_proxy.py forwards to ntsd, flipping one byte of the
# cookie, the authenticator or the unique identifier of each request.
# Untampered, chronyd gets time; each tamper gets it nothing it accepts.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require chronyd openssl python3 "$NTSD"

PPORT=10123 # the proxy; ntsd serves NTP on 123
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for 127.0.0.1"
chmod 600 "$WORK/key.pem"
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/masterkeys
nts ntpport $PPORT
CONF
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with NTS and 'nts ntpport $PPORT'"

# tampered WHAT: chronyd -Q through the proxy in mode WHAT. Sets OUT (chronyd
# output), MLOG (its measurements log) and PLOG (the proxy's log).
tampered() {
	local what=$1 dir="$WORK/$1" i
	mkdir -p "$dir"
	PLOG="$dir/proxy.log" OUT="$dir/out" MLOG="$dir/measurements.log"
	: >"$PLOG"
	python3 "$HERE/nts_proxy.py" $PPORT 123 "$what" "$PLOG" 40 >"$dir/proxy.out" 2>&1 &
	local proxy=$!
	PIDS+=("$proxy")
	for i in $(seq 1 50); do
		grep -q ready "$dir/proxy.out" && break
		sleep 0.1
	done
	cat >"$dir/chrony.conf" <<CC
server 127.0.0.1 iburst nts
ntstrustedcerts $WORK/cert.pem
ntsdumpdir $dir
logdir $dir
log measurements
pidfile $dir/chronyd.pid
CC
	timeout 25 chronyd -Q -u root -f "$dir/chrony.conf" -t 12 >"$OUT" 2>&1
	kill "$proxy" 2>/dev/null && wait "$proxy" 2>/dev/null
	local keep=() p
	for p in "${PIDS[@]}"; do [ "$p" != "$proxy" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
	diag "$what: $(grep -c '^req' "$PLOG") requests, $(grep -c '^resp' "$PLOG") responses," \
		"$(grep -c 'refid=NTSN' "$PLOG") NTSN"
}
offset() { sed -n 's/.*System clock wrong by \([-0-9.e]*\) seconds.*/\1/p' "$OUT" | tail -1; }
good_samples() { # NTS-authenticated samples chronyd accepted from the proxy port
	awk '$3 == "127.0.0.1" && $6 == "111" && $7 == "111" && $8 == "1111"' "$MLOG" 2>/dev/null | wc -l
}

tampered none
off=$(offset)
[ -n "$off" ] && abs_lt "$off" 0.05
ok $? "untampered through the proxy: chronyd -Q reports an offset ($off)"
[ "$(good_samples)" -ge 1 ]
ok $? "chronyd accepted $(good_samples) NTS-authenticated samples via the negotiated port"
grep -q "^resp .* stratum=10 .*uid_echo=original auth=1" "$PLOG"
ok $? "the proxy saw authenticated responses echoing the unique identifier"
ok_base=$(stat_of nts_ok)
[ "${ok_base:-0}" -ge 1 ]
ok $? "ntsd counted NTS-authenticated requests (nts_ok $ok_base)"

# tamper_case WHAT COUNTER: one byte flipped in WHAT; ntsd's COUNTER grows.
tamper_case() {
	local what=$1 counter=$2 before after okb oka
	before=$(stat_of "$counter")
	okb=$(stat_of nts_ok)
	tampered "$what"
	after=$(stat_of "$counter")
	oka=$(stat_of nts_ok)
	grep -q "^req .* tamper=$what " "$PLOG"
	ok $? "$what: the proxy flipped a byte in the $what field of chronyd's requests"
	[ -z "$(offset)" ] && [ "$(good_samples)" -eq 0 ]
	ok $? "$what: chronyd gets no usable response (offset '$(offset)', $(good_samples) samples)"
	[ "${after:-0}" -gt "${before:-0}" ]
	ok $? "$what: ntsd's $counter grew ($before -> $after)"
	[ "$oka" = "$okb" ]
	ok $? "$what: no tampered request counted as authenticated (nts_ok $okb -> $oka)"
	! grep -q "^resp .*auth=1" "$PLOG"
	ok $? "$what: no response carried an authenticator"
}

tamper_case cookie nts_bad_cookie
grep -q "^resp .* stratum=0 refid=NTSN .*uid_echo=original auth=0" "$PLOG"
ok $? "cookie: ntsd answered with an NTSN echoing the unique identifier"

tamper_case auth nts_bad_auth
grep -q "^resp .* stratum=0 refid=NTSN .*uid_echo=original auth=0" "$PLOG"
ok $? "auth: ntsd answered with an NTSN echoing the unique identifier"

# The unique identifier is covered by the authenticator, so the server sees
# a failed authenticator; any NTSN echoes the identifier it received, which
# is not the one chronyd sent, so chronyd must ignore it.
tamper_case uid nts_bad_auth
! grep -q "^resp .*uid_echo=original" "$PLOG"
ok $? "uid: no response carried chronyd's own unique identifier"
