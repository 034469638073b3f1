#!/usr/bin/env bash
# ntskey: every command and every error; a kill in the middle of a write
# leaves the old file intact and no temporary file; keys it makes work
# with ntsd + NTPsec's ntpdig and chronyd; its certificate is accepted by
# ntsd --check and by chronyd over NTS; cookie rotate under a running ntsd
# refuses no cookie that a chronyd client already holds.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
K="$NTSD_BUILD/tools/ntskey"
require "$K" "$NTSD" ntpdig chronyd openssl sha256sum flock

D="$WORK/keys"
mkdir -p "$D"
cd "$D" || exit 1

# run NAME CMD...: output in $D/NAME.out/.err, status in RC.
run() {
	local n=$1
	shift
	"$@" >"$WORK/$n.out" 2>"$WORK/$n.err"
	RC=$?
}
has() { grep -q -- "$2" "$WORK/$1.$3"; }   # has NAME TEXT out|err
show() { sed 's/^/#   /' "$WORK/$1.err" | head -5; }
sum() { sha256sum "$1" | cut -d' ' -f1; }
nkeys() { grep -c '^[0-9]' "$1"; }

# --- generate -------------------------------------------------------------
run gen "$K" generate ntp.keys
[ $RC -eq 0 ] && [ "$(nkeys ntp.keys)" = 20 ] && [ "$(stat -c %a ntp.keys)" = 600 ]
ok $? "generate: 20 keys, mode 0600 (rc $RC)"
[ "$(awk '$1>=1 && $1<=10 {print $2}' ntp.keys | sort -u)" = AES128CMAC ] &&
	[ "$(awk '$1>=11 && $1<=20 {print $2}' ntp.keys | sort -u)" = SHA1 ] &&
	[ "$(awk '$2=="SHA1" {print length($3)}' ntp.keys | sort -u)" = 40 ]
ok $? "generate: ids 1-10 AES128CMAC, 11-20 SHA1 with 160-bit keys"
[ "$(awk '/^[0-9]/ {print $3}' ntp.keys | sort -u | wc -l)" = 20 ]
ok $? "generate: every key differs"
old=$(sum ntp.keys)
run gen2 "$K" generate ntp.keys
[ $RC -eq 1 ] && has gen2 "ntp.keys: error: cannot write: File exists (use --force" err && [ "$(sum ntp.keys)" = "$old" ]
ok $? "generate refuses to overwrite without --force, file unchanged (rc $RC)"
run gen3 "$K" generate --force -t sha256,MD5 -n 3 ntp.keys
[ $RC -eq 0 ] && [ "$(awk '/^[0-9]/ {print $1 $2}' ntp.keys | tr '\n' ' ')" = "1SHA256 2SHA256 3SHA256 4MD5 5MD5 6MD5 " ]
ok $? "generate --force -t sha256,MD5 -n 3: six keys of those types (rc $RC)"
run gen4 "$K" generate -t BLAKE2 x.keys
[ $RC -eq 2 ] && has gen4 "unknown key type in 'BLAKE2'; accepted: MD5, SHA1" err && [ ! -e x.keys ]
ok $? "generate -t BLAKE2: usage error listing the types (rc $RC)"
run gen5 "$K" generate -n 0 x.keys
rc1=$RC
run gen6 "$K" generate -n 40000 x.keys
[ $rc1 -eq 2 ] && [ $RC -eq 2 ] && has gen6 "more than 65535 keys" err && [ ! -e x.keys ]
ok $? "generate -n 0 and 2 x 40000 keys are usage errors ($rc1, $RC)"
run gen7 "$K" generate -n 65535 -t SHA1 big.keys
[ $RC -eq 1 ] && has gen7 "big.keys: error: the key file would be [0-9]* bytes; ntsd reads at most 1048576" err && [ ! -e big.keys ]
ok $? "generate -n 65535: refused, ntsd reads key files up to 1 MiB (rc $RC)"
run gen8 "$K" generate -n 10000 big.keys
n=$("$K" list big.keys 2>&1 | tail -1)
[ $RC -eq 0 ] && [ "$n" = "20000 keys" ]
ok $? "generate -n 10000: 20000 keys that load ($n)"

