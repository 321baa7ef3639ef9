#!/usr/bin/env bash
# The taskapi load benchmark: builds the release binary, then per backend starts
# `taskapi serve` on a fresh database, seeds it with SQL (not over HTTP), drives load with
# wrk and reports throughput, p50/p99 latency, errors and resident memory, with the performance
# ratios computed within the same run. See bench/README.md.
#
#   bash bench/run.sh
#
# Options come from the environment (defaults in brackets):
#   BACKENDS                 backends to run, in order ["sqlite postgres"]
#   PG_URL                   a PostgreSQL server where databases may be created; the
#                            server connects with the same parameters (no TLS by default:
#                            the database is on the same machine, see bench/README.md)
#                            [postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable]
#   BENCH_DURATION           length of each measurement [10s]
#   BENCH_LOGIN_DURATION     length of each login measurement (and of the login storm):
#                            logins are slow, so they need longer for a steady figure [20s]
#   BENCH_WARMUP             unrecorded run before each non-login measurement; 0 for none [2s]
#   BENCH_TASKS              tasks stored in total during the main measurements [1000000]
#   BENCH_USERS              seeded users sharing the bulk of those tasks [10000]
#   BENCH_USER_TASKS         tasks of the benchmark's own user, also the "small" database [1000]
#   BENCH_DEEP_TASKS         tasks of the "deep" user whose pages are walked [100000]
#   BENCH_DEEP_PAGE          which page (of 100 tasks) of the deep user is compared [1000]
#   BENCH_CHANGES            change-log rows of other accounts seeded before the main
#                            measurements (GET /changes is compared at 1 000 and at this)
#                            [1000000]
#   BENCH_CONNECTIONS        connections of the ordinary measurements [32]
#   BENCH_HIGH_CONNECTIONS   connections of the concurrency measurement [256]
#   BENCH_LOGIN_CONNECTIONS  connections of the login measurements [4 × cores]
#   BENCH_THREADS            wrk threads [2]
#   BENCH_TIMEOUT            wrk's per-request timeout (counted as an error) [10s]
#   BENCH_BCRYPT_COST        auth.bcrypt_cost of the server [12, the production default]
#   BENCH_ACCESS_LOG         1 to keep the server's per-request access log (written to the
#                            work folder: gigabytes at full scale) [0]
#   BENCH_BUILD              0 to skip `cargo build --release --locked` [1]
#   BENCH_WORKDIR            where databases and logs go [a new folder under $TMPDIR]
#   BENCH_KEEP               1 to keep the work folder afterwards [0]
#   BENCH_RESULTS            where the Markdown reports are written [bench/results]
#   BENCH_ATTACKS            attacks during which another user's reads are measured, on a
#                            server restarted with throttling on; "" for none
#                            ["search slow flood flood_spread ping_flood"]
#   BENCH_SEARCH_TASKS       tasks of the search attacker [500] ...
#   BENCH_SEARCH_LENGTH      ... each with a description of this many 'a' [10000]
#   BENCH_SEARCH_CONNECTIONS concurrent crafted searches [8]
#   BENCH_SLOW_CONNECTIONS   slow connections held open [1000]
#   BENCH_FLOOD_CONNECTIONS  connections of the wrong-password floods [64]
#   BENCH_SYNC_COST          1 to time single-row SQLite commits with synchronous=NORMAL and
#                            FULL on the work folder's disk (SQLite only) [1]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
CORES=$(nproc)

BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
BENCH_DURATION=${BENCH_DURATION:-10s}
BENCH_LOGIN_DURATION=${BENCH_LOGIN_DURATION:-20s}
BENCH_WARMUP=${BENCH_WARMUP:-2s}
BENCH_TASKS=${BENCH_TASKS:-1000000}
BENCH_USERS=${BENCH_USERS:-10000}
BENCH_USER_TASKS=${BENCH_USER_TASKS:-1000}
BENCH_DEEP_TASKS=${BENCH_DEEP_TASKS:-100000}
BENCH_CHANGES=${BENCH_CHANGES:-1000000}
BENCH_DEEP_PAGE=${BENCH_DEEP_PAGE:-1000}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_HIGH_CONNECTIONS=${BENCH_HIGH_CONNECTIONS:-256}
BENCH_LOGIN_CONNECTIONS=${BENCH_LOGIN_CONNECTIONS:-$((4 * CORES))}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-10s}
BENCH_BCRYPT_COST=${BENCH_BCRYPT_COST:-12}
BENCH_ACCESS_LOG=${BENCH_ACCESS_LOG:-0}
BENCH_BUILD=${BENCH_BUILD:-1}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_RESULTS=${BENCH_RESULTS:-$BENCH_DIR/results}
BENCH_ATTACKS=${BENCH_ATTACKS-search slow flood flood_spread ping_flood}
BENCH_SEARCH_TASKS=${BENCH_SEARCH_TASKS:-500}
BENCH_SEARCH_LENGTH=${BENCH_SEARCH_LENGTH:-10000}
BENCH_SEARCH_CONNECTIONS=${BENCH_SEARCH_CONNECTIONS:-8}
BENCH_SLOW_CONNECTIONS=${BENCH_SLOW_CONNECTIONS:-1000}
BENCH_FLOOD_CONNECTIONS=${BENCH_FLOOD_CONNECTIONS:-64}
BENCH_SYNC_COST=${BENCH_SYNC_COST:-1}

