#!/usr/bin/env bash
# Sidegate's benchmark: Sidegate beside direct, nginx, HAProxy and Spring Cloud Gateway, in one run, on loopback.
# Usage: loadtest/run.sh            (full run, about an hour; ROUNDS=2 SKIP_UNPINNED=1 took 40 minutes)
#        QUICK=1 loadtest/run.sh    (one round, short runs: checks the harness, numbers are rough)
# Writes loadtest/results/<UTC time>/ (raw results) and regenerates loadtest/RESULTS.md and loadtest/chart.svg.
# Everything it starts listens on 127.0.0.1 and is stopped on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=${QUICK:-0}
ROUNDS=${ROUNDS:-$([ "$QUICK" = 1 ] && echo 1 || echo 3)}
DURATION=${DURATION:-$([ "$QUICK" = 1 ] && echo 4 || echo 10)}          # seconds per wrk run
LAT_DURATION=${LAT_DURATION:-$([ "$QUICK" = 1 ] && echo 5 || echo 15)}  # seconds per open-loop run
WARMUP=${WARMUP:-$([ "$QUICK" = 1 ] && echo 20 || echo 60)}             # least seconds of load per JVM before measuring: C2 on one core is still compiling at 30 s
WARMUP_MAX=${WARMUP_MAX:-$([ "$QUICK" = 1 ] && echo 20 || echo 180)}     # then 10 s more at a time until the JIT is quiet, up to this
CONNS=${CONNS:-16}
RATE=${RATE:-1000}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/loadtest/results/$STAMP
WORK=$(mktemp -d /tmp/sidegate-loadtest.XXXXXX)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"
log() { echo "[$(date -u +%T)] $*" >&2; }

