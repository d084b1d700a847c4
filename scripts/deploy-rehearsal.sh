#!/usr/bin/env bash
# The production recipe of docs/deploy.md, rehearsed on one machine without systemd or containers:
# a fresh PostgreSQL database, migrations, one ROLE=bot and two ROLE=worker processes started with node
# directly (as the units in deploy/ do), a request through the HTTP API, the worker running it killed
# with SIGKILL and started again, and a clean SIGTERM stop. Prints what happened with timings.
# Usage: scripts/deploy-rehearsal.sh [postgres-admin-url]   (default postgresql://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
shopt -s extglob
cd "$(dirname "$0")/.."
admin=${1:-postgresql://postgres@127.0.0.1:5432/postgres}
db=ddpm_rehearsal_$$
export DATABASE_URL=${admin%/*}/$db MIGRATE_ON_START=false DDPM_THREADS=1 LOG_FORMAT=json PRISMA_QUERY_ENGINE_LIBRARY=$PWD/package.json
port=${PORT:-3310}
logs=$(mktemp -d)
pids=()
t0=$(date +%s.%N)
at() { printf '%6.1f s  %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" >/dev/null
}
trap cleanup EXIT

psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
at "database $db created"
node node_modules/prisma/build/index.js migrate deploy >"$logs/migrate.log" 2>&1
at "migrations applied ($(grep -c '^  └─\|migrations/' "$logs/migrate.log" || true) lines of prisma output in $logs/migrate.log)"

start() { # name, env...
  local name=$1; shift
  env "$@" node bin/ddpm-bot.js serve >"$logs/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
}
wait_healthy() { # url
  for _ in $(seq 600); do curl -sf "$1" >/dev/null && return 0; sleep 0.2; done
  echo "not healthy: $1" >&2; return 1
}
start bot ROLE=bot PORT=$port
start worker1 ROLE=worker METRICS_PORT=$((port + 1))
start worker2 ROLE=worker METRICS_PORT=$((port + 2))
wait_healthy "http://127.0.0.1:$port/healthz" && at "bot healthy on :$port"
wait_healthy "http://127.0.0.1:$((port + 1))/healthz" && at "worker1 healthy (metrics :$((port + 1)))"
wait_healthy "http://127.0.0.1:$((port + 2))/healthz" && at "worker2 healthy (metrics :$((port + 2)))"

status() { curl -s "http://127.0.0.1:$port/api/requests/$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(`${r.status} attempts=${r.attempts} step=${r.progress?.step ?? "-"}`)})'; }
submit() { curl -s "http://127.0.0.1:$port/api/generate" -H 'content-type: application/json' -d "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))'; }

wait_for() { # id, status pattern, seconds: fails with the request's state when it does not get there in time
  local deadline=$(( $(date +%s) + $3 ))
  until [[ $(status "$1") == $2 ]]; do
    if (( $(date +%s) > deadline )); then at "gave up after $3 s: $1 is $(status "$1"); see $logs"; exit 1; fi
    sleep 0.3
  done
}

quick=$(submit '{"model":"mnist","label":"7","sampler":"ddim","steps":50,"seed":42}')
at "submitted $quick (mnist, label 7, DDIM-50)"
wait_for "$quick" 'succeeded*' 120
at "$quick: $(status "$quick")"

long=$(submit '{"model":"mnist","sampler":"ddpm","steps":1000,"seed":7}')
at "submitted $long (mnist, DDPM-1000)"
wait_for "$long" 'running* step=[0-9]*' 120
# The attempt's worker id is host:pid:…; that pid is the worker to kill.
owner=$(psql -Atq "$DATABASE_URL" -c "SELECT split_part(worker_id, ':', 2) FROM request_attempts WHERE request_id = '$long' ORDER BY attempt DESC LIMIT 1")
if [[ $owner == "$pid_worker2" ]]; then victim=worker2 victim_port=$((port + 2)); else victim=worker1 victim_port=$((port + 1)); fi
at "$long: $(status "$long") on $victim (pid $owner); kill -9 $victim"
eval "kill -9 \$pid_$victim"
start "${victim}again" ROLE=worker METRICS_PORT=$victim_port
at "$victim started again"
wait_for "$long" '@(succeeded|failed)*' 600
at "$long: $(status "$long")"
curl -s "http://127.0.0.1:$port/api/requests/$long/images/0.png" -o "$logs/ddpm-1000.png"
at "image: $(file -b "$logs/ddpm-1000.png" | cut -d, -f1-2)"
psql -q "$DATABASE_URL" -c "SELECT attempt, split_part(worker_id, ':', 2) AS pid, outcome, started_at, finished_at FROM request_attempts WHERE request_id = '$long' ORDER BY attempt"

for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null && true; done
at "SIGTERM: every process exited; logs in $logs"
pids=()