PAGE_SIZE=100
BENCH_EMAIL=bench@bench.invalid
MEMBER_EMAIL=member@bench.invalid
DEEP_EMAIL=deep@bench.invalid
ATTACK_EMAIL=attacker@bench.invalid
ATTACK_RAMP=2
PASSWORD=bench-password-123
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)

# State the cleanup needs.
SERVER_PID=""
SAMPLER_PID=""
ATTACKER_PID=""
WRK_PIDS=()
SERVER_ENV=()
PG_DB=""
WORK=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
helper() { python3 "$BENCH_DIR/bench.py" "$@"; }

cleanup() {
    local status=$?
    set +e
    trap - EXIT INT TERM
    if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null; fi
    if [[ -n $ATTACKER_PID ]]; then kill "$ATTACKER_PID" 2>/dev/null; fi
    for pid in "${WRK_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    stop_server
    drop_pg_database
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ $BENCH_KEEP == 1 || $status -ne 0 ]]; then
            log "work folder kept: $WORK"
        else
            rm -rf "$WORK"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- prerequisites ------------------------------------------------------------------------

apt_install() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
    command -v apt-get >/dev/null || die "$1 is missing and there is no apt-get: install it"
    log "installing $*"
    "${sudo[@]}" apt-get install -y "$@" >/dev/null 2>&1 \
        || { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y "$@" >/dev/null; } \
        || die "could not install $*"
}

command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v python3 >/dev/null || die "python3 is required (seeding and reports)"
if [[ " $BACKENDS " == *" postgres "* ]] && ! command -v psql >/dev/null; then
    apt_install postgresql-client
fi
for backend in $BACKENDS; do
    [[ $backend == sqlite || $backend == postgres ]] || die "unknown backend '$backend'"
done
for attack in $BENCH_ATTACKS; do
    case $attack in
        search | slow | flood | flood_spread | ping_flood) ;;
        *) die "unknown attack '$attack' in BENCH_ATTACKS (search, slow, flood, flood_spread, ping_flood)" ;;
    esac
done

# 256 connections (or the slow ones) for wrk and as many for the server, plus the database's.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
MOST_CONNECTIONS=$((BENCH_HIGH_CONNECTIONS > BENCH_SLOW_CONNECTIONS ? BENCH_HIGH_CONNECTIONS : BENCH_SLOW_CONNECTIONS))
(( $(ulimit -n) >= MOST_CONNECTIONS + BENCH_CONNECTIONS + 256 )) \
    || die "ulimit -n is $(ulimit -n), too low for $MOST_CONNECTIONS connections"

if [[ $BENCH_BUILD == 1 ]]; then
    log "building: cargo build --release --locked"
    (cd "$ROOT" && cargo build --release --locked)
fi
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/taskapi
[[ -x $BIN ]] || die "no binary at $BIN"

if [[ -n ${BENCH_WORKDIR:-} ]]; then
    mkdir -p "$BENCH_WORKDIR"
    WORK=$(mktemp -d "$BENCH_WORKDIR/taskapi-bench.XXXXXX")
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/taskapi-bench.XXXXXX")
fi
mkdir -p "$BENCH_RESULTS"
JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
if [[ $BENCH_ACCESS_LOG == 1 ]]; then RUST_LOG_VALUE=info; else RUST_LOG_VALUE=info,taskapi::access=off; fi

# --- the server -----------------------------------------------------------------------------