# ---------------------------------------------------------------------------------------------- prerequisites
need=()
for pkg in wrk:wrk nginx:nginx-light haproxy:haproxy redis-server:redis-server; do
  command -v "${pkg%%:*}" >/dev/null 2>&1 || need+=("${pkg#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi
JAVA_HOME=""
for candidate in $(ls -d /usr/lib/jvm/*/ | sort -V -r); do
  if "$candidate/bin/java" -version 2>&1 | grep -qE 'version "(2[5-9]|[3-9][0-9])'; then JAVA_HOME=${candidate%/}; break; fi
done
[ -n "$JAVA_HOME" ] || { echo "loadtest: needs a JDK 25+ under /usr/lib/jvm (AOT cache)" >&2; exit 1; }
export JAVA_HOME
JAVA=$JAVA_HOME/bin/java
CPUS=$(nproc)
[ "$CPUS" -ge 2 ] || { echo "loadtest: needs at least 2 CPUs for the pinned layout" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- processes
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx-up.pid" ] && kill "$(cat "$WORK/nginx-up.pid")" 2>/dev/null || true
  [ -f "$WORK/nginx-proxy.pid" ] && kill "$(cat "$WORK/nginx-proxy.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_200() { # url [seconds]
  local deadline=$(( $(date +%s) + ${2:-120} ))
  until curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null | grep -q 200; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "no 200 from $1"; return 1; }
    sleep 0.01
  done
}
cpu_ticks() { # utime+stime in clock ticks of a process and its children (nginx's workers)
  local p total=0
  for p in $1 $(pgrep -P "$1" 2>/dev/null || true); do
    total=$(( total + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
jit_ticks() { # CPU ticks of a JVM's C2 compiler threads: a JVM whose C2 still compiles is not warm
  local t total=0
  for t in /proc/$1/task/*; do
    grep -q '^C2 Compiler' "$t/comm" 2>/dev/null && total=$(( total + $(awk '{print $14+$15}' "$t/stat" 2>/dev/null || echo 0) ))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)
emit() { echo "$1" >> "$RESULTS"; }

# ---------------------------------------------------------------------------------------------- build
log "building Sidegate, the load-test tools, the Helidon reference servers and the Spring Cloud Gateway app (JDK $JAVA_HOME)"
mvn -B -q -DskipTests package >/dev/null
(cd loadtest/tools && mvn -B -q -DskipTests package >/dev/null)
(cd loadtest/minimal && mvn -B -q -DskipTests package >/dev/null)
(cd loadtest/scg && mvn -B -q -DskipTests package >/dev/null)
MINIMAL="$ROOT/loadtest/minimal/target/minimal.jar:$ROOT/loadtest/minimal/target/libs/*"
TOOLS="$ROOT/loadtest/tools/target/loadtest-tools.jar:$ROOT/loadtest/tools/target/libs/*"
"$JAVA" -cp "$TOOLS" dev.sidegate.loadtest.Mint "$WORK/keys"
RS256=$(cat "$WORK/keys/rs256.token")
ES256=$(cat "$WORK/keys/es256.token")
head -c 1024 /dev/zero | tr '\0' 'x' > "$WORK/body-1k"
printf '{"customer_id": "c1", "items": [{"product_id": "p1", "qty": 2}, {"product_id": "p2", "qty": 1}]}' > "$WORK/order.json"

# The JVM flags a sidecar runs with (the Dockerfile uses the same): a small fixed-size young generation and
# serial GC for a 1-CPU share, bounded heap, metaspace and code cache, compact object headers (JDK 25).
SIDEGATE_JVM_FLAGS=${SIDEGATE_JVM_FLAGS:-"-XX:+UseSerialGC -Xms24m -Xmx96m -XX:MaxMetaspaceSize=96m -XX:ReservedCodeCacheSize=48m -Xss512k -XX:+UseCompactObjectHeaders -XX:TrimNativeHeapInterval=5000"}

# ---------------------------------------------------------------------------------------------- fixed servers
UP_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx-up.conf" <<EOF
worker_processes 1;
pid $WORK/nginx-up.pid;
error_log $WORK/nginx/up-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UP_PORT;
    location / { return 200 "$(cat "$WORK/body-1k")"; }
  }
}
EOF
taskset -c 1 nginx -c "$WORK/nginx-up.conf"
REDIS_PORT=$(free_port)
taskset -c 1 redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no > "$WORK/redis.log" 2>&1 &
PIDS+=($!)
OTLP_PORT=$(free_port)
taskset -c 1 "$JAVA" -Xmx64m -cp "$TOOLS" dev.sidegate.loadtest.Servers otlp "$OTLP_PORT" > "$WORK/otlp.log" 2>&1 &
PIDS+=($!)
wait_200 "http://127.0.0.1:$UP_PORT/"
until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done

# ---------------------------------------------------------------------------------------------- candidates
# name -> "port pid"; started per layout by start_all, stopped by stop_all.
declare -A PORT PID
CONFIGS=$ROOT/loadtest/configs
# Sidegate variants: name|config file|extra env (space separated k=v)
SIDEGATE_VARIANTS=(
  "sidegate|plain.yaml|"
  "sidegate-full|full.yaml|SIDEGATE_JWT_PUBLIC_KEY=$WORK/keys/rsa.pem SIDEGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01"
  "sidegate-no-breaker|no-breaker.yaml|"
  "sidegate-ratelimit|ratelimit.yaml|SIDEGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  "sidegate-auth-rs256|auth.yaml|SIDEGATE_JWT_PUBLIC_KEY=$WORK/keys/rsa.pem"
  "sidegate-auth-es256|auth.yaml|SIDEGATE_JWT_PUBLIC_KEY=$WORK/keys/ec.pem"
  "sidegate-auth-rs256-nocache|auth-nocache.yaml|SIDEGATE_JWT_PUBLIC_KEY=$WORK/keys/rsa.pem"
  "sidegate-auth-es256-nocache|auth-nocache.yaml|SIDEGATE_JWT_PUBLIC_KEY=$WORK/keys/ec.pem"
  "sidegate-trace-1.0|plain.yaml|OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=1.0"
  "sidegate-trace-0.01|plain.yaml|OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_PORT OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.01"
  "sidegate-transform|transform.yaml|"
)

start_sidegate() { # name config env cpus [extra jvm flags]
  local name=$1 config=$2 env=$3 cpus=$4 extra=${5:-}
  local port admin
  port=$(free_port); admin=$(free_port)
  # shellcheck disable=SC2086
  env SIDEGATE_PORT="$port" SIDEGATE_ADMIN_PORT="$admin" SIDEGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" \
      SIDEGATE_CONFIG="$CONFIGS/$config" SIDEGATE_CONFIG_WATCH=false $env \
      taskset -c "$cpus" "$JAVA" $SIDEGATE_JVM_FLAGS $extra -jar "$ROOT/target/sidegate.jar" \
      > /dev/null 2> "$WORK/$name.err" &
  PID[$name]=$!; PORT[$name]=$port; PIDS+=($!)
}

start_all() { # cpus for the proxies
  local cpus=$1 name v config env scg
  PORT[direct]=$UP_PORT; PID[direct]=$(cat "$WORK/nginx-up.pid")
  for v in "${SIDEGATE_VARIANTS[@]}"; do
    IFS='|' read -r name config env <<< "$v"
    start_sidegate "$name" "$config" "$env" "$cpus"
  done
  # Reference rows with Sidegate's JVM flags: the Helidon WebServer alone answering 1 KiB itself (the ceiling of
  # any proxy on it), and the smallest WebServer + WebClient proxy (what Sidegate's upstream side used to be).
  PORT[helidon-webserver]=$(free_port)
  # shellcheck disable=SC2086
  taskset -c "$cpus" "$JAVA" $SIDEGATE_JVM_FLAGS -cp "$MINIMAL" dev.sidegate.loadtest.minimal.WebServerAlone \
    "${PORT[helidon-webserver]}" > "$WORK/helidon-webserver.log" 2>&1 &
  PID[helidon-webserver]=$!; PIDS+=($!)
  PORT[helidon-minimal]=$(free_port)
  # shellcheck disable=SC2086
  taskset -c "$cpus" "$JAVA" $SIDEGATE_JVM_FLAGS -cp "$MINIMAL" dev.sidegate.loadtest.minimal.MinimalProxy \
    "${PORT[helidon-minimal]}" "$UP_PORT" > "$WORK/helidon-minimal.log" 2>&1 &
  PID[helidon-minimal]=$!; PIDS+=($!)
  # nginx as a plain reverse proxy: one worker, keep-alive to the upstream.
  PORT[nginx]=$(free_port)
  cat > "$WORK/nginx-proxy.conf" <<EOF
worker_processes 1;
pid $WORK/nginx-proxy.pid;
error_log $WORK/nginx/proxy-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$UP_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
  taskset -c "$cpus" nginx -c "$WORK/nginx-proxy.conf"
  sleep 0.2; PID[nginx]=$(cat "$WORK/nginx-proxy.pid")
  # HAProxy as a plain reverse proxy: one thread, connection reuse to the upstream.
  PORT[haproxy]=$(free_port)
  cat > "$WORK/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind 127.0.0.1:${PORT[haproxy]}
  default_backend be
backend be
  server app 127.0.0.1:$UP_PORT
EOF
  taskset -c "$cpus" haproxy -f "$WORK/haproxy.cfg" > "$WORK/haproxy.log" 2>&1 &
  PID[haproxy]=$!; PIDS+=($!)
  # Spring Cloud Gateway: its defaults, plus the same heap bound as Sidegate so memory is comparable.
  for scg in scg scg-ratelimit; do
    PORT[$scg]=$(free_port)
    local profile=""; [ "$scg" = scg-ratelimit ] && profile="--spring.profiles.active=limited"
    SCG_PORT=${PORT[$scg]} REDIS_PORT=$REDIS_PORT UPSTREAM="http://127.0.0.1:$UP_PORT" \
      taskset -c "$cpus" "$JAVA" -Xmx96m -jar "$ROOT/loadtest/scg/target/scg.jar" $profile > "$WORK/$scg.log" 2>&1 &
    PID[$scg]=$!; PIDS+=($!)
  done
  for name in "${!PORT[@]}"; do
    wait_200 "http://127.0.0.1:${PORT[$name]}/public" 180 || { tail -5 "$WORK/$name.err" "$WORK/$name.log" 2>/dev/null >&2; exit 1; }
  done
}

# Only the candidate under test runs: the others are stopped (SIGSTOP) so that idle JVMs' background work does not
# take CPU 0 from it. They keep their warm JIT state and connections.
pids_of() { echo "$1"; pgrep -P "$1" 2>/dev/null || true; }
only() { # name (or "none")
  local keep="" name p sig; [ "$1" != none ] && keep=$(pid_of "$1")
  for name in "${!PID[@]}"; do
    [ "$name" = direct ] && continue
    sig=-STOP; [ "${PID[$name]}" = "$keep" ] && sig=-CONT
    for p in $(pids_of "${PID[$name]}"); do kill $sig "$p" 2>/dev/null || true; done
  done
}
thaw_all() {
  local name p
  for name in "${!PID[@]}"; do
    [ "$name" = direct ] && continue
    for p in $(pids_of "${PID[$name]}"); do kill -CONT "$p" 2>/dev/null || true; done
  done
}

stop_all() {
  local name deadline
  thaw_all
  for name in "${!PID[@]}"; do
    [ "$name" = direct ] && continue
    kill "${PID[$name]}" 2>/dev/null || true
  done
  for name in "${!PID[@]}"; do
    [ "$name" = direct ] && continue
    deadline=$(( $(date +%s) + 40 ))
    while kill -0 "${PID[$name]}" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
    kill -9 "${PID[$name]}" 2>/dev/null || true
  done
  PID=(); PORT=()
}

# What each candidate is sent: wrk arguments (headers, Lua script) and path.
wrk_args() { # name -> args
  case $1 in
    sidegate-full|sidegate-auth-rs256|sidegate-auth-rs256-nocache) echo "-H 'Authorization: Bearer $RS256' http://127.0.0.1:${PORT[$1]}/bench" ;;
    sidegate-auth-es256|sidegate-auth-es256-nocache) echo "-H 'Authorization: Bearer $ES256' http://127.0.0.1:${PORT[$1]}/bench" ;;
    transform-v1) echo "-s $ROOT/loadtest/post-order.lua http://127.0.0.1:${PORT[sidegate-transform]}/api/v1/orders" ;;
    transform-plain) echo "-s $ROOT/loadtest/post-order.lua http://127.0.0.1:${PORT[sidegate-transform]}/plain" ;;
    *) echo "http://127.0.0.1:${PORT[$1]}/bench" ;;
  esac
}
pid_of() { case $1 in transform-*) echo "${PID[sidegate-transform]}" ;; *) echo "${PID[$1]}" ;; esac; }

run_wrk() { # layout round name
  local layout=$1 round=$2 name=$3 pid out rps before after rss
  pid=$(pid_of "$name")
  only "$name"
  before=$(cpu_ticks "$pid")
  out=$(cd "$WORK" && eval taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$(wrk_args "$name")" 2>&1)
  after=$(cpu_ticks "$pid")
  rss=$(rss_kb "$pid")
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/{print $5}'); non2xx=${non2xx:-0}
  local requests; requests=$(echo "$out" | awk '/requests in/{print $1}')
  emit "{\"kind\":\"throughput\",\"layout\":\"$layout\",\"round\":$round,\"candidate\":\"$name\",\"rps\":${rps:-0},\"requests\":${requests:-0},\"non2xx\":$non2xx,\"cpu_s\":$(echo "($after-$before)/$HZ" | bc -l),\"rss_kb\":${rss:-0}}"
  log "$layout round $round $name: ${rps:-?} req/s (non-2xx $non2xx)"
}

run_openloop() { # round name [extra OpenLoop args...] -> emits latency record
  local round=$1 name=$2; shift 2
  local pid before after rss path=/bench header=()
  pid=$(pid_of "$name")
  only "$name"
  case $name in
    sidegate-full) header=("header=Authorization:Bearer $RS256") ;;
  esac
  before=$(cpu_ticks "$pid")
  taskset -c 1 "$JAVA" -Xmx256m -cp "$TOOLS" dev.sidegate.loadtest.OpenLoop url="http://127.0.0.1:${PORT[$name]}$path" \
    rate="$RATE" connections="$CONNS" duration="$LAT_DURATION" warmup=3 "${header[@]}" "$@" out="$WORK/ol.json" > /dev/null
  after=$(cpu_ticks "$pid")
  rss=$(rss_kb "$pid")
  emit "$(python3 -c "import json,sys; d=json.load(open('$WORK/ol.json')); d.update(kind='latency', round=$round, candidate='$name', cpu_s=($after-$before)/$HZ, rss_kb=${rss:-0}); print(json.dumps(d))")"
  log "latency round $round $name: $(python3 -c "import json; d=json.load(open('$WORK/ol.json')); print('p50', d['p50_us'], 'p99', d['p99_us'], 'us', d['statuses'])")"
}

MAIN=(direct sidegate sidegate-full helidon-webserver helidon-minimal nginx haproxy scg scg-ratelimit)
FEATURES=(sidegate-ratelimit sidegate-no-breaker sidegate-auth-rs256 sidegate-auth-es256 sidegate-auth-rs256-nocache
          sidegate-auth-es256-nocache sidegate-trace-1.0 sidegate-trace-0.01 transform-v1 transform-plain)

emit "{\"kind\":\"machine\",\"cpus\":$CPUS,\"cpu_model\":\"$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)\",\"jdk\":\"$("$JAVA" -version 2>&1 | head -1 | tr -d '"')\",\"sidegate_jvm_flags\":\"$SIDEGATE_JVM_FLAGS\",\"nginx\":\"$(nginx -v 2>&1 | cut -d/ -f2)\",\"haproxy\":\"$(haproxy -v | head -1 | awk '{print $3}')\",\"wrk_connections\":$CONNS,\"duration_s\":$DURATION,\"rounds\":$ROUNDS,\"rate\":$RATE,\"gc\":\"$("$JAVA" $SIDEGATE_JVM_FLAGS -XX:+PrintFlagsFinal -version 2>/dev/null | awk '/ Use(Serial|G1|Parallel|Z|Shenandoah)GC .*= true/{print $2}')\"}"

# ---------------------------------------------------------------------------------------------- start-up and memory
# Time from exec to the first proxied 200, and idle RSS, with and without a JDK 25 AOT cache (trained by a short run).
AOT=$WORK/sidegate.aot
log "training the AOT cache"
port=$(free_port); admin=$(free_port)
SIDEGATE_PORT=$port SIDEGATE_ADMIN_PORT=$admin SIDEGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" SIDEGATE_CONFIG="$CONFIGS/plain.yaml" \
  "$JAVA" $SIDEGATE_JVM_FLAGS -XX:AOTCacheOutput="$AOT" -jar target/sidegate.jar > /dev/null 2> "$WORK/aot-train.err" &
train=$!
wait_200 "http://127.0.0.1:$port/bench"
wrk -t1 -c4 -d3s "http://127.0.0.1:$port/bench" > /dev/null
curl -s "http://127.0.0.1:$admin/observe/health/ready" > /dev/null; curl -s "http://127.0.0.1:$admin/observe/metrics" > /dev/null
kill "$train"; wait "$train" || true
for mode in plain aot; do
  extra=""; [ "$mode" = aot ] && extra="-XX:AOTCache=$AOT"
  for i in 1 2 3 $([ "$QUICK" = 1 ] || echo 4 5); do
    port=$(free_port); admin=$(free_port)
    t0=$(date +%s%N)
    SIDEGATE_PORT=$port SIDEGATE_ADMIN_PORT=$admin SIDEGATE_UPSTREAM="http://127.0.0.1:$UP_PORT" SIDEGATE_CONFIG="$CONFIGS/plain.yaml" \
      taskset -c 0 "$JAVA" $SIDEGATE_JVM_FLAGS $extra -jar target/sidegate.jar > /dev/null 2> "$WORK/startup.err" &
    pid=$!
    wait_200 "http://127.0.0.1:$port/bench" 60
    t1=$(date +%s%N)
    sleep 3
    emit "{\"kind\":\"startup\",\"mode\":\"$mode\",\"run\":$i,\"first_200_ms\":$(( (t1 - t0) / 1000000 )),\"rss_idle_kb\":$(rss_kb $pid)}"
    log "startup $mode run $i: $(( (t1 - t0) / 1000000 )) ms to the first proxied 200, idle RSS $(rss_kb $pid) kB"
    kill "$pid"; wait "$pid" || true
  done
done

# ---------------------------------------------------------------------------------------------- pinned layout
# Every proxy on CPU 0; the upstream, Redis, the OTLP sink and the load generator on CPU 1.
log "starting candidates (pinned: proxies on CPU 0)"
start_all 0
for name in "${!PID[@]}"; do
  [ "$name" = direct ] && continue
  emit "{\"kind\":\"idle\",\"candidate\":\"$name\",\"rss_kb\":$(rss_kb "${PID[$name]}")}"
done
# Every JVM gets at least WARMUP seconds of load, then 10 s more at a time until its C2 compiler threads used under 2% of
# the last 10 s (at most WARMUP_MAX in all): measured by hand, Sidegate's C2 still took 37% of the core 30-40 s into the
# load and 24% at 60-70 s, which inflates the CPU per request of whichever run it lands in.
log "warm-up: ${WARMUP}-${WARMUP_MAX}s of load per JVM candidate (until C2 is quiet), 3s for the others"
for name in "${MAIN[@]}" "${FEATURES[@]}"; do
  only "$name"
  case $name in
    direct|nginx|haproxy) (cd "$WORK" && eval taskset -c 1 wrk -t1 -c"$CONNS" -d3s "$(wrk_args "$name")" > /dev/null 2>&1) ;;
    *)
      pid=$(pid_of "$name")
      (cd "$WORK" && eval taskset -c 1 wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$(wrk_args "$name")" > /dev/null 2>&1)
      warmed=$WARMUP
      while :; do
        before=$(jit_ticks "$pid")
        (cd "$WORK" && eval taskset -c 1 wrk -t1 -c"$CONNS" -d10s "$(wrk_args "$name")" > /dev/null 2>&1)
        warmed=$(( warmed + 10 ))
        jit=$(( $(jit_ticks "$pid") - before ))
        # under 2% of 10 s: fewer than 0.2 s of compiler time
        if [ $(( jit * 1000 / HZ )) -lt 200 ] || [ "$warmed" -ge "$WARMUP_MAX" ]; then break; fi
      done
      emit "{\"kind\":\"warmup\",\"candidate\":\"$name\",\"seconds\":$warmed,\"c2_ms_last_10s\":$(( jit * 1000 / HZ ))}"
      log "warm-up $name: ${warmed}s (C2 ${jit} ticks in the last 10 s)"
      ;;
  esac
done

for round in $(seq 1 "$ROUNDS"); do
  for name in "${MAIN[@]}" "${FEATURES[@]}"; do run_wrk pinned "$round" "$name"; done
done

# Latency at a fixed rate, interleaved round by round.
for round in $(seq 1 "$ROUNDS"); do
  for name in direct sidegate sidegate-full sidegate-ratelimit sidegate-no-breaker helidon-minimal nginx haproxy scg; do
    run_openloop "$round" "$name"
  done
done

# Redis commands per proxied request: the full pipeline (allowed), and an abusive client over a tiny limit.
# commandstats counts the commands a script runs too; EVALSHA/EVAL calls are the round trips Sidegate makes.
redis_stats() { redis-cli -p "$REDIS_PORT" info commandstats | python3 -c 'import sys,json; print(json.dumps({l.split(":")[0][8:]: int(l.split("calls=")[1].split(",")[0]) for l in sys.stdin if l.startswith("cmdstat_")}))'; }
redis-cli -p "$REDIS_PORT" config resetstat > /dev/null
run_openloop 0 sidegate-full
emit "{\"kind\":\"redis\",\"scenario\":\"allowed\",\"calls\":$(redis_stats),\"requests\":$(python3 -c "import json; d=json.load(open('$WORK/ol.json')); print(d['completed_with_warmup'])")}"
stop_all

start_sidegate sidegate-abusive ratelimit-tiny.yaml "SIDEGATE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT" 0
PORT[direct]=$UP_PORT
wait_200 "http://127.0.0.1:${PORT[sidegate-abusive]}/public" 120
redis-cli -p "$REDIS_PORT" config resetstat > /dev/null
taskset -c 1 "$JAVA" -cp "$TOOLS" dev.sidegate.loadtest.OpenLoop url="http://127.0.0.1:${PORT[sidegate-abusive]}/limited" \
  rate="$RATE" connections="$CONNS" duration="$LAT_DURATION" warmup=0 out="$WORK/abusive.json" > /dev/null
emit "{\"kind\":\"redis\",\"scenario\":\"abusive\",\"calls\":$(redis_stats),\"requests\":$(python3 -c "import json; print(json.load(open('$WORK/abusive.json'))['completed_with_warmup'])"),\"statuses\":$(python3 -c "import json; print(json.dumps(json.load(open('$WORK/abusive.json'))['statuses']))")}"
stop_all

# ---------------------------------------------------------------------------------------------- shedding a dead upstream
# An upstream that hangs 3 s into the load; 200 req/s through Sidegate (route timeout 1s) with the
# breaker on and off: how many requests waited on the dead upstream, and when fast 503s took over.
for variant in breaker no-breaker; do
  DYING_PORT=$(free_port)
  taskset -c 1 "$JAVA" -cp "$TOOLS" dev.sidegate.loadtest.Servers dying "$DYING_PORT" 3 > "$WORK/dying.log" 2>&1 &
  dying=$!; PIDS+=($dying)
  until curl -s -o /dev/null "http://127.0.0.1:$DYING_PORT/"; do sleep 0.05; done
  port=$(free_port); admin=$(free_port)
  SIDEGATE_PORT=$port SIDEGATE_ADMIN_PORT=$admin SIDEGATE_UPSTREAM="http://127.0.0.1:$DYING_PORT" SIDEGATE_CONFIG="$CONFIGS/shed-$variant.yaml" \
    taskset -c 0 "$JAVA" $SIDEGATE_JVM_FLAGS -jar target/sidegate.jar > /dev/null 2> "$WORK/shed.err" &
  pid=$!; PIDS+=($pid)
  wait_200 "http://127.0.0.1:$port/x" 60
  curl -s -o /dev/null "http://127.0.0.1:$DYING_PORT/arm"   # the upstream hangs 3 s from now
  taskset -c 1 "$JAVA" -cp "$TOOLS" dev.sidegate.loadtest.OpenLoop url="http://127.0.0.1:$port/x" rate=200 connections=64 \
    duration=12 warmup=0 timeout_ms=5000 timeline=true out="$WORK/shed.json" > /dev/null
  emit "$(python3 -c "import json; d=json.load(open('$WORK/shed.json')); d.update(kind='shed', variant='$variant'); print(json.dumps(d))")"
  log "shed $variant: $(python3 -c "import json; d=json.load(open('$WORK/shed.json')); print(d['statuses'])")"
  kill "$pid" "$dying"; wait "$pid" 2>/dev/null || true; kill -9 "$dying" 2>/dev/null || true
done

# ---------------------------------------------------------------------------------------------- unpinned layout
if [ "${SKIP_UNPINNED:-0}" != 1 ]; then
  log "starting candidates (unpinned)"
  # Unpinned: every process may use every CPU (wrk too).
  start_all "0-$((CPUS - 1))"
  for name in direct sidegate sidegate-full nginx haproxy scg; do
    only "$name"
    (cd "$WORK" && eval wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$(wrk_args "$name")" > /dev/null 2>&1)
  done
  for round in $(seq 1 "$ROUNDS"); do
    for name in direct sidegate sidegate-full nginx haproxy scg; do
      pid=$(pid_of "$name"); only "$name"
      out=$(cd "$WORK" && eval wrk -t2 -c"$CONNS" -d"${DURATION}s" "$(wrk_args "$name")" 2>&1)
      rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
      emit "{\"kind\":\"throughput\",\"layout\":\"unpinned\",\"round\":$round,\"candidate\":\"$name\",\"rps\":${rps:-0},\"rss_kb\":$(rss_kb "$pid")}"
      log "unpinned round $round $name: ${rps:-?} req/s"
    done
  done
  stop_all
fi

log "writing the report"
python3 loadtest/report.py "$RESULTS" loadtest/RESULTS.md loadtest/chart.svg
log "done: $OUT, loadtest/RESULTS.md, loadtest/chart.svg"