# --- add / remove -----------------------------------------------------------
"$K" generate --force ntp.keys >/dev/null
sed -i '3i # operator comment: key 4 is for the router' ntp.keys
run add1 "$K" add ntp.keys
[ $RC -eq 0 ] && has add1 "added key 21 (SHA1)" out && [ "$(nkeys ntp.keys)" = 21 ] && grep -q "^# operator comment" ntp.keys
ok $? "add: next id 21, SHA1 by default, comments kept (rc $RC)"
run add2 "$K" add -t AES128CMAC --id 100 ntp.keys
[ $RC -eq 0 ] && awk '$1==100 && $2=="AES128CMAC" && length($3)==32 {f=1} END {exit !f}' ntp.keys
ok $? "add -t AES128CMAC --id 100 (rc $RC)"
run add2b "$K" add -t aes128 ntp.keys
[ $RC -eq 0 ] && has add2b "added key 101 (AES128CMAC)" out
ok $? "add -t aes128 (chrony's name) is AES128CMAC, id 101 (rc $RC)"
old=$(sum ntp.keys)
run add3 "$K" add --id 5 ntp.keys
[ $RC -eq 1 ] && has add3 "ntp.keys:8: error: key id 5 already exists" err && [ "$(sum ntp.keys)" = "$old" ]
ok $? "add --id 5: duplicate id refused naming file and line, file unchanged (rc $RC)"
show add3
run add4 "$K" add --id 65536 ntp.keys
rc1=$RC
run add5 "$K" add --id 0 ntp.keys
[ $rc1 -eq 2 ] && [ $RC -eq 2 ] && has add4 "key ids are 1..65535" err && [ "$(sum ntp.keys)" = "$old" ]
ok $? "add --id 65536 / --id 0: out of range ($rc1, $RC)"
run add6 "$K" add -t SHA3 ntp.keys
[ $RC -eq 2 ] && has add6 "unknown key type 'SHA3'" err
ok $? "add -t SHA3: bad type (rc $RC)"
run add7 "$K" add missing.keys
[ $RC -eq 1 ] && has add7 "missing.keys: error: cannot open: No such file" err && [ ! -e missing.keys ]
ok $? "add to a missing file: error naming it (rc $RC)"
ln -s ntp.keys link.keys
run add8 "$K" add link.keys
[ $RC -eq 0 ] && [ -L link.keys ] && [ "$(nkeys ntp.keys)" = 24 ]
ok $? "add through a symlink edits the target and keeps the link (rc $RC)"
run rm1 "$K" remove ntp.keys 3 100
[ $RC -eq 0 ] && ! grep -q '^3 \|^100 ' ntp.keys && [ "$(nkeys ntp.keys)" = 22 ] && grep -q "^# operator" ntp.keys
ok $? "remove 3 100 (rc $RC)"
old=$(sum ntp.keys)
run rm2 "$K" remove ntp.keys 4 99
[ $RC -eq 1 ] && has rm2 "ntp.keys: error: no key with id 99" err && [ "$(sum ntp.keys)" = "$old" ]
ok $? "remove of a missing id: error, nothing removed (rc $RC)"
run rm3 "$K" remove ntp.keys abc
[ $RC -eq 2 ] && has rm3 "key id 'abc'" err
ok $? "remove abc: usage error (rc $RC)"

# --- list -----------------------------------------------------------------
secret=$(awk '$1==11 {print $3}' ntp.keys)
run ls1 "$K" list ntp.keys
[ $RC -eq 0 ] && grep -q '^11 *SHA1 *160' "$WORK/ls1.out" && ! grep -qi "$secret" "$WORK/ls1.out" && has ls1 "22 keys" out
ok $? "list: ids, types and bits, no secrets (rc $RC)"
run ls2 "$K" list --show-secrets ntp.keys
grep -q "^11 .*$secret" "$WORK/ls2.out"
ok $? "list --show-secrets shows the keys"
chmod 644 ntp.keys
run ls3 "$K" list ntp.keys
[ $RC -eq 0 ] && has ls3 "ntp.keys: warning: mode 0644 lets group or others read these keys; chmod 600" err
ok $? "list warns about a key file others can read"
chmod 600 ntp.keys
printf '1 SHA1 0123456789abcdef0123456789abcdef01234567\n2 SHA9 abc\n1 MD5 abc\n70000 MD5 x\n' >bad.keys
run ls4 "$K" list bad.keys
[ $RC -eq 1 ] && has ls4 "bad.keys:2: error: unknown key type; accepted types: MD5, SHA1" err &&
	has ls4 "bad.keys:3: error: duplicate key id 1 (first defined on line 1)" err &&
	has ls4 "bad.keys:4: error: key id out of range; accepted: 1..65535" err &&
	! grep -q "0123456789abcdef" "$WORK/ls4.err"
