#!/usr/bin/env bash
# Installs what the tests need (Debian 12, as root), builds ntsd with both
# backends (OpenSSL: build/, GnuTLS: build-gnutls/), runs every unit test in
# both builds and every integration test against real peers (chrony, NTPsec)
# in private network namespaces, and ends with "N passed, N failed" counting
# individual TAP checks. Logs: tests/out/.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT="$ROOT/tests/out"
rm -rf "$OUT"
mkdir -p "$OUT"

if ! peers=$(tools/deps.sh --peers); then
	echo "could not install dependencies"
	echo "0 passed, 1 failed"
	exit 1
fi
eval "$peers"
export NTPSEC_NTPD NTPSEC_NTPQ

passed=0
failed=0

# run_tap NAME CMD...: runs one TAP producer, counts its checks.
run_tap() {
	local name=$1
	shift
	local log="$OUT/${name//\//_}.log"
	timeout 600 "$@" >"$log" 2>&1
	local rc=$?
	local p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, timed out or failed without saying which check
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if ! grep -q '^1\.\.[0-9]' "$log"; then
		f=$((f + 1))
		echo "not ok - $name printed no TAP plan" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	printf '%-40s %4d passed %4d failed\n' "$name" "$p" "$f"
	if [ "$f" -gt 0 ]; then
		grep -E '^(not ok|#)' "$log" | head -30 | sed 's/^/    /'
	fi
}

build() { # build DIR TLS
	if [ ! -f "$1/build.ninja" ]; then
		meson setup "$1" -Dtls="$2" >"$OUT/setup-$2.log" 2>&1 || return 1
	fi
	ninja -C "$1" >"$OUT/build-$2.log" 2>&1
}

for tls in openssl gnutls; do
	dir=build
	[ "$tls" = gnutls ] && dir=build-gnutls
	if ! build "$dir" "$tls"; then
		echo "build with -Dtls=$tls FAILED:"
		tail -30 "$OUT/setup-$tls.log" "$OUT/build-$tls.log" 2>/dev/null | sed 's/^/    /'
		failed=$((failed + 1))
		continue
	fi
	while IFS= read -r t; do
		run_tap "$tls/unit/$(basename "$t")" "$t"
	done < <(find "$dir/tests/unit" -type f -name 'test_*' -perm -u+x | sort)
	for t in tests/integration/t_*.sh; do
		NTSD_BUILD="$ROOT/$dir" run_tap "$tls/integration/$(basename "$t" .sh)" bash "$t"
	done
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
