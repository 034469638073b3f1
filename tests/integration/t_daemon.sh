#!/usr/bin/env bash
# Running ntsd as users will: the embedded default configuration (README's
# first command), as a daemon with a pid file and a log file, --check on
# risky setups, and SIGHUP reloading keys without dropping service.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require ntpdig python3 "$NTSD"

# Embedded configuration: keys generated on first run, 0600, reused after.
state="$WORK/state"
"$NTSD" -n --embedded --statedir "$state" >"$WORK/emb.log" 2>&1 &
pid=$!
PIDS+=("$pid")
for i in $(seq 1 100); do grep -q "serving NTP" "$WORK/emb.log" && break; sleep 0.05; done
sed 's/^/#   /' "$WORK/emb.log"
[ -f "$state/ntp.keys" ] && [ "$(stat -c %a "$state/ntp.keys")" = 600 ]
ok $? "first run generates $state/ntp.keys with mode 0600"
ntpdig -j -t 2 127.0.0.1 >"$WORK/e.json" 2>&1 && [ "$(json_get "$WORK/e.json" stratum)" = 10 ]
ok $? "embedded configuration serves stratum 10 on 127.0.0.1"
for id in 1 2 3; do
	ntpdig -j -t 2 -k "$state/ntp.keys" -a $id 127.0.0.1 >"$WORK/e$id.json" 2>&1
	ok $? "embedded configuration answers generated key $id"
done
! grep -q "$(awk '$1 == 1 { print $3 }' "$state/ntp.keys")" "$WORK/emb.log"
ok $? "no key material appears in the log"
kill -TERM "$pid"; wait "$pid"
ok $? "embedded ntsd exits cleanly"
sum1=$(md5sum <"$state/ntp.keys")
"$NTSD" -n --embedded --statedir "$state" >"$WORK/emb2.log" 2>&1 &
pid=$!
PIDS+=("$pid")
for i in $(seq 1 100); do grep -q "serving NTP" "$WORK/emb2.log" && break; sleep 0.05; done
[ "$(md5sum <"$state/ntp.keys")" = "$sum1" ] && ! grep -q Generated "$WORK/emb2.log"
ok $? "a second start reuses the generated keys"
kill -TERM "$pid"; wait "$pid"

# Daemon mode: detaches, writes the pid file, logs to the logfile.
cat >"$WORK/keys" <<'KEYS'
1 SHA1 0123456789abcdef0123456789abcdef01234567
KEYS
chmod 600 "$WORK/keys"
cat >"$WORK/d.conf" <<CONF
local stratum 9
restrict default nomodify notrap nopeer noquery
keys $WORK/keys
logfile $WORK/ntsd.log
CONF
"$NTSD" -x -c "$WORK/d.conf" -p "$WORK/d.pid"
rc=$?
ok $rc "ntsd without -n returns to the shell (detaches)"
for i in $(seq 1 100); do [ -s "$WORK/d.pid" ] && grep -q "serving NTP" "$WORK/ntsd.log" 2>/dev/null && break; sleep 0.05; done
dpid=$(cat "$WORK/d.pid" 2>/dev/null)
[ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null
ok $? "the daemon runs with the pid in its pid file ($dpid)"
[ -n "$dpid" ] && PIDS+=("$dpid")
grep -q "serving NTP" "$WORK/ntsd.log"
ok $? "the logfile directive is honoured"
ntpdig -j -t 2 -k "$WORK/keys" -a 1 127.0.0.1 >"$WORK/d1.json" 2>&1 && [ "$(json_get "$WORK/d1.json" stratum)" = 9 ]
ok $? "the daemon serves keyed time at stratum 9"

# SIGHUP: a new secret for key 1 takes effect; the old one stops working.
cp "$WORK/keys" "$WORK/keys.old"
echo "1 SHA1 fedcba9876543210fedcba9876543210fedcba98" >"$WORK/keys"
kill -HUP "$dpid"
for i in $(seq 1 60); do grep -q "Reloaded" "$WORK/ntsd.log" && break; sleep 0.05; done
ntpdig -j -t 2 -k "$WORK/keys" -a 1 127.0.0.1 >/dev/null 2>&1
ok $? "after SIGHUP the new key works"
ntpdig -j -t 2 -k "$WORK/keys.old" -a 1 127.0.0.1 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "and the old key is refused"
kill -TERM "$dpid"
for i in $(seq 1 100); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
! kill -0 "$dpid" 2>/dev/null && [ ! -e "$WORK/d.pid" ]
ok $? "SIGTERM stops the daemon and removes the pid file"

# --check warns about risky setups.
cat >"$WORK/risky.keys" <<'KEYS'
1 MD5 abcdefghij
KEYS
chmod 644 "$WORK/risky.keys"
cat >"$WORK/risky.conf" <<CONF
server 127.127.1.0
keys $WORK/risky.keys
CONF
"$NTSD" --check -c "$WORK/risky.conf" >"$WORK/risky.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/risky.out"
[ $rc -eq 0 ]
ok $? "--check accepts a risky but valid setup"
grep -q "no \`restrict default\` line" "$WORK/risky.out"
ok $? "--check warns about the missing restrict default"
grep -q "risky.keys: warning: key 1 is MD5" "$WORK/risky.out"
ok $? "--check warns about MD5 keys"
grep -q "risky.keys: warning: mode 0644 lets every user read these secrets; chmod 600" "$WORK/risky.out"
ok $? "--check warns about a key file others can read (mode 0644)"
chmod 640 "$WORK/risky.keys"
"$NTSD" --check -c "$WORK/risky.conf" >"$WORK/risky640.out" 2>&1
[ $? -eq 0 ] && ! grep -q "risky.keys: warning: mode" "$WORK/risky640.out" &&
	grep -q "risky.keys: note: mode 0640: its group can read the keys" "$WORK/risky640.out"
ok $? "--check: a 0640 key file (root:ntsd) is a note, not a warning"
printf '1 MD5 abcdefghij\n1 SHA1 0123456789abcdef0123456789abcdef01234567\n70000 SHA1 x\n' >"$WORK/bad.keys"
printf 'local stratum 10\nkeys %s\n' "$WORK/bad.keys" >"$WORK/bad.conf"
"$NTSD" --check -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/bad.out"
[ $rc -ne 0 ] && grep -q "bad.keys:2: error:" "$WORK/bad.out" && grep -q "bad.keys:3: error:" "$WORK/bad.out"
ok $? "a bad key file is refused with an error per bad line"
