#!/usr/bin/env bash
# Prometheus metrics (`metrics ADDR:PORT`): the page passes promtool and
# python3-prometheus-client's parser, counters move with traffic, NTS-KE
# and per-source values appear, other paths and methods are refused, and
# idle connections from one client neither exhaust the endpoint for
# others nor delay NTP.
. "$(dirname "$0")/lib.sh"
in_private_netns "$@"
require python3 curl promtool openssl "$NTSD"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null
ok $? "python3-prometheus-client is installed (Debian's /usr/bin/python3)" || exit 1

NTSQ="$NTSD_BUILD/tools/ntsq"
ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
chmod 600 "$WORK/key.pem"

cat >"$WORK/a.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.1
nts enable
nts cert $WORK/cert.pem
nts key $WORK/key.pem
nts cookie $WORK/a.mk
metrics 127.0.0.1:9975
CONF
cat >"$WORK/b.conf" <<CONF
server localhost iburst nts ca $WORK/cert.pem minpoll 3 maxpoll 4
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.0 mask 255.0.0.0
interface listen 127.0.0.2
metrics 127.0.0.2:9975
CONF

# scrape URL OUT: fetches a page, ok when HTTP 200
scrape() { curl -s -f -m 5 -o "$2" "$1"; }
# value FILE SAMPLE: the value of the first sample line starting with SAMPLE
value() { awk -v s="$2" 'index($0, s) == 1 { print $NF; exit }' "$1"; }

start_ntsd "$WORK/a.conf"
A_PID=$NTSD_PID
grep -q 'Prometheus metrics on http://127.0.0.1:9975/metrics' "$NTSD_LOG"
ok $? "ntsd A logs where its metrics are"
sleep 1.1
scrape http://127.0.0.1:9975/metrics "$WORK/a1.txt"
ok $? "GET /metrics answers 200"
promtool check metrics <"$WORK/a1.txt" >"$WORK/promtool.out" 2>&1
ok $? "promtool check metrics accepts the page"
sed 's/^/#   /' "$WORK/promtool.out" | head -5
/usr/bin/python3 - "$WORK/a1.txt" <<'PY' >"$WORK/parse.out" 2>&1
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
need = ["ntsd_build_info", "ntsd_start_time_seconds", "ntsd_ntp_received", "ntsd_ntp_outcomes",
        "ntsd_ntp_authenticated", "ntsd_nts_ke_exchanges", "ntsd_system_synchronized",
        "ntsd_system_stratum", "ntsd_system_root_distance_seconds"]
missing = [n for n in need if n not in fams]
print("families:", len(fams), "missing:", missing)
sys.exit(1 if missing else 0)
PY
ok $? "python3-prometheus-client parses it, with every expected family"
sed 's/^/#   /' "$WORK/parse.out"
[ "$(value "$WORK/a1.txt" 'ntsd_system_synchronized ')" = 1 ] &&
	[ "$(value "$WORK/a1.txt" 'ntsd_system_stratum ')" = 10 ]
ok $? "A: synchronized, stratum 10 (local clock)"
grep -q '^ntsd_build_info{version="[0-9.]*",tls_backend="\(openssl\|gnutls\)"} 1$' "$WORK/a1.txt"
ok $? "build info names the version and TLS backend"

r1=$(value "$WORK/a1.txt" 'ntsd_ntp_received_total ')
python3 "$PYCLIENT" --count 3 --interval 0.1 127.0.0.1 >/dev/null 2>&1
sleep 1.2
scrape http://127.0.0.1:9975/metrics "$WORK/a2.txt"
r2=$(value "$WORK/a2.txt" 'ntsd_ntp_received_total ')
[ -n "$r1" ] && [ -n "$r2" ] && [ "$r2" -ge $((r1 + 3)) ]
ok $? "three NTP requests raise ntsd_ntp_received_total ($r1 -> $r2)"

start_ntsd "$WORK/b.conf"
B_PID=$NTSD_PID
timeout 30 "$NTSQ" wait --timeout 25 127.0.0.2 >/dev/null 2>&1
ok $? "ntsd B synchronizes to A over NTS"
sleep 1.2
scrape http://127.0.0.1:9975/metrics "$WORK/a3.txt"
ke=$(value "$WORK/a3.txt" 'ntsd_nts_ke_exchanges_total{result="ok"}')
[ -n "$ke" ] && [ "$ke" -ge 1 ]
ok $? "A counts B's NTS-KE exchange (ok: $ke)"
nts=$(value "$WORK/a3.txt" 'ntsd_ntp_authenticated_total{auth="nts"}')
[ -n "$nts" ] && [ "$nts" -ge 1 ]
ok $? "A counts NTS-authenticated requests ($nts)"
grep -q '^ntsd_nts_master_key_created_timestamp_seconds [0-9]' "$WORK/a3.txt"
ok $? "A publishes when its current master key was made"
scrape http://127.0.0.2:9975/metrics "$WORK/b.txt"
promtool check metrics <"$WORK/b.txt" >/dev/null 2>&1
ok $? "B's page (with a source) passes promtool"
lab='{source="localhost",address="127.0.0.1"'
reach=$(value "$WORK/b.txt" "ntsd_source_reach$lab")
[ -n "$reach" ] && [ "$reach" -gt 0 ]
ok $? "B: the source's reach register is non-zero ($reach)"
[ "$(value "$WORK/b.txt" "ntsd_source_selection$lab,state=\"sys_peer\"")" = 1 ]
ok $? "B: the source is the system peer"
c=$(value "$WORK/b.txt" "ntsd_source_nts_cookies$lab")
[ -n "$c" ] && [ "$c" -ge 1 ]
ok $? "B: NTS cookies held ($c)"
[ "$(value "$WORK/b.txt" 'ntsd_system_stratum ')" = 11 ] &&
	[ "$(value "$WORK/b.txt" 'ntsd_system_synchronized ')" = 1 ]
ok $? "B: synchronized at stratum 11"
grep -q "^ntsd_source_nts_ke_age_seconds$lab} [0-9]" "$WORK/b.txt"
ok $? "B: seconds since the last NTS-KE"

code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:9975/)
[ "$code" = 404 ]
ok $? "another path is 404 ($code)"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d x=1 http://127.0.0.1:9975/metrics)
[ "$code" = 405 ]
ok $? "POST is 405 ($code)"

# Ten idle connections from 127.0.0.3: capped per client, so a scrape
# from 127.0.0.1 and NTP are unaffected.
python3 - <<'PY' &
import socket, time
socks = []
for i in range(10):
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    try:
        s.connect(("127.0.0.1", 9975))
    except OSError:
        pass
    socks.append(s)
time.sleep(4)
PY
idle=$!
PIDS+=("$idle")
sleep 0.5
scrape http://127.0.0.1:9975/metrics "$WORK/a4.txt"
ok $? "a scrape succeeds while another client holds 10 idle connections"
python3 "$PYCLIENT" 127.0.0.1 >"$WORK/q.out" 2>&1 && grep -q '"stratum": 10' "$WORK/q.out"
ok $? "NTP answers meanwhile"
wait "$idle" 2>/dev/null

kill -TERM "$B_PID"; wait "$B_PID" 2>/dev/null
kill -TERM "$A_PID"; wait "$A_PID" 2>/dev/null
# Off by default.
cat >"$WORK/c.conf" <<CONF
local stratum 10
restrict default kod limited nomodify notrap nopeer noquery
CONF
start_ntsd "$WORK/c.conf"
sleep 0.3
! curl -s -m 2 -o /dev/null http://127.0.0.1:9975/metrics
ok $? "without a metrics line nothing listens on 9975"
