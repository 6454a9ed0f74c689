#!/bin/sh
# bench_http.sh - HTTP throughput of ringmaster on loopback, measured with
# wrk in the same run as two yardsticks: a bare libmicrohttpd server
# answering a small JSON (bench_http_bare) and nginx serving a static file.
# Then the memory of 1,000 clusters x 10 nodes heartbeating every 10 s.
#
#   tests/bench/bench_http.sh            (after: make all build/release/tests/bench/bench_http_bare)
#
# Environment: BIN (ringmaster, default ./bin), BENCH_DIR (bench_http_bare,
# default build/release/tests/bench), DURATION (per wrk run, default 10s),
# CONNS (default 64), THREADS (wrk threads, default 2), SKIP_RSS=1.
# Targets: GET /api/v1/clusters/{name} >= 50,000 req/s, heartbeats >= 30,000/s,
# RSS < 64 MiB.
set -eu
cd "$(dirname "$0")/../.."
REPO=$PWD
: "${BIN:=$REPO/bin}" "${BENCH_DIR:=$REPO/build/release/tests/bench}"
: "${DURATION:=10s}" "${CONNS:=64}" "${THREADS:=2}"

if ! command -v wrk >/dev/null 2>&1; then
	echo "wrk is missing: installing the Debian package"
	apt-get install -y -qq wrk >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
	echo "nginx is missing: installing the Debian package"
	apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
	    apt-get install -y -qq nginx >/dev/null
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[ -x "$BENCH_DIR/bench_http_bare" ] || {
	echo "bench_http_bare missing in $BENCH_DIR: run 'make $BENCH_DIR/bench_http_bare'" >&2
	exit 1
}

TMP=$(mktemp -d)
chmod 755 "$TMP"	# nginx workers run as an unprivileged user
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	[ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Poll with growing intervals until the URL answers (no fixed sleeps).
wait_http() {
	d=0.01; i=0
	while ! curl -s -o /dev/null "$1"; do
		i=$((i + 1))
		[ $i -gt 60 ] && { echo "timed out waiting for $1" >&2; exit 1; }
		sleep $d
		d=$(echo "$d" | awk '{ v = $1 * 1.6; print (v > 0.5 ? 0.5 : v) }')
	done
}

# wrk ... -> requests/s (integer)
rate() {
	wrk "$@" > "$TMP/wrk.out" 2>&1 || { cat "$TMP/wrk.out" >&2; echo 0; return; }
	grep -q "Non-2xx" "$TMP/wrk.out" && { echo "non-2xx answers:" >&2; cat "$TMP/wrk.out" >&2; }
	awk '/Requests\/sec/ { printf "%d\n", $2 }' "$TMP/wrk.out"
}

WRK="-t$THREADS -c$CONNS -d$DURATION"

# --- ringmaster ----------------------------------------------------------
RM_PORT=$(free_port)
mkdir -p "$TMP/rm"
cat > "$TMP/rm.conf" <<CONF
listen = 127.0.0.1:$RM_PORT
data_dir = $TMP/rm
log_level = warn
log_file = $TMP/rm.log
workers = 4
http_threads = 2
heartbeat_interval = 10s
heartbeat_timeout = 60s
heartbeat_flush = 1s
CONF
"$BIN/ringmaster" -d -f "$TMP/rm.conf" 2>>"$TMP/rm.log" &
RM_PID=$!
PIDS="$PIDS $RM_PID"
RM="http://127.0.0.1:$RM_PORT"
wait_http "$RM/health"
ADMIN=$(cat "$TMP/rm/admin.token")
JOIN=$(cat "$TMP/rm/join.token")
curl -sf -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    -d '{"name":"bench","storage":{"url":"file:///tmp/bench"},"ssh":{"user":"cassandra","key_file":"/k"}}' \
    "$RM/api/v1/clusters"
NODES=100
i=1
while [ $i -le $NODES ]; do
	curl -sf -o /dev/null -H "Authorization: Bearer $JOIN" -H 'Content-Type: application/json' \
	    -d "{\"cluster\":\"bench\",\"address\":\"10.1.$((i / 256)).$((i % 256))\",\"dc\":\"dc1\",\"rack\":\"r1\",\"cassandra_version\":\"4.1.3\"}" \
	    "$RM/api/v1/agents/checkin"
	i=$((i + 1))
done

echo "== wrk $WRK on $(nproc) cores"
GET_RATE=$(rate $WRK -H "Authorization: Bearer $ADMIN" "$RM/api/v1/clusters/bench")
HB_RATE=$(BENCH_TOKEN=$JOIN BENCH_NODES=$NODES rate $WRK -s tests/bench/bench_http_heartbeat.lua "$RM/api/v1/agents/heartbeat")

# --- bare libmicrohttpd ---------------------------------------------------
BARE_PORT=$(free_port)
"$BENCH_DIR/bench_http_bare" "$BARE_PORT" 2 &
PIDS="$PIDS $!"
wait_http "http://127.0.0.1:$BARE_PORT/"
BARE_RATE=$(rate $WRK "http://127.0.0.1:$BARE_PORT/api/v1/clusters/bench")
# The same heartbeat requests (same wrk script, same bodies) to the bare
# server: the yardstick for heartbeats, since the client's Lua and the
# request body cost the shared cores the same on both sides.
BARE_HB_RATE=$(BENCH_TOKEN=x BENCH_NODES=$NODES rate $WRK -s tests/bench/bench_http_heartbeat.lua \
    "http://127.0.0.1:$BARE_PORT/api/v1/agents/heartbeat")

# --- nginx, static file ---------------------------------------------------
NG_PORT=$(free_port)
mkdir -p "$TMP/www" "$TMP/ngx"
curl -s -H "Authorization: Bearer $ADMIN" "$RM/api/v1/clusters/bench" > "$TMP/www/bench.json"
cat > "$TMP/nginx.conf" <<CONF
worker_processes 2;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $TMP/ngx; proxy_temp_path $TMP/ngx;
	fastcgi_temp_path $TMP/ngx; uwsgi_temp_path $TMP/ngx; scgi_temp_path $TMP/ngx;
	server { listen 127.0.0.1:$NG_PORT; root $TMP/www; }
}
CONF
"$NGINX" -c "$TMP/nginx.conf" -p "$TMP" -g 'daemon on;'
wait_http "http://127.0.0.1:$NG_PORT/bench.json"
NG_RATE=$(rate $WRK "http://127.0.0.1:$NG_PORT/bench.json")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
verdict() { [ "$1" -ge "$2" ] && echo "PASS" || echo "BELOW TARGET"; }
echo
printf '%-44s %12s %10s %10s %s\n' "what" "req/s" "vs bare" "vs nginx" "target"
printf '%-44s %12d %10s %10s %s\n' "ringmaster GET /api/v1/clusters/{name}" "$GET_RATE" \
    "$(ratio "$GET_RATE" "$BARE_RATE")" "$(ratio "$GET_RATE" "$NG_RATE")" ">= 50000 $(verdict "$GET_RATE" 50000)"