# start_server DB_URL LOG: starts `taskapi serve` on a free port and waits until it is ready.
start_server() {
    local url=$1 logfile=$2
    PORT=$(helper free-port)
    BASE=http://127.0.0.1:$PORT
    (cd "$WORK" && exec env TASKAPI_ENV=production \
        TASKAPI__SERVER__HOST=127.0.0.1 \
        TASKAPI__SERVER__PORT="$PORT" \
        TASKAPI__DATABASE__URL="$url" \
        TASKAPI__AUTH__JWT_SECRET="$JWT_SECRET" \
        TASKAPI__AUTH__BCRYPT_COST="$BENCH_BCRYPT_COST" \
        TASKAPI__AUTH__ACCESS_TTL=3h \
        TASKAPI__THROTTLE__ENABLED=false \
        TASKAPI__QUOTA__WRITES_PER_MINUTE=0 \
        TASKAPI__QUOTA__TASKS_PER_USER=0 \
        TASKAPI__AUTH__MAX_SESSIONS=0 \
        RUST_LOG="$RUST_LOG_VALUE" \
        "${SERVER_ENV[@]}" \
        "$BIN" serve >>"$logfile" 2>&1) &
    SERVER_PID=$!
    local deadline=$((SECONDS + 120))
    until curl -fsS -m 2 -o /dev/null "$BASE/health/ready" 2>/dev/null; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 20 "$logfile" >&2
            SERVER_PID=""
            die "the server exited during start-up (log above)"
        fi
        (( SECONDS < deadline )) || { tail -n 20 "$logfile" >&2; die "the server was not ready within 120 s"; }
        sleep 0.2
    done
    log "server $SERVER_PID ready at $BASE"
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID i
    SERVER_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

server_alive() {
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$SERVER_LOG" >&2; die "the server died (log above)"; }
}

# rss_kb PID: the process's resident memory now, in kB.
rss_kb() {
    local key value rest
    while read -r key value rest; do
        if [[ $key == "${2:-VmRSS}:" ]]; then echo "$value"; return; fi
    done <"/proc/$1/status"
    echo 0
}

# sample_peak_rss PID FILE: writes the highest VmRSS seen every 100 ms into FILE until killed.
sample_peak_rss() {
    local peak=0 now
    while kill -0 "$1" 2>/dev/null; do
        now=$(rss_kb "$1")
        if (( now > peak )); then peak=$now; echo "$peak" >"$2"; fi
        sleep 0.1
    done
}

# --- HTTP set-up calls (curl) ---------------------------------------------------------------

post_json() { # PATH BODY: prints the body, fails on a non-2xx status
    curl -fsS -m 30 -X POST "$BASE$1" -H 'Content-Type: application/json' -d "$2"
}
authed_post() { # PATH BODY TOKEN: as post_json, with the token; no body when BODY is empty
    if [[ -n $2 ]]; then
        curl -fsS -m 30 -X POST "$BASE$1" -H "Authorization: Bearer $3" \
            -H 'Content-Type: application/json' -d "$2"
    else
        curl -fsS -m 30 -X POST "$BASE$1" -H "Authorization: Bearer $3"
    fi
}
authed_get() { curl -fsS -m 30 "$BASE$1" -H "Authorization: Bearer $2"; } # PATH TOKEN
register() { post_json /register "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | helper json-field id; }
login() { post_json /login "{\"email\":\"$1\",\"password\":\"$PASSWORD\"}" | helper json-field access_token; }

# --- databases ------------------------------------------------------------------------------

drop_pg_database() {
    [[ -n $PG_DB ]] || return 0
    local db=$PG_DB
    PG_DB=""
    psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null \
        || log "warning: could not drop database $db on $PG_URL"
}

# sql QUERY: rows of a query on the current database, tab-separated.
sql() {
    case $BACKEND in
        sqlite) helper sqlite-query "$DB_FILE" "$1" ;;
        postgres) psql "$DB_URL" -qAtX -F $'\t' -v ON_ERROR_STOP=1 -c "$1" ;;
    esac
}

# seed_owner_tasks OWNER COUNT FIRST_ROW
seed_owner_tasks() {
    (( $2 > 0 )) || return 0
    case $BACKEND in
        sqlite) helper seed-sqlite "$DB_FILE" --owner "$1" --tasks "$2" --first-row "$3" ;;
        postgres) psql "$DB_URL" -qX -v owner="$1" -v tasks="$2" -v first_row="$3" \
            -f "$BENCH_DIR/sql/pg_owner.sql" -f "$BENCH_DIR/sql/pg_tasks.sql" ;;
    esac
}

