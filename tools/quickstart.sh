#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root), builds ntsd, and runs it in
# the foreground on its embedded default configuration: a LAN time source
# on this host's local clock at stratum 10, serving 127.0.0.1 and ::1 on
# port 123, with symmetric keys generated into /var/lib/ntsd on first run.
# It never adjusts the system clock. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
tools/deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
cat <<'TXT'
ntsd is starting. In another terminal, query it with:
  ntpdig 127.0.0.1                                   (apt-get install ntpsec-ntpdig)
  ntpdig -k /var/lib/ntsd/ntp.keys -a 1 127.0.0.1    (authenticated, AES128CMAC key 1)
  chronyd -Q 'server 127.0.0.1 iburst'               (query only, never sets the clock)
TXT
exec build/ntsd/ntsd -n --embedded "$@"
