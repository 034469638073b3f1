#!/usr/bin/env bash
# Installs what building ntsd needs on Debian 12 (as root). Idempotent and
# quiet when everything is present. With --peers, also the real NTP/NTS
# implementations the integration tests run against: chrony, NTPsec's
# ntpdig and ntpdate (installed), and NTPsec's ntpd and ntpq (unpacked into
# a cache directory, since the ntpsec package conflicts with chrony).
set -eu
build_pkgs=(meson ninja-build gcc libc6-dev pkg-config libssl-dev libsodium-dev libgnutls28-dev nettle-dev openssl libmicrohttpd-dev libseccomp-dev)
test_pkgs=(iproute2 util-linux python3 gnutls-bin chrony ntpsec-ntpdig ntpsec-ntpdate python3-ntp procps prometheus python3-prometheus-client curl)
want=("${build_pkgs[@]}")
[ "${1:-}" = --peers ] && want+=("${test_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >/dev/null
	# chrony's postinst would start the daemon where an init system runs;
	# policy-rc.d keeps it (and anything else) from starting.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	rm -f /usr/sbin/policy-rc.d
fi
if [ "${1:-}" = --peers ]; then
	dest=${NTPSEC_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ntsd-peers/ntpsec}
	if [ ! -x "$dest/usr/sbin/ntpd" ]; then
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download ntpsec >/dev/null 2>&1 || { apt-get update >/dev/null && cd "$tmp" && apt-get download ntpsec >/dev/null; })
		mkdir -p "$dest" && dpkg -x "$tmp"/ntpsec_*.deb "$dest"
		rm -rf "$tmp"
	fi
	echo "NTPSEC_NTPD=$dest/usr/sbin/ntpd"
	echo "NTPSEC_NTPQ=$dest/usr/bin/ntpq"
fi
