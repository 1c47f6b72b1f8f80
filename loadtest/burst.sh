#!/usr/bin/env bash
# Memory under bursts, per heap cap: does Sidegate shed a burst of large bodies (and a flood of connections) with
# 503s instead of running out of heap, and how large does its RSS get?
# Usage: HEAPS="96m 48m 32m" loadtest/burst.sh      (about 80 s per heap cap; SECS=20 per phase)
# For each cap: Sidegate (the harness's JVM flags with that -Xmx) on CPU 0 with configs/burst.yaml, nginx upstream
# on CPU 1, then on CPU 1 with wrk: 20 s of 1 MiB JSON POSTs over 256 connections to a body-transform route, 20 s
# of the same to a streaming route, 20 s of small GETs over 1,000 connections. Checks that Sidegate never logs an
# OutOfMemoryError, still answers afterwards, and reports the statuses, the peak RSS and the GC counts.
# Writes loadtest/results/burst-<UTC time>.jsonl. Loopback only; stops what it starts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
HEAPS=${HEAPS:-"96m 48m 32m"}
SECS=${SECS:-20}
OUT=$ROOT/loadtest/results/burst-$(date -u +%Y%m%dT%H%M%SZ).jsonl
WORK=$(mktemp -d /tmp/sidegate-burst.XXXXXX)
log() { echo "[$(date -u +%T)] $*" >&2; }
for tool in wrk nginx python3; do command -v $tool >/dev/null || { echo "burst.sh: needs $tool" >&2; exit 1; }; done
JAVA_HOME=""
for candidate in $(ls -d /usr/lib/jvm/*/ | sort -V -r); do
  if "$candidate/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then JAVA_HOME=${candidate%/}; break; fi
done
[ -n "$JAVA_HOME" ] || { echo "burst.sh: needs a JDK 25+ under /usr/lib/jvm" >&2; exit 1; }
export JAVA_HOME
SG=""
cleanup() {
  [ -n "$SG" ] && kill "$SG" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

[ -f target/sidegate.jar ] || mvn -B -q -DskipTests package >/dev/null
python3 - "$WORK/body.json" <<'PY'
import json, sys
items, size = [], 0
while size < 1048576 - 100:
    item = {"product_id": "p%06d" % len(items), "qty": len(items) % 7, "note": "x" * 40}
    items.append(item); size += len(json.dumps(item)) + 2
open(sys.argv[1], "w").write(json.dumps({"customer_id": "c1", "items": items}))
PY
UP=$(free_port)
cat > "$WORK/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK;
  client_max_body_size 0;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; location / { return 200 "ok"; } }
}
NGINX
taskset -c 1 nginx -c "$WORK/nginx.conf"
ulimit -n 65536 2>/dev/null || true

for heap in $HEAPS; do
  PORT=$(free_port); ADMIN=$(free_port)
  FLAGS="-XX:+UseSerialGC -Xms24m -Xmx$heap -XX:MaxMetaspaceSize=96m -XX:ReservedCodeCacheSize=48m -Xss512k -XX:+UseCompactObjectHeaders -XX:TrimNativeHeapInterval=5000"
  SIDEGATE_PORT=$PORT SIDEGATE_ADMIN_PORT=$ADMIN SIDEGATE_UPSTREAM=http://127.0.0.1:$UP SIDEGATE_CONFIG=$ROOT/loadtest/configs/burst.yaml \
    SIDEGATE_CONFIG_WATCH=false taskset -c 0 "$JAVA_HOME/bin/java" $FLAGS -Xlog:gc:file="$WORK/gc-$heap.log" \
    -jar target/sidegate.jar > /dev/null 2> "$WORK/sg-$heap.err" &
  SG=$!
  until curl -s -o /dev/null "http://127.0.0.1:$ADMIN/observe/health/ready"; do sleep 0.05; done
  budget=$(curl -s "http://127.0.0.1:$ADMIN/admin/config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["server"]["max_buffered_body_bytes"])')
  peak=0
  ( while kill -0 $SG 2>/dev/null; do awk '/VmRSS/{print $2}' /proc/$SG/status; sleep 0.25; done ) > "$WORK/rss-$heap" 2>/dev/null &
  sampler=$!
  phase() { # name connections path script
    local result
    result=$(BODY_FILE="$WORK/body.json" taskset -c 1 wrk -t1 -c"$2" -d"${SECS}s" --timeout 10s ${4:+-s "$4"} "http://127.0.0.1:$PORT$3" 2>&1 || true)
    echo "$result" > "$WORK/wrk-$heap-$1"
    python3 - "$heap" "$1" "$budget" <<PY >> "$OUT"
import json, re, sys
text = open("$WORK/wrk-$heap-$1").read()
statuses = {m[0]: int(m[1]) for m in re.findall(r"status (\d+) (\d+)", text)}
total = re.search(r"(\d+) requests in", text)
errors = (re.search(r"errors connect (\d+) read (\d+) write (\d+) timeout (\d+)", text)
          or re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"kind": "burst", "heap": sys.argv[1], "phase": sys.argv[2], "budget_bytes": int(sys.argv[3]),
                  "requests": int(total.group(1)) if total else 0, "statuses": statuses,
                  "non2xx": int(non2xx.group(1)) if non2xx else 0,
                  "socket_errors": dict(zip(["connect", "read", "write", "timeout"], map(int, errors.groups()))) if errors else {}}))
PY
    log "heap $heap, $1: $(tail -1 "$OUT")"
  }
  phase transform 256 /transform "$ROOT/loadtest/burst.lua"
  phase stream 256 /stream "$ROOT/loadtest/burst.lua"
  phase connections 1000 /stream/small ""
  after=$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/stream/after" || true)
  after=$((10#${after:-0})) # 0: no answer
  kill $sampler 2>/dev/null || true
  peak=$(sort -n "$WORK/rss-$heap" | tail -1)
  oome=$(grep -c OutOfMemoryError "$WORK/sg-$heap.err" || true)
  young=$(grep -c 'Pause Young' "$WORK/gc-$heap.log" || true)
  full=$(grep -c 'Pause Full' "$WORK/gc-$heap.log" || true)
  echo "{\"kind\":\"burst-summary\",\"heap\":\"$heap\",\"budget_bytes\":$budget,\"peak_rss_kb\":${peak:-0},\"out_of_memory_errors\":$oome,\"young_gcs\":$young,\"full_gcs\":$full,\"answers_after\":$after}" >> "$OUT"
  log "heap $heap: $(tail -1 "$OUT")"
  kill $SG # a JVM out of heap may never finish draining: it gets 40 s
  for i in $(seq 1 400); do kill -0 $SG 2>/dev/null || break; sleep 0.1; done
  kill -9 $SG 2>/dev/null || true; wait $SG 2>/dev/null || true; SG=""
done
log "results: $OUT"