printf '%-44s %12d %10s %10s %s\n' "ringmaster POST /api/v1/agents/heartbeat" "$HB_RATE" \
    "$(ratio "$HB_RATE" "$BARE_HB_RATE")*" "$(ratio "$HB_RATE" "$NG_RATE")" ">= 30000 $(verdict "$HB_RATE" 30000)"
printf '%-44s %12d %10s %10s\n' "bare libmicrohttpd, small JSON" "$BARE_RATE" "1.00" "$(ratio "$BARE_RATE" "$NG_RATE")"
printf '%-44s %12d %10s %10s\n' "bare libmicrohttpd, the heartbeat POSTs" "$BARE_HB_RATE" "1.00*" "$(ratio "$BARE_HB_RATE" "$NG_RATE")"
echo "(* heartbeats are compared with the bare server answering the same POSTs)"
printf '%-44s %12d %10s %10s\n' "nginx, static file" "$NG_RATE" "$(ratio "$NG_RATE" "$BARE_RATE")" "1.00"
kill "$RM_PID"; wait "$RM_PID" 2>/dev/null || true

# --- memory: 1,000 clusters x 10 nodes ----------------------------------
if [ "${SKIP_RSS:-0}" != 1 ]; then
	echo
	echo "== RSS with 1000 clusters x 10 nodes heartbeating every 10s"
	rm -rf "$TMP/rm"; mkdir -p "$TMP/rm"
	"$BIN/ringmaster" -d -f "$TMP/rm.conf" 2>>"$TMP/rm.log" &
	RM_PID=$!
	PIDS="$PIDS $RM_PID"
	wait_http "$RM/health"
	# The admin token: only an admin's check-in creates a cluster, and it
	# may send any node's heartbeat (agents use their node credentials).
	python3 tests/bench/bench_http_rss.py "$RM" "$(cat "$TMP/rm/admin.token")" "$RM_PID" \
	    "${RSS_CLUSTERS:-1000}" "${RSS_NODES:-10}" "${RSS_INTERVAL:-10}" "${RSS_CYCLES:-3}"
fi
