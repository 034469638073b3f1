#!/bin/bash
# Installing: `meson install` into a temporary DESTDIR puts the binaries,
# man pages (no groff warnings), systemd units (systemd-analyze verify)
# and sample configurations (each passes `ntsd --check`) in place; the
# installed ntsd started as root with `-u nobody` drops to nobody with
# only CAP_NET_BIND_SERVICE (it runs with -x, so no CAP_SYS_TIME) and
# no_new_privs in every thread, and still serves NTP and NTS, reloads on
# SIGHUP and writes its stats and master key files; bad -u uses fail at
# start with a clear message.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require meson groff python3 ntpdig setpriv "$NTSD"

DEST="$WORK/dest"
# --no-rebuild: the build directory is shared; install only copies (and
# writes meson-logs/install-log.txt).
meson install --no-rebuild --quiet --destdir "$DEST" -C "$NTSD_BUILD" >"$WORK/install.out" 2>&1
rc=$?
ok $rc "meson install --destdir succeeds"
[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/install.out" | tail -20

find_one() { # find_one [DIR/]NAME: the installed path of NAME under DEST
	find "$DEST" -path "*/$1" \( -type f -o -type l \) | head -1
}

for b in sbin/ntsd sbin/ntskey bin/ntsclient bin/ntsq; do
	f=$(find_one "$b")
	[ -n "$f" ] && [ -x "$f" ] && [[ "$f" == */$b ]]
	ok $? "installed $b ($f)"
done
INSTALLED_NTSD=$(find_one sbin/ntsd)
INSTALLED_NTSCLIENT=$(find_one bin/ntsclient)
"$INSTALLED_NTSD" --help | grep -q -- "--user USER"
ok $? "installed ntsd documents -u/--user in --help"

# Man pages: ntsd(8), ntsd.conf(5) and the tools' pages must be there; every
# page present is rendered with all groff warnings enabled, and any warning
# fails.
for m in ntsd.8 ntsd.conf.5 ntsclient.1 ntskey.8 ntsq.1; do
	[ -n "$(find_one "$m")" ]
	ok $? "man page $m installed"
done
for f in $(find "$DEST" -path '*/man/man*/*' -type f | sort); do
	groff -man -Tutf8 -ww -z "$f" >"$WORK/groff.out" 2>&1 && [ ! -s "$WORK/groff.out" ]
	ok $? "$(basename "$f"): groff -man -ww renders without warnings"
	sed 's/^/#   /' "$WORK/groff.out" | head -5
done
# Every long option of ntsd appears in ntsd(8).
man8=$(find_one ntsd.8)
missing=""
for o in $("$INSTALLED_NTSD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')" "$man8" || missing="$missing $o"
done
[ -z "$missing" ]
ok $? "ntsd(8) documents every option of ntsd --help${missing:+ (missing:$missing)}"
# Every option in the tools' --help, and every ntskey command, is in their page.
for t in bin/ntsclient:ntsclient.1 sbin/ntskey:ntskey.8 bin/ntsq:ntsq.1; do
	page=$(find_one "${t#*:}")
	missing=""
	for o in $("$(find_one "${t%%:*}")" --help | grep -oE -- '(^| |\[)-(-[a-z][a-z0-9-]*|[a-zA-Z0-9])\b' |
		tr -d ' [' | sort -u); do
		grep -qE -- "$(printf '%s' "$o" | sed 's/-/\\\\-/g')([^a-zA-Z0-9-]|$)" "$page" || missing="$missing $o"
	done
	case $t in *ntskey*) for c in generate add remove list export convert cert csr cert-info \
		"cookie list" "cookie rotate" "cookie retire"; do
		grep -qE "^\.BR? $(printf '%s' "$c" | sed 's/-/\\\\-/g')( |$)" "$page" || missing="$missing $c"
	done ;; esac
	[ -n "$page" ] && [ -z "$missing" ]
	ok $? "${t#*:} documents every option of ${t%%:*} --help${missing:+ (missing:$missing)}"
done

# Unit files.
for u in ntsd.service ntsclient.service ntsclient.timer; do
	[ -n "$(find_one "$u")" ]
	ok $? "unit $u installed"
done
unit=$(find_one ntsd.service)
grep -q "^ExecStart=$(dirname "${INSTALLED_NTSD#"$DEST"}")/ntsd " "$unit"
ok $? "ntsd.service runs the installed binary"
for k in "User=ntsd" "CapabilityBoundingSet=CAP_SYS_TIME CAP_NET_BIND_SERVICE" \
	"AmbientCapabilities=CAP_SYS_TIME CAP_NET_BIND_SERVICE" "NoNewPrivileges=yes" \
	"ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "StateDirectory=ntsd" \
	"RuntimeDirectory=ntsd" "ExecReload=/bin/kill -HUP \$MAINPID" \
	"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK" \
	"SystemCallFilter=@system-service @clock"; do
	grep -qxF "$k" "$unit"
	ok $? "ntsd.service has $k"
done
grep -q '^u ntsd ' "$(find_one sysusers.d/ntsd.conf)"
ok $? "sysusers.d entry creates the ntsd user"
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart binaries exist: point them into DEST.
	mkdir -p "$WORK/units"
	for u in ntsd.service ntsclient.service ntsclient.timer; do
		sed -E "s#^(ExecStart(Pre)?=)/#\\1$DEST/#" "$(find_one "$u")" >"$WORK/units/$u"
	done
	MANPATH="$(dirname "$(dirname "$man8")"):" systemd-analyze verify "$WORK/units/ntsd.service" \
		>"$WORK/verify.out" 2>&1 && [ ! -s "$WORK/verify.out" ]
	ok $? "systemd-analyze verify ntsd.service (man pages included): no complaint"
	sed 's/^/#   /' "$WORK/verify.out" | head -10
	man1=""
	[ -n "$(find_one ntsclient.1)" ] && man1=yes
	MANPATH="$(dirname "$(dirname "$man8")"):" systemd-analyze verify --man="${man1:-no}" \
		"$WORK/units/ntsclient.service" \
		"$WORK/units/ntsclient.timer" >"$WORK/verify.out" 2>&1 && [ ! -s "$WORK/verify.out" ]
	ok $? "systemd-analyze verify ntsclient.service and .timer: no complaint"
	sed 's/^/#   /' "$WORK/verify.out" | head -10
	score=$(systemd-analyze security --offline=true "$WORK/units/ntsd.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for ntsd.service: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] && python3 -c "import sys; sys.exit(0 if float('$score') <= 3.0 else 1)"
	ok $? "systemd-analyze security rates ntsd.service exposure $score (at most 3.0, OK)"
else
	diag "systemd-analyze is not installed: checking unit keys with a parser instead"
	for u in ntsd.service ntsclient.service ntsclient.timer; do
		python3 - "$(find_one "$u")" <<'EOF'
import configparser, sys
p = configparser.ConfigParser(strict=False, interpolation=None)
p.optionxform = str
p.read(sys.argv[1])
assert "Unit" in p and ("Service" in p or "Timer" in p), "sections"
EOF
		ok $? "$u parses with [Unit] and [Service]/[Timer]"
	done
fi
grep -q '^OnUnitActiveSec=30min$' "$(find_one ntsclient.timer)"
ok $? "ntsclient.timer runs every 30 minutes"
grep -Eq '^\*/30 \* \* \* \* root ntsclient -q -s --nts [^ ]+$' "$(find_one cron.d/ntsclient)"
ok $? "cron.d sample: every 30 minutes, as root, ntsclient -q -s --nts SERVER"

# Sample configurations: each passes --check once its paths point at real
# files here. Their server addresses are never contacted: only checked.
S="$WORK/samples"
mkdir -p "$S"
"$(find_one sbin/ntskey)" generate "$S/ntp.keys" >/dev/null && cp "$S/ntp.keys" "$S/client.keys"
"$(find_one sbin/ntskey)" cert --name localhost --ip 127.0.0.1 --key "$S/key.pem" --cert "$S/cert.pem" >/dev/null
for c in ntsd-lan-server.conf ntsd-lan-client.conf; do
	f=$(find_one "$c")
	sed -e "s#/etc/ntsd/lan-server-cert.pem#$S/cert.pem#; s#/etc/ntsd/#$S/#; s#/var/lib/ntsd/#$S/#" \
		"$f" >"$S/$c"
	"$INSTALLED_NTSD" --check --statedir "$S" -c "$S/$c" >"$WORK/check.out" 2>&1 &&
		grep -q "configuration OK" "$WORK/check.out" && ! grep -q "warning" "$WORK/check.out"
	ok $? "sample $c passes ntsd --check with no warning"
	sed 's/^/#   /' "$WORK/check.out" | head -5
done
grep -q '^local stratum 10$' "$S/ntsd-lan-server.conf" && grep -q '^nts enable$' "$S/ntsd-lan-server.conf" &&
	grep -q '^restrict default kod' "$S/ntsd-lan-server.conf"
ok $? "LAN server sample: local clock stratum 10, restrict default kod..., NTS enabled"

# ---- dropping root ---------------------------------------------------------
# WORK is 0700 root; nobody must reach its state directory inside.
chmod 0711 "$WORK"
STATE="$WORK/state"
ETC="$WORK/etc"
mkdir -p "$ETC"
NOGROUP=$(id -gn nobody)
cp "$S/ntp.keys" "$S/cert.pem" "$S/key.pem" "$ETC/"
# Files read again on SIGHUP: readable by the group of the user (0640).
chgrp "$NOGROUP" "$ETC/ntp.keys" "$ETC/key.pem" && chmod 0640 "$ETC/ntp.keys" "$ETC/key.pem"
chmod 0644 "$ETC/cert.pem"
# The pid file lives where the user can remove it at exit (systemd's
# RuntimeDirectory=); the state directory does not exist yet: ntsd -u
# creates it for the user.
RUN="$WORK/run"
mkdir -p "$RUN" && chown nobody "$RUN"
write_conf() {
	cat >"$ETC/ntp.conf" <<EOF
local stratum $1
restrict default kod limited nomodify notrap nopeer
restrict 127.0.0.1
keys $ETC/ntp.keys
nts enable
nts cert $ETC/cert.pem
nts key $ETC/key.pem
EOF
	chmod 0644 "$ETC/ntp.conf"
}
write_conf 10
# Started with supplementary groups, which -u must clear.
setpriv --groups=4,5 "$INSTALLED_NTSD" -n -x -u nobody -c "$ETC/ntp.conf" --statedir "$STATE" \
	--stats-file "$STATE/stats" -p "$RUN/ntsd.pid" >"$WORK/drop.log" 2>&1 &
pid=$!
PIDS+=("$pid")
for i in $(seq 1 100); do
	grep -q "serving NTP" "$WORK/drop.log" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
grep -q "Running as user nobody (uid $(id -u nobody), gid $(id -g nobody)) with CAP_NET_BIND_SERVICE$" \
	"$WORK/drop.log" && grep -q "serving NTP on .*:123 " "$WORK/drop.log"
rc=$?
ok $rc "ntsd -u nobody serves on port 123 and logs the switch"
[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/drop.log"

status_of() { sed -n "s/^$2:\t*//p" "$1" 2>/dev/null; } # status_of FILE KEY
U=$(id -u nobody)
G=$(id -g nobody)
st=/proc/$pid/status
[ "$(status_of $st Uid)" = "$U	$U	$U	$U" ] && [ "$(status_of $st Gid)" = "$G	$G	$G	$G" ]
ok $? "real, effective, saved and fs uid and gid are nobody's ($(status_of $st Uid | tr '\t' ' '))"
grep -q "^Groups:" $st && [ -z "$(status_of $st Groups | tr -d ' \t')" ]
ok $? "no supplementary groups"
# CAP_NET_BIND_SERVICE is bit 10: 0x400. The process may hold nothing
# else; once every thread has started, the main thread gives it up too.
[ "$(status_of $st CapEff)" = 0000000000000000 ] && [ "$(status_of $st CapPrm)" = 0000000000000000 ]
ok $? "the main thread holds no capability once started ($(status_of $st CapEff))"
[ "$(status_of $st CapBnd)" = 0000000000000400 ]
ok $? "bounding set holds only CAP_NET_BIND_SERVICE ($(status_of $st CapBnd))"
[ "$(status_of $st CapInh)" = 0000000000000000 ] && [ "$(status_of $st CapAmb)" = 0000000000000000 ]
ok $? "no inheritable or ambient capabilities"
[ "$(status_of $st NoNewPrivs)" = 1 ]
ok $? "no_new_privs is set"
[ "$(status_of $st Seccomp)" = 2 ] && grep -q "System call filters: errno" "$WORK/drop.log"
ok $? "a seccomp filter is active (Seccomp: $(status_of $st Seccomp)) and logged"
bad=0
n=0
names=""
for t in /proc/$pid/task/*; do
	n=$((n + 1))
	name=$(cat $t/comm)
	names="$names $name"
	want_filters=2
	[ "$name" = ntsd ] && want_filters=1
	[ "$(status_of $t/status Uid)" = "$U	$U	$U	$U" ] &&
		[ "$(status_of $t/status CapEff)" = 0000000000000000 ] &&
		[ "$(status_of $t/status CapPrm)" = 0000000000000000 ] &&
		[ "$(status_of $t/status CapBnd)" = 0000000000000400 ] &&
		[ "$(status_of $t/status NoNewPrivs)" = 1 ] &&
		[ "$(status_of $t/status Seccomp)" = 2 ] &&
		[ "$(status_of $t/status Seccomp_filters)" = $want_filters ] || bad=$((bad + 1))
done
[ $n -ge 3 ] && [ $bad -eq 0 ] && [[ "$names" == *ntsd-ntp* ]] && [[ "$names" == *ntsd-ke* ]]
ok $? "all $n threads ($names) run as nobody without capabilities, workers and NTS-KE under their own filter ($bad differ)"

ntpdig -j -t 2 127.0.0.1 >"$WORK/d.json" 2>&1 && [ "$(json_get "$WORK/d.json" stratum)" = 10 ]
ok $? "answers NTP after dropping root"
ntpdig -j -t 2 -k "$ETC/ntp.keys" -a 1 127.0.0.1 >"$WORK/k.json" 2>&1 &&
	[ "$(json_get "$WORK/k.json" stratum)" = 10 ]
ok $? "answers keyed NTP (AES128CMAC key 1)"
"$INSTALLED_NTSCLIENT" --nts --ca "$ETC/cert.pem" -p 1 127.0.0.1 >"$WORK/nts.out" 2>&1 &&
	grep -qi "nts" "$WORK/nts.out"
rc=$?
ok $rc "answers NTS-KE and NTS-protected NTP (installed ntsclient --nts)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/nts.out" | head -5
[ "$(stat -c '%U %a' "$STATE")" = "nobody 700" ] &&
	[ "$(stat -c '%U %a' "$STATE/nts-masterkeys")" = "nobody 600" ] &&
	[ "$(stat -c '%U' "$RUN/ntsd.pid")" = nobody ]
ok $? "state directory (0700), NTS master keys (0600) and pid file belong to nobody"

write_conf 9
kill -HUP $pid
for i in $(seq 1 60); do
	grep -q "Reloaded:" "$WORK/drop.log" && break
	sleep 0.05
done
ntpdig -j -t 2 -k "$ETC/ntp.keys" -a 1 127.0.0.1 >"$WORK/r.json" 2>&1 &&
	[ "$(json_get "$WORK/r.json" stratum)" = 9 ] && grep -q "NTS-KE certificate reloaded (SIGHUP)" "$WORK/drop.log"
rc=$?
ok $rc "SIGHUP as nobody reloads the configuration, keys and certificate (stratum 9)"
[ $rc -eq 0 ] || sed 's/^/#   /' "$WORK/drop.log" | tail -5

rm -f "$STATE/stats"
kill -USR1 $pid
for i in $(seq 1 60); do [ -s "$STATE/stats" ] && break; sleep 0.05; done
[ "$(stat -c %U "$STATE/stats" 2>/dev/null)" = nobody ] &&
	[ "$(awk '$1 == "replied" { print $2 }' "$STATE/stats")" -ge 3 ]
ok $? "SIGUSR1 writes the stats file as nobody ($(awk '$1 == "replied"' "$STATE/stats" 2>/dev/null))"
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] && [ ! -e "$RUN/ntsd.pid" ]
ok $? "SIGTERM: exit status 0 and the pid file removed ($rc)"

# A keyed upstream source read while root, polled as nobody: the key file
# (root's, 0600) is read before the drop.
cat >"$WORK/up.conf" <<EOF
local stratum 10
keys $ETC/ntp.keys
interface listen 127.0.0.1
EOF
cat >"$WORK/down.conf" <<EOF
keys $ETC/ntp.keys
trustedkey 1
server 127.0.0.1 key 1 iburst
interface listen 127.0.0.2
EOF
"$INSTALLED_NTSD" -n -x -c "$WORK/up.conf" >"$WORK/up.log" 2>&1 &
PIDS+=($!)
"$INSTALLED_NTSD" -n -x -u nobody --statedir "$STATE" -c "$WORK/down.conf" >"$WORK/down.log" 2>&1 &
PIDS+=($!)
synced=1
for i in $(seq 1 40); do
	ntpdig -j -t 1 127.0.0.2 >"$WORK/down.json" 2>/dev/null &&
		[ "$(json_get "$WORK/down.json" stratum)" = 11 ] && { synced=0; break; }
	sleep 0.5
done
ok $synced "ntsd -u nobody syncs from a keyed source (key file read before the drop): stratum 11"
[ $synced -eq 0 ] || sed 's/^/#   /' "$WORK/down.log" | tail -5

# Errors at start.
"$INSTALLED_NTSD" -n -x -u nosuchuser-h6 -c "$ETC/ntp.conf" --statedir "$WORK/s2" >"$WORK/nouser.out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q -- "-u nosuchuser-h6: no such user" "$WORK/nouser.out" && [ ! -e "$WORK/s2" ]
ok $? "-u nosuchuser fails at start with a clear message ($(head -1 "$WORK/nouser.out"))"
"$INSTALLED_NTSD" -n -x -u 0 -c "$ETC/ntp.conf" --statedir "$WORK/s3" >"$WORK/root.out" 2>&1
[ $? -ne 0 ] && grep -q "uid 0; name an unprivileged user" "$WORK/root.out"
ok $? "-u naming a uid-0 user is refused"
setpriv --reuid="$U" --regid="$G" --clear-groups "$INSTALLED_NTSD" -n -x -u daemon -P 1123 \
	-c "$ETC/ntp.conf" --statedir "$WORK/s4" >"$WORK/notroot.out" 2>&1
[ $? -ne 0 ] && grep -q "switching user needs root (running as uid $U)" "$WORK/notroot.out"
ok $? "-u OTHER when not root fails with a clear message ($(grep -o 'switching.*' "$WORK/notroot.out" | head -1))"
[ "$TAP_FAILED" -eq 0 ]
