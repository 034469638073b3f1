#!/usr/bin/env bash
# chronyd -Q (query only, never sets the clock) against ntsd, plain and
# with a symmetric key in chrony's key file format; a wrong key fails.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require chronyd python3 "$NTSD"

cat >"$WORK/ntp.keys" <<'KEYS'
2 SHA1 0123456789abcdef0123456789abcdef01234567
3 AES128CMAC 000102030405060708090a0b0c0d0e0f
KEYS
chmod 600 "$WORK/ntp.keys"
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
keys $WORK/ntp.keys
trustedkey 2 3
CONF
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts"

# chrony_query NAME SERVER-OPTIONS [KEYFILE-LINES]: runs chronyd -Q with
# measurement logging; sets MLOG to the measurements log.
chrony_query() {
	local name=$1 opts=$2 keys=${3:-}
	local dir="$WORK/chrony-$name"
	mkdir -p "$dir"
	printf '%s\n' "$keys" >"$dir/keys"
	chmod 600 "$dir/keys"
	cat >"$dir/chrony.conf" <<CC
server 127.0.0.1 iburst $opts
keyfile $dir/keys
logdir $dir
log measurements rawmeasurements
pidfile $dir/chronyd.pid
CC
	timeout 20 chronyd -Q -u root -f "$dir/chrony.conf" -t 10 >"$dir/out" 2>&1
	CHRONY_RC=$?
	MLOG="$dir/measurements.log"
	RAWLOG="$dir/rawmeasurements.log"
}

chrony_query plain ""
grep -E 'System clock wrong by' "$WORK/chrony-plain/out" | sed 's/^/#   /'
off=$(sed -n 's/.*System clock wrong by \([-0-9.e]*\) seconds.*/\1/p' "$WORK/chrony-plain/out" | tail -1)
[ $CHRONY_RC -eq 0 ] && [ -n "$off" ]
ok $? "chronyd -Q reports an offset from ntsd (rc $CHRONY_RC, offset '$off')"
abs_lt "${off:-9}" 0.05
ok $? "the offset is under 50 ms"
# measurements.log: date time ip leap stratum tests(123 567 ABCD) ...; a
# sample that passed every test has 111 111 1111.
good_stratum() {
	awk '$3 == "127.0.0.1" && $6 == "111" && $7 == "111" && $8 == "1111" { print $5; exit }' "$MLOG" 2>/dev/null
}
st=$(good_stratum)
[ "$st" = 10 ]
ok $? "chronyd saw stratum 10 (got '$st')"

chrony_query key2 "key 2" "2 SHA1 HEX:0123456789ABCDEF0123456789ABCDEF01234567"
st=$(good_stratum)
[ $CHRONY_RC -eq 0 ] && [ "$st" = 10 ]
ok $? "chronyd -Q with SHA1 key 2 gets authenticated time (rc $CHRONY_RC, stratum '$st')"

chrony_query key3 "key 3" "3 AES128 HEX:000102030405060708090A0B0C0D0E0F"
st=$(good_stratum)
[ $CHRONY_RC -eq 0 ] && [ "$st" = 10 ]
ok $? "chronyd -Q with AES128 (CMAC) key 3 gets authenticated time (rc $CHRONY_RC, stratum '$st')"

chrony_query wrong "key 2" "2 SHA1 HEX:1123456789ABCDEF0123456789ABCDEF01234567"
good=$(awk '$3 == "127.0.0.1" && $6 == "111" && $7 == "111" && $8 == "1111"' "$MLOG" 2>/dev/null | wc -l)
bad=$(awk '$3 == "127.0.0.1" && $7 != "111"' "$MLOG" 2>/dev/null | wc -l)
grep -q 'System clock wrong by' "$WORK/chrony-wrong/out"
got_offset=$?
[ "$got_offset" -ne 0 ] && [ "$good" -eq 0 ] && [ "$bad" -ge 1 ]
ok $? "chronyd -Q with a wrong key rejects every answer (good samples $good, failed authentication $bad)"
stop_ntsd