# seed_crowd USERS TASKS FIRST_ROW
seed_crowd() {
    (( $1 > 0 )) || return 0
    case $BACKEND in
        sqlite) helper seed-sqlite "$DB_FILE" --users "$1" --tasks "$2" --first-row "$3" ;;
        postgres)
            if (( $2 > 0 )); then
                psql "$DB_URL" -qX -v users="$1" -v tasks="$2" -v first_row="$3" \
                    -f "$BENCH_DIR/sql/pg_users.sql" -f "$BENCH_DIR/sql/pg_tasks.sql"
            else
                psql "$DB_URL" -qX -v users="$1" -f "$BENCH_DIR/sql/pg_users.sql"
            fi ;;
    esac
}

# seed_changes USER COUNT: COUNT change rows (task upserts) naming USER's tasks for USER
# (USER empty: for every other seeded account, naming theirs), as if they had been written
# now (so that the retention purge leaves them alone while the benchmark runs).
seed_changes() {
    local who="created_by = '$1'" now
    [[ -n $1 ]] || who="created_by NOT IN (SELECT id FROM users WHERE email LIKE '%@bench.invalid' AND email NOT LIKE 'seed%')"
    now="'$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)'"
    [[ $BACKEND == postgres ]] && now="$now::timestamptz"
    local select="SELECT created_by, 'task', 'upsert', id, list_id, $now FROM tasks WHERE $who"
    sql "INSERT INTO changes (user_id, entity, op, entity_id, list_id, at) \
         SELECT * FROM ($select UNION ALL $select) AS rows LIMIT $2" >/dev/null
}

# Fresh statistics, and (PostgreSQL) no autovacuum or checkpoint left to run mid-measurement.
settle_database() {
    case $BACKEND in
        sqlite) helper sqlite-query "$DB_FILE" "ANALYZE" >/dev/null ;;
        postgres)
            psql "$DB_URL" -qX -v ON_ERROR_STOP=1 -c "VACUUM (ANALYZE)" >/dev/null
            psql "$DB_URL" -qX -c "CHECKPOINT" >/dev/null 2>&1 || true ;;
    esac
}

# --- measurements ---------------------------------------------------------------------------

# run_wrk LABEL ENDPOINT CONNECTIONS DURATION PATH [VAR=value...]: one wrk run; its result
# line goes to $RUN_DIR/LABEL.json.
run_wrk() {
    local label=$1 endpoint=$2 conns=$3 duration=$4 path=$5
    shift 5
    local threads=$((BENCH_THREADS < conns ? BENCH_THREADS : conns))
    env "$@" WRK_LABEL="$label" WRK_ENDPOINT="$endpoint" WRK_CONNS="$conns" \
        WRK_OUT="$RUN_DIR/$label.json" \
        wrk -t"$threads" -c"$conns" -d"$duration" --timeout "$BENCH_TIMEOUT" \
        -s "$BENCH_DIR/wrk.lua" "$BASE$path" >"$RUN_DIR/$label.txt" 2>&1 \
        || { cat "$RUN_DIR/$label.txt" >&2; die "wrk failed in $label"; }
}

# record LABEL: appends a finished run to the results and says how it went.
record() {
    [[ -s $RUN_DIR/$1.json ]] || { cat "$RUN_DIR/$1.txt" >&2; die "wrk printed no result for $1"; }
    cat "$RUN_DIR/$1.json" >>"$OUT/results.jsonl"
    python3 - "$RUN_DIR/$1.json" <<'EOF' >&2
import json, sys
r = json.load(open(sys.argv[1]))
warn = "  <-- ERRORS" if r["errors"] else ""
print(f"    {r['label']:<14} {r['endpoint']:<28} c={r['connections']:<4} {r['rps']:>10.1f} req/s"
      f"  p50 {r['p50_ms']:8.2f} ms  p99 {r['p99_ms']:8.2f} ms  errors {r['errors']}{warn}")
EOF
}

# measure LABEL ENDPOINT CONNECTIONS PATH [VAR=value...]: warm up, then one recorded run.
measure() {
    local label=$1 endpoint=$2 conns=$3 path=$4
    shift 4
    server_alive
    if [[ $BENCH_WARMUP != 0 ]]; then
        run_wrk "warmup-$label" "$endpoint" "$conns" "$BENCH_WARMUP" "$path" "$@"
    fi
    run_wrk "$label" "$endpoint" "$conns" "$BENCH_DURATION" "$path" "$@"
    record "$label"
    sleep 1
}

meta() { printf '%s=%s\n' "$1" "$2" >>"$OUT/meta.txt"; }

