#!/usr/bin/env bash
# The CentOS ntp.conf our users have today loads as it is, and ntsd runs
# with it (in a namespace that has only loopback: its `server` line names
# a LAN address that must never see a packet from a test).
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require ntpdig python3 "$NTSD"

cat >"$WORK/centos.conf" <<'CONF'
driftfile /var/lib/ntp/drift
restrict default kod nomodify notrap nopeer noquery
restrict -6 default kod nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1
#restrict 192.168.1.0 mask 255.255.255.0 nomodify notrap
server 10.25.167.33
#server 127.127.1.0     # local clock
#fudge  127.127.1.0 stratum 10
includefile /etc/ntp/crypto/pw
keys /etc/ntp/keys
CONF
# Only loopback exists here: nothing can reach 10.25.167.33.
! ip route get 10.25.167.33 >/dev/null 2>&1
ok $? "the namespace has no route to the configured LAN server"

"$NTSD" --check -c "$WORK/centos.conf" >"$WORK/check.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/check.out"
ok $rc "ntsd --check accepts the CentOS file"
! grep -q ': error:' "$WORK/check.out"
ok $? "no error is reported"
grep -q "centos.conf:10: warning: includefile /etc/ntp/crypto/pw" "$WORK/check.out" ||
	grep -q "centos.conf:10: warning:.*crypto/pw" "$WORK/check.out"
ok $? "the missing includefile is a warning naming file:line"

start_ntsd "$WORK/centos.conf"
ok $? "ntsd starts with the CentOS file"
python3 "$PYCLIENT" 127.0.0.1 >"$WORK/r.json"
grep -q '"leap": 3, "version": 4, "mode": 4, "stratum": 16' "$WORK/r.json"
ok $? "until its upstream answers it serves LI=3 stratum 16"
ntpdig -t 2 127.0.0.1 >"$WORK/dig.out" 2>&1
rc=$?
diag "ntpdig: $(head -c 200 "$WORK/dig.out")"
[ $rc -ne 0 ] || grep -q s16 "$WORK/dig.out"
ok $? "ntpdig does not take time from it"

# A typo is an error with file:line and ntsd does not start.
printf 'restrict default kod nomodfy\n' >"$WORK/typo.conf"
"$NTSD" -n -x -P 12399 -c "$WORK/typo.conf" >"$WORK/typo.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/typo.out" | head -3
[ $rc -ne 0 ] && grep -q "typo.conf:1: error:.*nomodfy" "$WORK/typo.out"
ok $? "a typo stops ntsd with file:line and the bad word"
grep -q "did you mean 'nomodify'" "$WORK/typo.out"
ok $? "and suggests the right spelling"
printf 'broadcast 192.168.1.255 autokey\ncrypto\nlocal stratum 10\n' >"$WORK/legacy.conf"
"$NTSD" --check -c "$WORK/legacy.conf" >"$WORK/legacy.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/legacy.out" | head -4
[ $rc -eq 0 ] && grep -q "legacy.conf:1: warning:.*broadcast" "$WORK/legacy.out" &&
	grep -q "legacy.conf:2: warning:.*nts" "$WORK/legacy.out"
ok $? "unsupported features are warnings naming file:line and the replacement"
