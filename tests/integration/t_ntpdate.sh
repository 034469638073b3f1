#!/usr/bin/env bash
# NTPsec's ntpdate (the cron-job client our users run) against ntsd, with
# chrony's `local stratum 10` spelling.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require ntpdate python3 "$NTSD"

cat >"$WORK/ntp.keys" <<'KEYS'
3 AES128CMAC 000102030405060708090a0b0c0d0e0f
KEYS
chmod 600 "$WORK/ntp.keys"
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
keys $WORK/ntp.keys
trustedkey 3
CONF
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with chrony's 'local stratum 10'"

ntpdate -q 127.0.0.1 >"$WORK/q.out" 2>&1
rc=$?
ok $rc "ntpdate -q 127.0.0.1 succeeds"
sed 's/^/#   /' "$WORK/q.out" | head -3
# ntpdig-style line: "DATE TIME (+0000) +0.000012 +/- 0.000100 127.0.0.1 s10 no-leap"
off=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "+/-") { print $(i-1); exit } }' "$WORK/q.out")
grep -qE '(^| )s10( |$)' "$WORK/q.out"
ok $? "ntpdate reports stratum 10"
abs_lt "${off:-9}" 0.05
ok $? "ntpdate reports an offset under 50 ms (got '$off')"

ntpdate -q -k "$WORK/ntp.keys" -a 3 127.0.0.1 >"$WORK/qa.out" 2>&1
ok $? "ntpdate -q -a 3 (AES128CMAC) succeeds"
stop_ntsd

# An unsynchronized server (no source configured) is refused by the client.
cat >"$WORK/unsync.conf" <<CONF
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
CONF
start_ntsd "$WORK/unsync.conf"
ntpdate -q 127.0.0.1 >"$WORK/u.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/u.out" | head -3
[ $rc -ne 0 ] || grep -q 's16' "$WORK/u.out"
ok $? "ntpdate does not accept an unsynchronized ntsd (stratum 16, LI=3)"
python3 "$PYCLIENT" 127.0.0.1 >"$WORK/u.json"
grep -q '"leap": 3, "version": 4, "mode": 4, "stratum": 16' "$WORK/u.json"
ok $? "unsynchronized answer has LI=3, mode 4, stratum 16"
stop_ntsd