# seconds DURATION: a wrk duration (10s, 2m, 1h or a plain number of seconds) in seconds.
seconds() {
    case $1 in
        *s) echo "${1%s}" ;;
        *m) echo $((${1%m} * 60)) ;;
        *h) echo $((${1%h} * 3600)) ;;
        *) echo "$1" ;;
    esac
}

# under_attack NAME: the victim's measurement during an attack: another user's (the
# benchmark user's) GET /tasks/{id}, exactly as the unloaded get_task.
under_attack() {
    measure "${1}_reads" "GET /tasks/{id} ($1)" "$BENCH_CONNECTIONS" "/tasks/$READ_ID" "$AUTH"
}

# attack_wrk NAME ENDPOINT CONNECTIONS PATH [VAR=value...]: a wrk attacker (label
# NAME_attack) runs through a ramp, the victim's warm-up and its measurement.
attack_wrk() {
    local name=$1 endpoint=$2 conns=$3 path=$4
    shift 4
    local warmup=0
    [[ $BENCH_WARMUP == 0 ]] || warmup=$(seconds "$BENCH_WARMUP")
    local length=$((ATTACK_RAMP + warmup + $(seconds "$BENCH_DURATION") + 2))
    log "attack $name: $endpoint, $conns connections"
    server_alive
    run_wrk "${name}_attack" "$endpoint" "$conns" "${length}s" "$path" WRK_ATTACK=1 "$@" &
    ATTACKER_PID=$!
    sleep "$ATTACK_RAMP"
    under_attack "$name"
    wait "$ATTACKER_PID" || die "the $name attacker failed"
    ATTACKER_PID=""
    record "${name}_attack"
    server_alive
    sleep 2
}

# attack_slow: BENCH_SLOW_CONNECTIONS slow connections (bench/attack.py) held open while the
# victim is measured, sampling the server's resident memory meanwhile.
attack_slow() {
    local ready=$OUT/slow.ready stats=$OUT/slow.json
    rm -f "$ready" "$stats"
    log "attack slow: $BENCH_SLOW_CONNECTIONS slow connections"
    server_alive
    python3 "$BENCH_DIR/attack.py" slow "$BASE" "$BENCH_SLOW_CONNECTIONS" 600 "$ready" "$stats" &
    ATTACKER_PID=$!
    local deadline=$((SECONDS + 60))
    until [[ -e $ready ]]; do
        kill -0 "$ATTACKER_PID" 2>/dev/null || die "the slow-connection attacker exited early"
        (( SECONDS < deadline )) || { log "warning: not all slow connections open after 60 s"; break; }
        sleep 0.2
    done
    sleep "$ATTACK_RAMP"
    : >"$OUT/peak_rss_slow"
    sample_peak_rss "$SERVER_PID" "$OUT/peak_rss_slow" &
    SAMPLER_PID=$!
    under_attack slow
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    meta rss_peak_slow_kb "$(cat "$OUT/peak_rss_slow")"
    kill -TERM "$ATTACKER_PID" 2>/dev/null || true
    wait "$ATTACKER_PID" || die "the slow-connection attacker failed"
    ATTACKER_PID=""
    [[ -s $stats ]] || die "the slow-connection attacker wrote no statistics"
    meta slow_stats "$(tr -d '\n' <"$stats")"
    server_alive
    sleep 2
}