ok $? "list of a bad file: every error with file:line, no key material (rc $RC)"
show ls4
run ls5 "$K" list nosuch.keys
[ $RC -eq 1 ] && has ls5 "nosuch.keys: error: cannot open: No such file or directory" err
ok $? "list of a missing file (rc $RC)"
mkdir adir
run ls6 "$K" list adir
[ $RC -eq 1 ] && has ls6 "adir: error: not a regular file" err
ok $? "list of a directory (rc $RC)"

# --- export / convert -------------------------------------------------------
umask 022
"$K" export ntp.keys 1 11 >client.keys
RC=$?
umask 077
[ $RC -eq 0 ] && [ "$(nkeys client.keys)" = 2 ] && [ "$(stat -c %a client.keys)" = 600 ] &&
	[ "$(grep '^1 ' client.keys)" = "$(grep '^1 ' ntp.keys)" ] && [ "$(grep '^11 ' client.keys)" = "$(grep '^11 ' ntp.keys)" ]
ok $? "export 1 11 > client.keys: those two keys, redirected file made 0600 (rc $RC)"
run ex1 "$K" export ntp.keys 11 1 11
[ $RC -eq 0 ] && [ "$(grep -c '^11 ' "$WORK/ex1.out")" = 1 ] && [ "$(nkeys "$WORK/ex1.out")" = 2 ]
ok $? "export of an id given twice writes it once (rc $RC)"
run ex2 "$K" export -o client2.keys ntp.keys 2
[ $RC -eq 0 ] && [ "$(nkeys client2.keys)" = 1 ] && [ "$(stat -c %a client2.keys)" = 600 ]
ok $? "export -o OUT (rc $RC)"
run ex3 "$K" export -o client2.keys ntp.keys 5
[ $RC -eq 1 ] && has ex3 "client2.keys: error: cannot write: File exists (use --force" err && grep -q '^2 ' client2.keys
ok $? "export -o refuses an existing file without --force (rc $RC)"
run ex4 "$K" export ntp.keys 1 3
[ $RC -eq 1 ] && has ex4 "no key with id 3" err && [ ! -s "$WORK/ex4.out" ]
ok $? "export of a missing id: error, no output (rc $RC)"
run cv1 "$K" convert --to chrony -o chrony.keys ntp.keys
[ $RC -eq 0 ] && grep -q "^1 AES128 HEX:$(awk '$1==1{print toupper($3)}' ntp.keys)\$" chrony.keys &&
	grep -q "^11 SHA1 HEX:$(awk '$1==11{print toupper($3)}' ntp.keys)\$" chrony.keys && [ "$(nkeys chrony.keys)" = 22 ]
ok $? "convert --to chrony: ID AES128|SHA1 HEX:KEY (rc $RC)"
run cv2 "$K" convert --to ntp chrony.keys
grep '^[0-9]' ntp.keys | sort >"$WORK/a"
grep '^[0-9]' "$WORK/cv2.out" | sort >"$WORK/b"
[ $RC -eq 0 ] && cmp -s "$WORK/a" "$WORK/b"
ok $? "convert --to ntp gives the original keys back (rc $RC)"
cat >chrony-in.keys <<'EOF'
! chrony comment
; another
10 tulip
20 MD5 ASCII:crocus
25 SHA1 HEX:933F62BE1D604E68A81B557F18CFA200483F5B70
30 AES128 HEX:7EA62AE64D190114D46D5A082F948EC1
EOF
run cv3 "$K" convert --to ntp chrony-in.keys
[ $RC -eq 0 ] && grep -q '^10 MD5 tulip$' "$WORK/cv3.out" && grep -q '^20 MD5 crocus$' "$WORK/cv3.out" &&
	grep -q '^25 SHA1 933f62be1d604e68a81b557f18cfa200483f5b70$' "$WORK/cv3.out" &&
	grep -q '^30 AES128CMAC 7ea62ae64d190114d46d5a082f948ec1$' "$WORK/cv3.out"
