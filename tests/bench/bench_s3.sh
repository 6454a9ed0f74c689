#!/bin/sh
# bench_s3.sh - PUT throughput of Ringmaster's S3 client against s3rver,
# next to 8 parallel curl PUTs of the same files and (when installed)
# boto3's transfer manager with 8 threads.  Prints MiB/s for each and our
# ratio to curl.  Knobs: FILES (8), SIZE_MIB (64), ROUNDS (2, best kept).
#
#   tests/bench/bench_s3.sh            (after make units)
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
UNIT_DIR=${UNIT_DIR:-$REPO/build/release/tests/unit}
CLI=$UNIT_DIR/test_s3
S3RVER=$REPO/tests/s3/node_modules/.bin/s3rver
FILES=${FILES:-8}
SIZE_MIB=${SIZE_MIB:-64}
ROUNDS=${ROUNDS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}

[ -x "$CLI" ] || { echo "bench_s3: $CLI missing; run make units" >&2; exit 1; }
[ -x "$S3RVER" ] || { echo "bench_s3: $S3RVER missing; run npm ci in tests/s3" >&2; exit 1; }

TMP=$(mktemp -d)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

PORT=$($PYTHON -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/s3" "$TMP/files"
NODE_OPTIONS=--openssl-legacy-provider "$S3RVER" -d "$TMP/s3" -a 127.0.0.1 \
    -p "$PORT" --configure-bucket bench -s >"$TMP/s3rver.log" 2>&1 &
PID=$!
EP=http://127.0.0.1:$PORT
# Wait with growing intervals, 20 s at most.
delay=0.05; waited=0
until curl -s -o /dev/null "$EP/"; do
	sleep $delay; waited=$(echo "$waited + $delay" | bc)
	delay=$(echo "d = $delay * 2; if (d > 1) 1 else d" | bc)
	[ "$(echo "$waited > 20" | bc)" = 1 ] && { echo "s3rver did not start" >&2; exit 1; }
done

i=1
while [ $i -le "$FILES" ]; do
	head -c $((SIZE_MIB << 20)) /dev/urandom >"$TMP/files/f$i"
	i=$((i + 1))
done
TOTAL_MIB=$((FILES * SIZE_MIB))
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1

now() { $PYTHON -c 'import time; print(time.monotonic())'; }
rate() { echo "scale=1; $TOTAL_MIB / ($2 - $1)" | bc; }
best() { echo "if ($1 > $2) $1 else $2" | bc; }

run_curl() {
	pids=
	for f in "$TMP"/files/*; do
		curl -s -f -o /dev/null -T "$f" "$EP/bench/curl$1/$(basename "$f")" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p"; done    # not s3rver, also a child
}
run_ours() {
	"$CLI" --cli --url "s3://bench/ours$1/" --endpoint "$EP" --parallel 8 \
	    put-files "" "$TMP"/files/* >/dev/null
}
run_boto3() {
	$PYTHON - "$EP" "$1" "$TMP"/files/* <<'PY'
import sys, boto3
from boto3.s3.transfer import TransferConfig
from concurrent.futures import ThreadPoolExecutor
ep, rnd, files = sys.argv[1], sys.argv[2], sys.argv[3:]
s3 = boto3.client("s3", endpoint_url=ep)
cfg = TransferConfig(max_concurrency=8)
def up(f):
    s3.upload_file(f, "bench", f"boto{rnd}/{f.rsplit('/', 1)[1]}", Config=cfg)
with ThreadPoolExecutor(8) as ex:
    list(ex.map(up, files))
PY
}

CURL=0; OURS=0; BOTO=0
HAVE_BOTO=0
$PYTHON -c 'import boto3' 2>/dev/null && HAVE_BOTO=1
r=1
while [ $r -le "$ROUNDS" ]; do
	t0=$(now); run_curl $r; t1=$(now); CURL=$(best "$CURL" "$(rate "$t0" "$t1")")
	t0=$(now); run_ours $r; t1=$(now); OURS=$(best "$OURS" "$(rate "$t0" "$t1")")
	if [ $HAVE_BOTO = 1 ]; then
		t0=$(now); run_boto3 $r; t1=$(now); BOTO=$(best "$BOTO" "$(rate "$t0" "$t1")")
	fi
	r=$((r + 1))
done

echo "bench_s3: $FILES files x $SIZE_MIB MiB, best of $ROUNDS, s3rver on loopback"
echo "  curl x8 parallel PUT      $CURL MiB/s"
echo "  ringmaster s3 (8 threads) $OURS MiB/s  ($(echo "scale=2; $OURS / $CURL" | bc)x curl)"
if [ $HAVE_BOTO = 1 ]; then
	echo "  boto3 transfer manager    $BOTO MiB/s  (ours $(echo "scale=2; $OURS / $BOTO" | bc)x boto3)"
else
	echo "  boto3                     not installed (apt-get install python3-boto3)"
fi