# attacks: restarts the server as deployed (throttling on, 127.0.0.1 a trusted proxy so that
# the distributed flood can name its addresses) and runs the attacks of BENCH_ATTACKS.
attacks() {
    [[ -n ${BENCH_ATTACKS// /} ]] || return 0
    stop_server
    SERVER_ENV=(TASKAPI__THROTTLE__ENABLED=true TASKAPI__SERVER__TRUSTED_PROXIES=127.0.0.1)
    start_server "$DB_URL" "$SERVER_LOG"
    SERVER_ENV=()
    meta attacks "$BENCH_ATTACKS"
    local attack_token q
    register "$ATTACK_EMAIL" >/dev/null
    attack_token=$(login "$ATTACK_EMAIL")
    # A control: the same reads unloaded on the restarted server (the ratios use get_task).
    measure get_task_restarted "GET /tasks/{id} (throttling on)" "$BENCH_CONNECTIONS" \
        "/tasks/$READ_ID" "$AUTH"
    for attack in $BENCH_ATTACKS; do
        case $attack in
            search)
                log "search attacker: $BENCH_SEARCH_TASKS tasks of $BENCH_SEARCH_LENGTH characters"
                python3 "$BENCH_DIR/attack.py" seed-search "$BASE" "$attack_token" \
                    "$BENCH_SEARCH_TASKS" "$BENCH_SEARCH_LENGTH"
                q=$(printf 'a%.0s' $(seq 199))b
                attack_wrk search "GET /tasks?q=a…ab (attacker)" "$BENCH_SEARCH_CONNECTIONS" \
                    "/tasks?q=$q" WRK_TOKEN="$attack_token" ;;
            slow) attack_slow ;;
            flood)
                attack_wrk flood "POST /login wrong (attacker)" "$BENCH_FLOOD_CONNECTIONS" /login \
                    WRK_METHOD=POST WRK_BODY="{\"email\":\"$ATTACK_EMAIL\",\"password\":\"wrong-password\"}" ;;
            flood_spread)
                attack_wrk flood_spread "POST /login wrong, spread (attacker)" \
                    "$BENCH_FLOOD_CONNECTIONS" /login WRK_FLOOD=1 ;;
            ping_flood)
                # A control, not an attack to defend against: the cheapest answer the server
                # has, at the floods' connections, from the same machine.
                attack_wrk ping_flood "GET /ping (flood, control)" "$BENCH_FLOOD_CONNECTIONS" /ping ;;
        esac
    done
}