ok $? "convert --to ntp reads chrony's documented example (default MD5, ASCII:, HEX:, AES128) (rc $RC)"
cat >chrony-bad.keys <<'EOF'
31 AES256 HEX:37DDCBC67BB902BCB8E995977FAB4D2B5642F5B32EBCEEE421921D97E5CBFE39
70000 SHA1 HEX:00
5 SHA1 HEX:0G
6 SHA1 HEX:
5 MD5 x
7 SHA1 x y
EOF
run cv4 "$K" convert --to ntp chrony-bad.keys
[ $RC -eq 1 ] && has cv4 "chrony-bad.keys:1: error: unknown or unconvertible key type" err &&
	has cv4 "chrony-bad.keys:2: error: key id 70000 out of range" err &&
	has cv4 "chrony-bad.keys:3: error: bad hex key" err && has cv4 "chrony-bad.keys:4: error: bad hex key" err &&
	has cv4 "chrony-bad.keys:5: error: duplicate key id 5 (first defined on line 3)" err &&
	has cv4 "chrony-bad.keys:6: error: expected 'ID \[TYPE\] KEY'" err && [ ! -s "$WORK/cv4.out" ] &&
	! grep -q 37DDCB "$WORK/cv4.err"
ok $? "convert of a bad chrony file: every error with file:line, no output (rc $RC)"
show cv4
printf '7 SHA224 00112233445566778899aabbccddeeff0011223344556677\n' >sha224.keys
run cv5 "$K" convert --to chrony sha224.keys
[ $RC -eq 1 ] && has cv5 "key 7: chrony has no SHA224 keys" err
ok $? "convert --to chrony refuses SHA224 (chrony has none) (rc $RC)"
printf '9 MD5 HEX:0001020304\n' >short.keys
run cv6 "$K" convert --to ntp short.keys
[ $RC -eq 1 ] && has cv6 "key 9: a key of 10 bytes or less must be printable" err
ok $? "convert --to ntp refuses a short binary key ntpd cannot express (rc $RC)"
run cv7 "$K" convert ntp.keys
[ $RC -eq 2 ] && has cv7 "expected --to chrony|ntp FILE" err
ok $? "convert without --to: usage error (rc $RC)"

# --- command line -----------------------------------------------------------
run u1 "$K" frobnicate
[ $RC -eq 2 ] && has u1 "unknown command 'frobnicate'; commands: generate" err
ok $? "unknown command: exit 2 with the list of commands"
run u2 "$K" --help
[ $RC -eq 0 ] && has u2 "Exit status: 0 success, 1 a file problem or a refused operation, 2 usage error" out
ok $? "--help documents the exit statuses"
run u2b "$K" cookie rotate --help
[ $RC -eq 0 ] && has u2b "cookie rotate" out
ok $? "COMMAND --help prints the help too (rc $RC)"
run u3 "$K" list
[ $RC -eq 2 ]
ok $? "missing FILE: usage error (rc $RC)"

# --- killed in the middle of a write ------------------------------------------
# kill_mid NAME CMD...: starts CMD with the test hook that pauses after the
# new file is complete and before it is linked, SIGKILLs it there.
kill_mid() {
	local n=$1 i
	shift
	NTSKEY_TEST_WRITE_DELAY_MS=10000 "$@" >"$WORK/$n.out" 2>"$WORK/$n.err" &
	local pid=$!
	for i in $(seq 1 200); do
		grep -q "test hook: pausing" "$WORK/$n.err" 2>/dev/null && break
		sleep 0.02
	done
	grep -q "test hook: pausing" "$WORK/$n.err"
	HOOKED=$?
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
}
mkdir "$WORK/kill" && cd "$WORK/kill" || exit 1
"$K" generate ntp.keys >/dev/null
old=$(sum ntp.keys)
before=$(ls -A)
kill_mid k1 "$K" generate --force -n 5000 ntp.keys
[ $HOOKED -eq 0 ] && [ "$(sum ntp.keys)" = "$old" ] && [ "$(ls -A)" = "$before" ]
ok $? "generate --force killed before the rename: old file intact, no temporary file ($(ls -A | tr '\n' ' '))"
kill_mid k2 "$K" add ntp.keys
[ $HOOKED -eq 0 ] && [ "$(sum ntp.keys)" = "$old" ] && [ "$(ls -A)" = "$before" ]
ok $? "add killed before the rename: old file intact, no temporary file"
kill_mid k3 "$K" generate new.keys
[ $HOOKED -eq 0 ] && [ ! -e new.keys ] && [ "$(ls -A)" = "$before" ]
ok $? "generate of a new file killed: no file at all"
kill_mid k4 "$K" cert --name localhost --key k.pem --cert c.pem
[ $HOOKED -eq 0 ] && [ "$(ls -A)" = "$before" ]
ok $? "cert killed while writing the key: nothing left behind"
# Unaided: SIGKILL at random moments of a large generate; whatever the
# moment, the file is the old one or a complete new one, and no debris.
good=0
for delay in 0.005 0.01 0.02 0.04 0.08; do
	(timeout -s KILL $delay "$K" generate --force -n 10000 ntp.keys >/dev/null 2>&1; true) 2>/dev/null
	n=$("$K" list ntp.keys 2>/dev/null | tail -1)
	if { [ "$(sum ntp.keys)" = "$old" ] || [ "$n" = "20000 keys" ]; } && [ "$(ls -A)" = "$before" ]; then
		good=$((good + 1))
	fi
	old=$(sum ntp.keys)
