#!/usr/bin/env bash
# NTPsec's ntpdig against ntsd on port 123 in a private namespace: plain,
# and authenticated with each key type; a wrong key fails on the client.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require ntpdig python3 "$NTSD"

cat >"$WORK/ntp.keys" <<'KEYS'
# one key of each type ntpdig and ntsd both support (NTPsec reads at most
# 32 key bytes, so longer keys would not interoperate)
1 MD5 abcdefghij
2 SHA1 0123456789abcdef0123456789abcdef01234567
3 AES128CMAC 000102030405060708090a0b0c0d0e0f
4 SHA256 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
5 SHA384 ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
6 SHA512 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
7 SHA1 fedcba9876543210fedcba9876543210fedcba98
KEYS
chmod 600 "$WORK/ntp.keys"
cat >"$WORK/ntp.conf" <<CONF
server 127.127.1.0
fudge 127.127.1.0 stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict -6 default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1
keys $WORK/ntp.keys
trustedkey 1 2 3 4 5 6
CONF
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with the ntpd local-clock spelling (server 127.127.1.0 + fudge)"

# Plain query: stratum 10, offset near zero (same clock on both sides).
ntpdig -j -t 2 127.0.0.1 >"$WORK/plain.json" 2>"$WORK/plain.err"
ok $? "ntpdig 127.0.0.1 succeeds"
st=$(json_get "$WORK/plain.json" stratum 2>/dev/null)
off=$(json_get "$WORK/plain.json" offset 2>/dev/null)
[ "$st" = 10 ]
ok $? "ntpdig reports stratum 10 (got '$st')"
abs_lt "${off:-9}" 0.05
ok $? "ntpdig reports an offset under 50 ms (got '$off')"

ntpdig -j -t 2 ::1 >"$WORK/plain6.json" 2>&1
ok $? "ntpdig ::1 (IPv6) succeeds"

# Keyed queries, one per type.
for id in 1 2 3 4 5 6; do
	type=$(awk -v i=$id '$1 == i { print $2 }' "$WORK/ntp.keys")
	ntpdig -j -t 2 -k "$WORK/ntp.keys" -a $id 127.0.0.1 >"$WORK/k$id.json" 2>"$WORK/k$id.err"
	rc=$?
	st=$(json_get "$WORK/k$id.json" stratum 2>/dev/null)
	[ $rc -eq 0 ] && [ "$st" = 10 ]
	ok $? "ntpdig -k keys -a $id ($type) gets authenticated time at stratum 10 (rc $rc, stratum '$st')"
	[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/k$id.err" | head -5
done
auth_ok=$(stat_of auth_ok)
[ "${auth_ok:-0}" -ge 6 ]
ok $? "ntsd counted the authenticated requests (auth_ok=$auth_ok)"

# Wrong secret for key 2 on the client: the client must reject the answer.
sed 's/^2 SHA1 .*/2 SHA1 1123456789abcdef0123456789abcdef01234567/' "$WORK/ntp.keys" >"$WORK/wrong.keys"
ntpdig -j -t 2 -k "$WORK/wrong.keys" -a 2 127.0.0.1 >"$WORK/wrong.json" 2>"$WORK/wrong.err"
rc=$?
[ $rc -ne 0 ] && ! grep -q '"stratum"' "$WORK/wrong.json"
ok $? "ntpdig with a wrong key fails on the client side (rc $rc)"
diag "client said: $(tr '\n' ' ' <"$WORK/wrong.err" | cut -c1-200)"
fails=$(stat_of auth_fail)
[ "${fails:-0}" -ge 1 ]
ok $? "ntsd answered the bad MAC with a crypto-NAK (auth_fail=$fails)"

# Key 7 exists but is not a trusted key.
ntpdig -j -t 2 -k "$WORK/ntp.keys" -a 7 127.0.0.1 >"$WORK/untrusted.json" 2>&1
[ $? -ne 0 ]
ok $? "a key missing from trustedkey is refused"

stop_ntsd
ok $? "ntsd exits cleanly on SIGTERM"