bench_backend() {
    BACKEND=$1
    OUT=$WORK/$BACKEND
    RUN_DIR=$OUT/runs
    SERVER_LOG=$OUT/server.log
    mkdir -p "$RUN_DIR"
    : >"$OUT/results.jsonl"
    printf '%s\nbackend=%s\n' "$MACHINE_META" "$BACKEND" >"$OUT/meta.txt"
    log "== $BACKEND =="

    case $BACKEND in
        sqlite)
            DB_FILE=$OUT/taskapi.db
            DB_URL=sqlite://$DB_FILE
            meta database "SQLite file in $WORK (WAL)" ;;
        postgres)
            PG_DB=taskapi_bench_${STAMP//[^0-9]/}_$$
            PG_DB=${PG_DB,,}
            psql "$PG_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
            DB_URL=$(helper pg-url "$PG_URL" "$PG_DB")
            meta database "$(psql "$PG_URL" -qAtX -c 'SHOW server_version' | sed 's/^/PostgreSQL /'), fresh database $PG_DB" ;;
    esac

    # Phase 1: only the benchmark user's tasks, for the listing at a small size.
    start_server "$DB_URL" "$SERVER_LOG"
    local bench_id deep_id token deep_token
    bench_id=$(register "$BENCH_EMAIL")
    deep_id=$(register "$DEEP_EMAIL")
    seed_owner_tasks "$bench_id" "$BENCH_USER_TASKS" 0
    settle_database
    local small_total
    small_total=$(sql "SELECT count(*) FROM tasks")
    meta small_total "$small_total"
    token=$(login "$BENCH_EMAIL")
    log "listing at $small_total stored tasks"
    measure list_small "GET /tasks?limit=50" "$BENCH_CONNECTIONS" "/tasks?limit=50" WRK_TOKEN="$token"
    # The change feed at a small log: 1 000 changes of the benchmark user after a cursor.
    local changes_cursor
    changes_cursor=$(authed_get /changes "$token" | helper json-field next_cursor)
    seed_changes "$bench_id" 1000
    settle_database
    meta changes_small_total "$(sql "SELECT count(*) FROM changes")"
    CHANGES_PATH="/changes?cursor=$changes_cursor&limit=100"
    measure changes_small "GET /changes (100 changes)" "$BENCH_CONNECTIONS" "$CHANGES_PATH" \
        WRK_TOKEN="$token"
    stop_server

    # Phase 2: the bulk, with the server stopped.
    local crowd_tasks=$((BENCH_TASKS - BENCH_USER_TASKS - BENCH_DEEP_TASKS))
    (( crowd_tasks > 0 )) || crowd_tasks=0
    log "seeding $BENCH_DEEP_TASKS tasks of the deep user and $crowd_tasks tasks of $BENCH_USERS users"
    local seed_start=$SECONDS
    seed_owner_tasks "$deep_id" "$BENCH_DEEP_TASKS" "$BENCH_USER_TASKS"
    seed_crowd "$BENCH_USERS" "$crowd_tasks" $((BENCH_USER_TASKS + BENCH_DEEP_TASKS))
    log "seeding $BENCH_CHANGES changes of the other accounts"
    seed_changes "" "$BENCH_CHANGES"
    settle_database
    meta changes_total "$(sql "SELECT count(*) FROM changes")"
    meta seed_seconds $((SECONDS - seed_start))
    meta tasks_total "$(sql "SELECT count(*) FROM tasks")"
    meta users_total "$(sql "SELECT count(*) FROM users")"
    log "seeded in $((SECONDS - seed_start)) s: $(sql "SELECT count(*) FROM tasks") tasks, $(sql "SELECT count(*) FROM users") users"

    start_server "$DB_URL" "$SERVER_LOG"
    sleep 2
    meta rss_idle_kb "$(rss_kb "$SERVER_PID")"
    log "idle resident memory: $(rss_kb "$SERVER_PID") kB"

    token=$(login "$BENCH_EMAIL")
    deep_token=$(login "$DEEP_EMAIL")
    sql "SELECT id FROM tasks WHERE created_by = '$bench_id' ORDER BY created_at, id" >"$OUT/ids.txt"
    local read_id hot_id
    read_id=$(sed -n 1p "$OUT/ids.txt")
    hot_id=$(sed -n 2p "$OUT/ids.txt")
    [[ -n $read_id && -n $hot_id ]] || die "the benchmark user needs at least 2 tasks"
    printf '%s\n' "$hot_id" >"$OUT/hot.txt"

    local pages=$((BENCH_DEEP_TASKS / PAGE_SIZE))
    (( pages < BENCH_DEEP_PAGE )) || pages=$BENCH_DEEP_PAGE
    (( pages >= 2 )) || die "BENCH_DEEP_TASKS must hold at least 2 pages of $PAGE_SIZE"
    meta deep_page "$pages"
    log "walking $pages pages of the deep user"
    local last_page
    last_page=$(helper walk "$BASE" "$deep_token" "/tasks?limit=$PAGE_SIZE" "$pages")

    local auth=WRK_TOKEN=$token
    AUTH=$auth
    READ_ID=$read_id
    local login_body="{\"email\":\"$BENCH_EMAIL\",\"password\":\"$PASSWORD\"}"
    local c=$BENCH_CONNECTIONS
    measure ping "GET /ping" "$c" /ping
    measure get_task "GET /tasks/{id}" "$c" "/tasks/$read_id" "$auth"
    # A task of a shared list (two members), beside the inbox task just read.
    local list_id shared_id invitation member_token
    list_id=$(authed_post /lists '{"name":"Shared benchmark list"}' "$token" | helper json-field id)
    shared_id=$(authed_post /tasks "{\"title\":\"Shared task\",\"list_id\":\"$list_id\"}" "$token" \
        | helper json-field id)
    register "$MEMBER_EMAIL" >/dev/null
    invitation=$(authed_post "/lists/$list_id/invitations" \
        "{\"email\":\"$MEMBER_EMAIL\",\"role\":\"editor\"}" "$token" | helper json-field id)
    member_token=$(login "$MEMBER_EMAIL")
    authed_post "/me/invitations/$invitation/accept" "" "$member_token" >/dev/null
    measure get_task_shared "GET /tasks/{id} (shared list)" "$c" "/tasks/$shared_id" "$auth"
    measure lists "GET /lists" "$c" /lists "$auth"
    # Gone again, so that the benchmark user's listings below read one list, as at the small
    # size (a listing across several lists reads and sorts all of the caller's tasks).
    curl -fsS -m 30 -X DELETE "$BASE/lists/$list_id" -H "Authorization: Bearer $token" >/dev/null
    measure changes "GET /changes (100 changes)" "$c" "$CHANGES_PATH" "$auth"

    log "$BENCH_HIGH_CONNECTIONS connections, sampling resident memory"
    : >"$OUT/peak_rss"
    sample_peak_rss "$SERVER_PID" "$OUT/peak_rss" &
    SAMPLER_PID=$!
    measure get_task_high "GET /tasks/{id}" "$BENCH_HIGH_CONNECTIONS" "/tasks/$read_id" "$auth"
    kill "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=""
    meta rss_peak_high_kb "$(cat "$OUT/peak_rss")"

    measure list "GET /tasks?limit=50" "$c" "/tasks?limit=50" "$auth"
    measure deep_first "GET /tasks?limit=100" "$c" "/tasks?limit=$PAGE_SIZE" WRK_TOKEN="$deep_token"
    measure deep_last "GET /tasks?limit=100&cursor=…" "$c" "$last_page" WRK_TOKEN="$deep_token"
    measure create "POST /tasks" "$c" /tasks "$auth" WRK_METHOD=POST \
        WRK_BODY='{"title":"Benchmark task","description":"Created by bench/run.sh","priority":"high","tags":["bench"]}'
    measure update_hot "PATCH /tasks/{id} (one row)" "$c" /tasks "$auth" WRK_PATCH_IDS="$OUT/hot.txt"
    measure update "PATCH /tasks/{id} (spread)" "$c" /tasks "$auth" WRK_PATCH_IDS="$OUT/ids.txt"
    measure move "POST /tasks/{id}/move (first)" "$c" /tasks "$auth" WRK_PATCH_IDS="$OUT/ids.txt" \
        WRK_MOVE=1

    log "logins: $BENCH_LOGIN_DURATION each"
    server_alive
    run_wrk login_c1 "POST /login" 1 "$BENCH_LOGIN_DURATION" /login WRK_METHOD=POST WRK_BODY="$login_body"
    record login_c1
    sleep 1
    run_wrk login "POST /login" "$BENCH_LOGIN_CONNECTIONS" "$BENCH_LOGIN_DURATION" /login \
        WRK_METHOD=POST WRK_BODY="$login_body"
    record login
    sleep 1

    log "login storm: reads and logins at once"
    server_alive
    run_wrk storm_reads "GET /tasks/{id} (storm)" "$c" "$BENCH_LOGIN_DURATION" "/tasks/$read_id" "$auth" &
    WRK_PIDS+=($!)
    run_wrk storm_logins "POST /login (storm)" "$BENCH_LOGIN_CONNECTIONS" "$BENCH_LOGIN_DURATION" /login \
        WRK_METHOD=POST WRK_BODY="$login_body" &
    WRK_PIDS+=($!)
    local pid
    for pid in "${WRK_PIDS[@]}"; do wait "$pid"; done
    WRK_PIDS=()
    record storm_reads
    record storm_logins

    server_alive
    sleep 3
    meta rss_after_load_kb "$(rss_kb "$SERVER_PID")"
    meta rss_hwm_kb "$(rss_kb "$SERVER_PID" VmHWM)"

    attacks
    stop_server
    drop_pg_database

    if [[ $BACKEND == sqlite && $BENCH_SYNC_COST == 1 ]]; then
        log "SQLite commits with synchronous=NORMAL and FULL"
        meta sync_cost "$(helper sqlite-sync-cost "$OUT/sync.db")"
    fi

    local report=$BENCH_RESULTS/$STAMP-$BACKEND.md
    helper report "$OUT" --out "$report" >"$OUT/report.txt"
    cp "$OUT/results.jsonl" "$BENCH_RESULTS/$STAMP-$BACKEND.jsonl"
    REPORTS+=("$report")
    log "$BACKEND done: $report"
}