done
[ $good -eq 5 ]
ok $? "generate killed after 5..80 ms, five times: always a whole file, no debris ($good/5)"
cd "$D" || exit 1

# --- keys on the wire: ntsd + ntpdig, chronyd ----------------------------------
"$K" generate --force ntp.keys >/dev/null
"$K" export ntp.keys 1 11 >client.keys
"$K" export --to chrony ntp.keys 1 11 >chrony-client.keys
cat >"$WORK/ntp.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1
keys $D/ntp.keys
trustedkey 1-20
CONF
sed -i 's/^trustedkey 1-20$/trustedkey 1 11/' "$WORK/ntp.conf"
"$NTSD" --check -c "$WORK/ntp.conf" >"$WORK/check1.out" 2>&1
ok $? "ntsd --check accepts the generated key file"
start_ntsd "$WORK/ntp.conf"
ok $? "ntsd starts with the ntskey key file"
for id in 1 11; do
	ntpdig -j -t 2 -k client.keys -a $id 127.0.0.1 >"$WORK/dig$id.json" 2>"$WORK/dig$id.err"
	rc=$?
	st=$(json_get "$WORK/dig$id.json" stratum 2>/dev/null)
	[ $rc -eq 0 ] && [ "$st" = 10 ]
	ok $? "ntpdig -k client.keys -a $id (exported) gets authenticated time (rc $rc, stratum '$st')"
done
"$K" export ntp.keys 2 >other.keys
sed -i 's/^2 /1 /' other.keys
ntpdig -j -t 2 -k other.keys -a 1 127.0.0.1 >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "ntpdig with another generated key under id 1 is refused"
cq_sym() { # cq_sym NAME KEYID
	local dir="$WORK/chrony-$1"
	mkdir -p "$dir"
	cat >"$dir/chrony.conf" <<CC
server 127.0.0.1 iburst key $2
keyfile $D/chrony-client.keys
logdir $dir
log measurements
pidfile $dir/chronyd.pid
CC
	timeout 20 chronyd -Q -u root -f "$dir/chrony.conf" -t 10 >"$dir/out" 2>&1
	CRC=$?
	GOOD=$(awk '$3 == "127.0.0.1" && $6 == "111" && $7 == "111" && $8 == "1111"' "$dir/measurements.log" 2>/dev/null | wc -l)
}
for id in 1 11; do
	cq_sym k$id $id
	[ $CRC -eq 0 ] && [ "$GOOD" -ge 1 ]
	ok $? "chronyd -Q with key $id from ntskey export --to chrony gets authenticated time (rc $CRC, good $GOOD)"
done
stop_ntsd

# --- certificates -------------------------------------------------------------
run c1 "$K" cert --name localhost --ip 127.0.0.1 --key key.pem --cert cert.pem
[ $RC -eq 0 ] && [ "$(stat -c %a key.pem)" = 600 ] && [ "$(stat -c %a cert.pem)" = 600 ]
ok $? "cert: key and self-signed certificate, both 0600 (rc $RC)"
openssl x509 -in cert.pem -noout -text >"$WORK/x509.txt" 2>&1
grep -q "DNS:localhost, IP Address:127.0.0.1" "$WORK/x509.txt" && grep -q "CA:FALSE" "$WORK/x509.txt" &&
	grep -q "TLS Web Server Authentication" "$WORK/x509.txt" && grep -q "prime256v1" "$WORK/x509.txt"
ok $? "openssl sees SAN DNS:localhost + IP:127.0.0.1, CA:FALSE, serverAuth, P-256"
run c2 "$K" cert-info cert.pem --key key.pem
[ $RC -eq 0 ] && has c2 "names:       DNS:localhost IP:127.0.0.1" out && has c2 "(self-signed)" out &&
	has c2 "key:         key.pem matches" out && has c2 "status:      valid for 36[45] more days" out
ok $? "cert-info: names, self-signed, valid a year, key matches (rc $RC)"
sed 's/^/#   /' "$WORK/c2.out"
"$K" cert --ed25519 --name localhost --key ed.pem --cert ed.pem.crt >/dev/null
run c3 "$K" cert-info cert.pem --key ed.pem
[ $RC -eq 1 ] && has c3 "key:         DOES NOT LOAD" out
ok $? "cert-info with another key: does not load, exit 1 (rc $RC)"
run c4 "$K" cert-info ed.pem.crt --key ed.pem
[ $RC -eq 0 ] && grep -qi "ed25519" "$WORK/c4.out"
ok $? "cert --ed25519: an Ed25519 pair that loads (rc $RC)"
run c5 "$K" cert-info ntp.keys
[ $RC -eq 1 ] && has c5 "ntp.keys: no PEM certificate found" err
ok $? "cert-info of a non-certificate: error (rc $RC)"
old=$(sum key.pem)
run c6 "$K" cert --name localhost --key key.pem --cert new.pem
[ $RC -eq 1 ] && has c6 "key.pem: error: exists; use --force" err && [ "$(sum key.pem)" = "$old" ] && [ ! -e new.pem ]
ok $? "cert refuses an existing key file without --force, writes nothing (rc $RC)"
run c7 "$K" cert --name 'bad name' --key k2.pem --cert c2.pem
rc1=$RC
run c8 "$K" cert --ip 300.1.1.1 --key k2.pem --cert c2.pem
[ $rc1 -eq 2 ] && [ $RC -eq 2 ] && has c8 "expected an IPv4 or IPv6 address" err && [ ! -e k2.pem ]
ok $? "cert with a bad --name or --ip: usage error ($rc1, $RC)"
run c9 "$K" cert --name localhost --key k2.pem
[ $RC -eq 2 ]
ok $? "cert without --cert: usage error (rc $RC)"
run c10 "$K" csr --name ntp.example.net --ip 192.0.2.1 --key csr.key --csr req.csr
openssl req -in req.csr -noout -verify -text >"$WORK/csr.txt" 2>&1
[ $RC -eq 0 ] && grep -q "verify OK\|Certificate request self-signature verify OK" "$WORK/csr.txt" &&
	grep -q "DNS:ntp.example.net, IP Address:192.0.2.1" "$WORK/csr.txt"
ok $? "csr: a signed request with the names in its SAN (rc $RC)"
openssl x509 -req -in req.csr -signkey csr.key -days 5 -copy_extensions copy -out csr.crt >/dev/null 2>&1
run c11 "$K" cert-info csr.crt --key csr.key
[ $RC -eq 0 ] && has c11 "status:      valid, but expires in [45] days (ntsd --check warns)" out
ok $? "cert-info warns about a certificate that expires within 14 days (rc $RC)"
# An expired certificate for key.pem, without SAN names (openssl ca can
# set past dates; OpenSSL 3.0's req and x509 cannot).
mkdir -p "$WORK/ca" && : >"$WORK/ca/index.txt" && echo 01 >"$WORK/ca/serial"
printf '[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt\nnew_certs_dir=$dir\nserial=$dir/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' "$WORK/ca" >"$WORK/ca.cnf"
openssl req -new -key key.pem -subj /CN=localhost -out "$WORK/old.csr" >/dev/null 2>&1
openssl ca -batch -config "$WORK/ca.cnf" -selfsign -keyfile key.pem -in "$WORK/old.csr" \
	-startdate 20200101000000Z -enddate 20200201000000Z -out old.pem >/dev/null 2>&1
run c12 "$K" cert-info old.pem --key key.pem
[ $RC -eq 1 ] && has c12 "status:      EXPIRED [0-9]* days ago; ntsd --check refuses it" out &&
	has c12 "none in subjectAltName" out && has c12 "key:         key.pem matches" out