# Common metadata, copied into each backend's meta file.
MACHINE_META=$(
    printf 'date=%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'cpu=%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    printf 'cores=%s\n' "$CORES"
    printf 'memory=%s\n' "$(awk '/^MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
    printf 'kernel=%s\n' "$(uname -sr)"
    printf 'commit=%s\n' "$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
    printf 'wrk=%s\n' "$(wrk -v 2>&1 | head -n 1 | awk '{print $2}')"
    printf 'threads=%s\n' "$BENCH_THREADS"
    printf 'duration=%s\n' "$BENCH_DURATION"
    printf 'login_duration=%s\n' "$BENCH_LOGIN_DURATION"
    printf 'bcrypt_cost=%s\n' "$BENCH_BCRYPT_COST"
    printf 'access_log=%s\n' "$([[ $BENCH_ACCESS_LOG == 1 ]] && echo on || echo off)"
    printf 'user_tasks=%s\n' "$BENCH_USER_TASKS"
    printf 'deep_tasks=%s\n' "$BENCH_DEEP_TASKS"
    printf 'connections=%s\n' "$BENCH_CONNECTIONS"
    printf 'high_connections=%s\n' "$BENCH_HIGH_CONNECTIONS"
    printf 'search_tasks=%s\n' "$BENCH_SEARCH_TASKS"
    printf 'search_length=%s\n' "$BENCH_SEARCH_LENGTH"
    printf 'slow_connections=%s\n' "$BENCH_SLOW_CONNECTIONS"
)

REPORTS=()
for backend in $BACKENDS; do
    bench_backend "$backend"
done

echo
for report in "${REPORTS[@]}"; do
    cat "$report"
    echo
done
echo "Reports written: ${REPORTS[*]}"