ok $? "cert-info: an expired certificate fails, the missing SAN is pointed out (rc $RC)"

cat >"$WORK/nts.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
interface listen 127.0.0.1
nts enable
nts cert $D/cert.pem
nts key $D/key.pem
nts cookie $D/masterkeys
CONF
"$NTSD" --check -c "$WORK/nts.conf" >"$WORK/check2.out" 2>&1
ok $? "ntsd --check accepts the certificate and key from ntskey cert"
start_ntsd "$WORK/nts.conf" --nts-check 1
ok $? "ntsd starts with NTS and the ntskey certificate"
cq_nts() { # cq_nts NAME SERVER: chronyd -Q over NTS trusting cert.pem
	local dir="$WORK/chrony-$1"
	mkdir -p "$dir"
	cat >"$dir/chrony.conf" <<CC
server $2 iburst nts
ntstrustedcerts $D/cert.pem
ntsdumpdir $dir
logdir $dir
log measurements
pidfile $dir/chronyd.pid
CC
	timeout 25 chronyd -Q -u root -f "$dir/chrony.conf" -t 15 >"$dir/out" 2>&1
	GOOD=$(awk '$6 == "111" && $7 == "111" && $8 == "1111"' "$dir/measurements.log" 2>/dev/null | wc -l)
}
cq_nts name localhost
[ "$GOOD" -ge 1 ]
ok $? "chronyd -Q over NTS to 'localhost' trusts the ntskey certificate ($GOOD good samples)"
cq_nts ip 127.0.0.1
[ "$GOOD" -ge 1 ]
ok $? "chronyd -Q over NTS to 127.0.0.1 (IP SAN) ($GOOD good samples)"

# --- cookie master keys -----------------------------------------------------------
mk="$D/masterkeys"
run ck1 "$K" cookie list "$mk"
[ $RC -eq 0 ] && has ck1 "current" out && [ "$(grep -c current "$WORK/ck1.out")" = 1 ] &&
	! grep -q "$(awk '!/^#/ {print $3; exit}' "$mk")" "$WORK/ck1.out"
ok $? "cookie list: the key ntsd created, current, no secret (rc $RC)"
# A chronyd that keeps polling every second over NTS and holds cookies.
cdir="$WORK/chrony-live"
mkdir -p "$cdir"
cat >"$cdir/chrony.conf" <<CC
server localhost iburst nts minpoll 0 maxpoll 0
ntstrustedcerts $D/cert.pem
ntsdumpdir $cdir
logdir $cdir
log measurements
pidfile $cdir/chronyd.pid
CC
timeout 60 chronyd -x -d -u root -f "$cdir/chrony.conf" >"$cdir/out" 2>&1 &
CPID=$!
PIDS+=("$CPID")
goods() { awk '$6 == "111" && $7 == "111" && $8 == "1111"' "$cdir/measurements.log" 2>/dev/null | wc -l; }
for i in $(seq 1 150); do [ "$(goods)" -ge 3 ] && break; sleep 0.1; done
g0=$(goods)
ke0=$(stat_of ke_responses)
[ "$g0" -ge 3 ]
ok $? "a running chronyd gets NTS time every second ($g0 samples, $ke0 KE)"
run ck2 "$K" cookie rotate "$mk"
newid=$(awk '!/^#/ {l=$1} END {printf "%08x", l}' "$mk")
[ $RC -eq 0 ] && [ "$(grep -c '^[0-9]' "$mk")" = 2 ] && [ "$(stat -c %a "$mk")" = 600 ]
ok $? "cookie rotate: a second key, the old one kept, mode 0600 (rc $RC)"
for i in $(seq 1 60); do grep -q "current id $newid" "$NTSD_LOG" && break; sleep 0.1; done
grep -q "current id $newid" "$NTSD_LOG"
ok $? "the running ntsd adopted the new current key $newid"
for i in $(seq 1 100); do [ "$(goods)" -ge $((g0 + 4)) ] && break; sleep 0.1; done
g1=$(goods)
ke1=$(stat_of ke_responses)
bad=$(stat_of nts_bad_cookie)
[ "$g1" -ge $((g0 + 4)) ] && [ "$ke1" = "$ke0" ] && [ "${bad:-x}" = 0 ]
ok $? "after the rotation chronyd keeps getting time with the cookies it held: no NTSN, no new KE (samples $g0 -> $g1, KE $ke0 -> $ke1, bad cookies $bad)"
kill "$CPID" 2>/dev/null
wait "$CPID" 2>/dev/null
stop_ntsd

# list statuses, retire, errors: a file with an expired, a valid and a current key.
now=$(date +%s)
{
	echo "# ntsd master keys v1"
	echo "11 $((now - 5 * 86400)) $(printf '%064d' 1)"
	echo "22 $((now - 4 * 86400)) $(printf '%064d' 2)"
	echo "33 $((now - 3600)) $(printf '%064d' 3)"
} >mk2
chmod 600 mk2
run ck3 "$K" cookie list mk2
[ $RC -eq 0 ] && grep -q '^11 .* expired' "$WORK/ck3.out" && grep -q '^22 .* valid' "$WORK/ck3.out" &&
	grep -q '^33 .* current' "$WORK/ck3.out" && ! grep -q 0000000000000 "$WORK/ck3.out"
ok $? "cookie list: expired, valid, current (rc $RC)"
sed 's/^/#   /' "$WORK/ck3.out"
run ck4 "$K" cookie retire 33 mk2
[ $RC -eq 1 ] && has ck4 "key 33 is the current key; run 'ntskey cookie rotate' first" err
ok $? "cookie retire of the current key is refused (rc $RC)"
run ck5 "$K" cookie retire 22 mk2
[ $RC -eq 1 ] && has ck5 "key 22 is still valid: clients may hold cookies" err && grep -q '^22 ' mk2
ok $? "cookie retire of a valid key is refused without --force (rc $RC)"
run ck6 "$K" cookie retire 11 mk2
[ $RC -eq 0 ] && ! grep -q '^11 ' mk2 && [ "$(grep -c '^[0-9]' mk2)" = 2 ]
ok $? "cookie retire of an expired key (rc $RC)"
run ck7 "$K" cookie retire --force 0x16 mk2
[ $RC -eq 0 ] && ! grep -q '^22 ' mk2 && grep -q '^33 ' mk2
ok $? "cookie retire --force 0x16 (hex, as ntsd logs ids) removes a valid key (rc $RC)"
run ck8 "$K" cookie retire 99 mk2
[ $RC -eq 1 ] && has ck8 "no key with id 99" err
ok $? "cookie retire of an unknown id (rc $RC)"
run ck9 "$K" cookie retire zz mk2
rc1=$RC
run ck10 "$K" cookie spin mk2
[ $rc1 -eq 2 ] && [ $RC -eq 2 ] && has ck10 "unknown command 'spin'" err
ok $? "cookie: bad id and unknown command are usage errors ($rc1, $RC)"
chmod 644 mk2
run ck11 "$K" cookie list mk2
[ $RC -eq 1 ] && has ck11 "chmod 600 it" err
ok $? "cookie list refuses a master key file others can read (rc $RC)"
chmod 600 mk2
printf 'garbage\n' >>mk2
old=$(sum mk2)
run ck12 "$K" cookie rotate mk2
[ $RC -eq 1 ] && has ck12 "mk2:3: error: missing fields" err && [ "$(sum mk2)" = "$old" ]
ok $? "cookie rotate leaves a corrupt file alone, naming the line (rc $RC)"
{
	echo "# ntsd master keys v1"
	for i in $(seq 1 16); do echo "$i $((now - 100 + i)) $(printf '%064d' $i)"; done
} >mk3
chmod 600 mk3
run ck13 "$K" cookie rotate mk3
rc1=$RC
run ck14 "$K" cookie rotate --force mk3
[ $rc1 -eq 1 ] && has ck13 "already 16 keys" err && [ $RC -eq 0 ] && ! grep -q '^1 ' mk3
ok $? "cookie rotate with 16 keys refuses to push one out unless --force ($rc1, $RC)"
# rotate waits for the lock that ntsd's sync holds.
flock "mk3.lock" sleep 1.5 &
FPID=$!
sleep 0.2
t0=$(date +%s%N)
"$K" cookie rotate --force mk3 >/dev/null 2>&1
t1=$(date +%s%N)
wait $FPID
[ $(((t1 - t0) / 1000000)) -ge 1000 ]
ok $? "cookie rotate waits for the lock on FILE.lock ($(((t1 - t0) / 1000000)) ms)"
