#!/usr/bin/env bash
# Benchmarks the demo against tower-http's ServeDir, actix-files and nginx,
# its static files (the StaticFiles layer) against ServeDir with its
# precompressed options, actix-files and nginx over the same collected root,
# and collectstatic against Django's and WhiteNoise's,
# on loopback, and writes the results to BENCHMARKS.md.
#
# memory-serve is not a peer: it embeds its assets into the binary at
# compile time (a build script reads the directory), so it cannot serve the
# root this script collects at run time without rebuilding the peer inside
# every run.
#
# Usage: ./scripts/bench.sh            full run (about 27 minutes on 2 cores, with the load test and collect)
#        BENCH_QUICK=1 ./scripts/bench.sh   smoke run (about 3 minutes)
#
# Load: wrk (one thread), except the HEAD/304 scenario, which uses oha for
# all its rows: wrk cannot measure HEAD (it waits for the body that
# Content-Length announces).
#
# Scenarios (rows: demo /path/, ServeDir, actix-files, nginx direct, and
# others where named; rough duration of a full run in brackets):
#   small          1 KiB GET, BENCH_CONNECTIONS connections, with nginx -> demo [1.5 min]
#   medium         1 MiB GET, 4 connections [1.5 min]
#   large1         the large file, 1 connection, with nginx -> demo [1.5 min]
#   large8         the large file, 8 connections [1 min]
#   relay          /http/ (HttpDownload from nginx) of the large file [1 min]
#   cond           GET, HEAD and a conditional GET answered 304, 1 KiB, on
#                  every server (If-None-Match with the server's own ETag;
#                  If-Modified-Since with its Last-Modified when it sends no
#                  ETag), all with oha [3 min]
#   sweep-conns    1 KiB GET at 1, 32, 256 and 1,024 connections: req/s and
#                  p99 per point, plotted [1 min]
#   sweep-size     GET of 1 KiB, 16 KiB, 256 KiB, 4 MiB, 64 MiB and 1 GiB,
#                  1 connection: MB/s and p99 per point, plotted; a point
#                  where wrk completes fewer than 2 requests is measured
#                  again with curl (3 downloads in a row, p99 = the slowest)
#                  [2 min, with making the 1 GiB file]
#   static-small, static-large  the StaticFiles layer against ServeDir
#                  (precompressed), actix-files and nginx [2 min]
#   collect        our collectstatic against Django's and WhiteNoise's [1 min]
#   s3large, s3small  an object store (moto, installed from PyPI by
#                  scripts/install-moto.sh; moto is slow and bounds every
#                  figure of those two) [2 min]
#   zip-small      /archive/ of 1,000 files of 1 KiB against nginx serving
#                  the same files zipped with `zip -0`; zip-large: the same
#                  with 4 files of 256 MiB [1.5 min]
#   cached         /cached/ of the large file against /http/ and the
#                  upstream (nginx) directly [1 min]
# The sweeps' plots (SVG, matplotlib from target/bench-venv, made by
# scripts/bench-venv.sh) are written next to the report and linked from it.
#
# Environment (defaults in brackets; quick mode in parentheses):
#   BENCH_SECONDS      seconds per measured run [5] (2)
#   BENCH_ROUNDS       rounds; each round runs every server once per
#                      scenario, in a rotated order [3] (1)
#   BENCH_WARMUP       seconds of warm-up per server and scenario [1] (0)
#   BENCH_CONNECTIONS  wrk connections for the small-file scenarios [32]
#   BENCH_LARGE_MIB    size of the large file in MiB [512]
#   BENCH_SCENARIOS    which scenarios, space-separated
#                      [small medium large1 large8 relay cond sweep-conns sweep-size
#                      static-small static-large collect s3large s3small zip-small
#                      zip-large cached]
#   BENCH_SWEEP_SECONDS  seconds per point of the sweeps [3] (1)
#   BENCH_SWEEP_LARGE_SECONDS  seconds per point of sweep-size above
#                      256 MiB [10] (3)
#   BENCH_SWEEP_ROUNDS rounds of the sweeps [1]
#   BENCH_SWEEP_WARMUP seconds of warm-up per server and point of the sweeps [0]
#   BENCH_SWEEP_MAX_MIB  the largest size of sweep-size in MiB; larger
#                      points are left out [1024]
#   BENCH_STATIC_LARGE_MIB  size of the large file of the static-large
#                      scenario in MiB [64]
#   BENCH_COLLECT_FILES  files of the generated tree collected by our
#                      collectstatic, Django's and WhiteNoise's [10000] (2000)
#   BENCH_COLLECT_ROUNDS rounds of the collect scenario [1]
#   BENCH_MICRO        1: also run the criterion micro-benchmarks, shortened [1] (0)
#   BENCH_OUT          the report [BENCHMARKS.md at the repository root]
#   BENCH_PLOTS        the directory of the plots [bench/plots for the default
#                      report, else the report's path without .md + "-plots"]
#   BENCH_TARGET_DIR   cargo target directory of the bench/ workspace
#                      [the root workspace's target directory + /bench]
#   BENCH_BUILD        0: do not build; use the binaries already in the
#                      target directories [1]
#   BENCH_KEEP         1: keep the run directory (logs, raw results)
#   BENCH_LOAD         concurrent 10 MiB downloads of the load test run in
#                      release after the scenarios, figures appended to the
#                      report; 0 skips it [3000] (0)
#
# Installs wrk, nginx and curl with apt-get when missing (as root, or with
# sudo), Django and WhiteNoise in target/django-venv (scripts/django-venv.sh)
# for the collect scenario, matplotlib in target/bench-venv
# (scripts/bench-venv.sh) for the sweeps' plots, and oha with `cargo install oha --locked` (a build of several
# minutes, once).
# Every server it starts is stopped on exit; every load run is bounded in
# time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
    SECS=${BENCH_SECONDS:-2}
    ROUNDS=${BENCH_ROUNDS:-1}
    WARMUP=${BENCH_WARMUP:-0}
    MICRO=${BENCH_MICRO:-0}
    LOAD_N=${BENCH_LOAD:-0}
    COLLECT_FILES=${BENCH_COLLECT_FILES:-2000}
    SWEEP_SECS=${BENCH_SWEEP_SECONDS:-1}
    SWEEP_LARGE_SECS=${BENCH_SWEEP_LARGE_SECONDS:-3}
else
    SECS=${BENCH_SECONDS:-5}
    ROUNDS=${BENCH_ROUNDS:-3}
    WARMUP=${BENCH_WARMUP:-1}
    MICRO=${BENCH_MICRO:-1}
    LOAD_N=${BENCH_LOAD:-3000}
    COLLECT_FILES=${BENCH_COLLECT_FILES:-10000}
    SWEEP_SECS=${BENCH_SWEEP_SECONDS:-3}
    SWEEP_LARGE_SECS=${BENCH_SWEEP_LARGE_SECONDS:-10}
fi
SWEEP_ROUNDS=${BENCH_SWEEP_ROUNDS:-1}
SWEEP_WARMUP=${BENCH_SWEEP_WARMUP:-0}
SWEEP_MAX_MIB=${BENCH_SWEEP_MAX_MIB:-1024}
BUILD=${BENCH_BUILD:-1}
COLLECT_ROUNDS=${BENCH_COLLECT_ROUNDS:-1}
CONNS=${BENCH_CONNECTIONS:-32}
LARGE_MIB=${BENCH_LARGE_MIB:-512}
STATIC_LARGE_MIB=${BENCH_STATIC_LARGE_MIB:-64}
ALL_SCENARIOS="small medium large1 large8 relay cond sweep-conns sweep-size static-small static-large collect s3large s3small zip-small zip-large cached"
SCENARIOS=${BENCH_SCENARIOS:-$ALL_SCENARIOS}
# What the chosen scenarios need: the object store, the Rust peers, oha,
# matplotlib.
WANT_S3=0 WANT_PEERS=0 WANT_OHA=0 WANT_PLOTS=0
for name in $SCENARIOS; do
    case $name in
        s3large | s3small) WANT_S3=1 ;;
        small | medium | large1 | large8 | static-small | static-large) WANT_PEERS=1 ;;
        cond) WANT_PEERS=1 WANT_OHA=1 ;;
        sweep-conns | sweep-size) WANT_PEERS=1 WANT_PLOTS=1 ;;
    esac
done
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
# The plots sit beside the report they belong to, so a smoke run written
# elsewhere never overwrites the committed ones.
if [ -n "${BENCH_PLOTS:-}" ]; then
    PLOTS=$BENCH_PLOTS
elif [ "$OUT" = "$ROOT/BENCHMARKS.md" ]; then
    PLOTS=$ROOT/bench/plots
else
    PLOTS=${OUT%.md}-plots
fi
KEEP=${BENCH_KEEP:-0}

log() { printf 'bench.sh: %s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
for value in "$SECS" "$ROUNDS" "$WARMUP" "$CONNS" "$LARGE_MIB" "$STATIC_LARGE_MIB" "$COLLECT_FILES" \
    "$COLLECT_ROUNDS" "$SWEEP_SECS" "$SWEEP_LARGE_SECS" "$SWEEP_ROUNDS" "$SWEEP_WARMUP" "$SWEEP_MAX_MIB"; do
    [[ $value =~ ^[0-9]+$ ]] || die "expected a whole number, got '$value'"
done
[ "$SECS" -ge 1 ] && [ "$ROUNDS" -ge 1 ] && [ "$CONNS" -ge 1 ] && [ "$LARGE_MIB" -ge 1 ] \
    || die "BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS and BENCH_LARGE_MIB must be at least 1"
[ "$SWEEP_SECS" -ge 1 ] && [ "$SWEEP_LARGE_SECS" -ge 1 ] && [ "$SWEEP_ROUNDS" -ge 1 ] && [ "$SWEEP_MAX_MIB" -ge 1 ] \
    || die "BENCH_SWEEP_SECONDS, BENCH_SWEEP_LARGE_SECONDS, BENCH_SWEEP_ROUNDS and BENCH_SWEEP_MAX_MIB must be at least 1"
# The points of the sweeps: connections, and file sizes in KiB.
SWEEP_CONNS=(1 32 256 1024)
SWEEP_SIZES_KIB=()
for kib in 1 16 256 4096 65536 1048576; do
    if [ "$kib" -le $((SWEEP_MAX_MIB * 1024)) ]; then SWEEP_SIZES_KIB+=("$kib"); fi
done
# 1,024 connections need as many descriptors in wrk and in each server,
# which inherit this limit.
if wants sweep-conns; then
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        limit=$(ulimit -n)
        [ "$limit" = unlimited ] || [ "$limit" -ge 4096 ] \
            || die "sweep-conns needs 4,096 open files, the hard limit is $limit (raise it, or leave sweep-conns out)"
    fi
fi

# ---------------------------------------------------------------- tools
missing=()
have wrk || missing+=(wrk)
have nginx || missing+=(nginx)
have curl || missing+=(curl)
have python3 || missing+=(python3)
have zip || missing+=(zip)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    log "installing ${missing[*]}"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"; then
        $sudo apt-get update
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    fi
fi
if [ "$WANT_OHA" = 1 ] && ! command -v oha >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/oha" ]; then
    log "installing oha (cargo install oha --locked)"
    cargo install oha --locked
fi
OHA=$(command -v oha || echo "$HOME/.cargo/bin/oha")
MOTO=""
if [ "$WANT_S3" = 1 ]; then MOTO=$("$ROOT/scripts/install-moto.sh"); fi
REPORT_PYTHON=python3
if [ "$WANT_PLOTS" = 1 ]; then
    # shellcheck source=scripts/bench-venv.sh
    . scripts/bench-venv.sh
    REPORT_PYTHON=$(bench_venv)
fi
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || die "nginx not found"

# ---------------------------------------------------------------- build
ROOT_TARGET=$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BENCH_TARGET=${BENCH_TARGET_DIR:-$ROOT_TARGET/bench}
if [ "$BUILD" = 1 ]; then
    log "building the demo and collectstatic (release, $ROOT_TARGET)"
    cargo build --release -p demo -p axum-download-cli
else
    log "BENCH_BUILD=0: using the binaries in $ROOT_TARGET and $BENCH_TARGET as they are"
fi
DEMO_BIN=$ROOT_TARGET/release/demo
SERVEDIR_BIN=$BENCH_TARGET/release/peer-servedir
ACTIX_BIN=$BENCH_TARGET/release/peer-actix
PEERS=()
if [ "$WANT_PEERS" = 1 ]; then
    if [ "$BUILD" = 1 ]; then
        log "building the peers (release, $BENCH_TARGET)"
        CARGO_TARGET_DIR=$BENCH_TARGET cargo build --release \
            --manifest-path bench/Cargo.toml -p peer-servedir -p peer-actix
    fi
    PEERS=(servedir actix)
fi
for bin in "$DEMO_BIN" "$ROOT_TARGET/release/collectstatic" "${PEERS[@]/#/$BENCH_TARGET/release/peer-}"; do
    [ -x "$bin" ] || die "$bin was not built"
done

# ---------------------------------------------------------------- run dir
RUN=$(mktemp -d "${TMPDIR:-/tmp}/axum-download-bench.XXXXXX")
# nginx's workers run as www-data when started as root: they must read the
# media and write their logs.
chmod 755 "$RUN"
MEDIA=$RUN/media
NGINX_DIRS=(nginx-direct nginx-direct-nn nginx-proxy nginx-proxy-ka)
for dir in "${NGINX_DIRS[@]}"; do
    mkdir -p "$RUN/$dir"
    chmod 777 "$RUN/$dir"
done
mkdir -p "$MEDIA" "$RUN/logs"
RESULTS=$RUN/results.tsv
printf 'scenario\tserver\tround\trequests\tbytes\tduration_us\tp99_us\trss_kib\terrors\n' >"$RESULTS"

# The servers running now, by name (a stopped server is removed at once,
# so a recycled process id is never signalled).
declare -A PID_OF
WRK_PID=""
cleanup() {
    local status=$? pid alive
    trap - EXIT INT TERM
    if [ -n "$WRK_PID" ]; then kill "$WRK_PID" 2>/dev/null || true; fi
    for pid in "${PID_OF[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${PID_OF[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; fi
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PID_OF[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    if [ "$KEEP" = 1 ] || [ "$status" -ne 0 ]; then
        log "run directory kept: $RUN"
    else
        rm -rf "$RUN"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- files
SMALL=small.bin
MEDIUM=medium.bin
LARGE=large.bin
UNICODE="données é.bin"
UNICODE_URL="donn%C3%A9es%20%C3%A9.bin"
log "creating the files in $MEDIA (large: $LARGE_MIB MiB)"
head -c 1024 /dev/urandom >"$MEDIA/$SMALL"
head -c $((1024 * 1024)) /dev/urandom >"$MEDIA/$MEDIUM"
head -c $((LARGE_MIB * 1024 * 1024)) /dev/urandom >"$MEDIA/$LARGE"
head -c $((64 * 1024 + 7)) /dev/urandom >"$MEDIA/$UNICODE"
chmod 644 "$MEDIA"/*
chmod 755 "$MEDIA"
declare -A SHA
for name in "$SMALL" "$MEDIUM" "$LARGE" "$UNICODE"; do
    SHA[$name]=$(sha256sum <"$MEDIA/$name" | cut -d' ' -f1)
done
# Archives: two directories, and the same zipped beforehand with `zip -0`
# (stored, as the demo's archives are) for nginx to serve.
ARCH_SMALL=arch-small
ARCH_LARGE=arch-large
now() { date +%s.%N; }
ZIP_SECONDS=()
make_archive_dir() {
    local dir=$1 count=$2 bytes=$3 i started
    mkdir -p "$MEDIA/$dir"
    for i in $(seq -w 1 "$count"); do
        head -c "$bytes" /dev/urandom >"$MEDIA/$dir/file-$i.bin"
    done
    chmod 755 "$MEDIA/$dir"
    chmod 644 "$MEDIA/$dir"/*
    started=$(now)
    (cd "$MEDIA/$dir" && zip -0 -q -r -X "$MEDIA/$dir.zip" .)
    chmod 644 "$MEDIA/$dir.zip"
    ZIP_SECONDS+=("zip_${dir}=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')")
}
if wants zip-small; then
    log "creating $ARCH_SMALL: 1,000 files of 1 KiB, and $ARCH_SMALL.zip (zip -0)"
    make_archive_dir "$ARCH_SMALL" 1000 1024
fi
if wants zip-large; then
    log "creating $ARCH_LARGE: 4 files of 256 MiB, and $ARCH_LARGE.zip (zip -0)"
    make_archive_dir "$ARCH_LARGE" 4 $((256 * 1024 * 1024))
fi

# The sweep over sizes: one file of random bytes per size (written out, no
# holes, so every byte comes from the page cache like the other files).
sweep_file() { echo "sweep-$1k.bin"; }
if wants sweep-size; then
    need_mib=256
    for kib in "${SWEEP_SIZES_KIB[@]}"; do need_mib=$((need_mib + kib / 1024)); done
    avail_mib=$(df -Pm "$MEDIA" | awk 'NR == 2 { print $4 }')
    [ "$avail_mib" -ge "$need_mib" ] \
        || die "sweep-size needs $need_mib MiB free in $MEDIA, $avail_mib MiB are (lower BENCH_SWEEP_MAX_MIB)"
    log "creating the files of sweep-size: ${SWEEP_SIZES_KIB[*]} KiB"
    for kib in "${SWEEP_SIZES_KIB[@]}"; do
        name=$(sweep_file "$kib")
        SHA[$name]=$(head -c $((kib * 1024)) /dev/urandom | tee "$MEDIA/$name" | sha256sum | cut -d' ' -f1)
        chmod 644 "$MEDIA/$name"
    done
fi

# The static-files scenarios: a 1 KiB stylesheet (with sidecars) and a
# large file, collected into MEDIA/static by our collectstatic, served by
# their hashed names: the demo from its table (--static-root), the peers
# and nginx from the same directory.
log "collecting the static files into $MEDIA/static (large: $STATIC_LARGE_MIB MiB)"
mkdir -p "$RUN/static-src/css"
python3 -c 'import sys; rule = "a.c%d { color: #%06x; }\n"; text = "".join(rule % (i, i * 2654435761 % 16777216) for i in range(64)); sys.stdout.write(text[:1024])' \
    >"$RUN/static-src/css/small.css"
head -c $((STATIC_LARGE_MIB * 1024 * 1024)) /dev/urandom >"$RUN/static-src/large.bin"
"$ROOT_TARGET/release/collectstatic" --source "$RUN/static-src" --static-root "$MEDIA/static" \
    >"$RUN/logs/collectstatic.log" 2>&1 || {
    cat "$RUN/logs/collectstatic.log" >&2
    die "collectstatic failed"
}
chmod -R a+rX "$MEDIA/static"
static_name() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["paths"][sys.argv[2]])' \
        "$MEDIA/static/staticfiles.json" "$1"
}
STATIC_SMALL=static/$(static_name css/small.css)
STATIC_LARGE=static/$(static_name large.bin)
for name in "$STATIC_SMALL" "$STATIC_LARGE"; do
    SHA[$name]=$(sha256sum <"$MEDIA/$name" | cut -d' ' -f1)
done

# ---------------------------------------------------------------- servers
# Distinct free loopback ports, one per process.
read -r P_DEMO P_SERVEDIR P_ACTIX P_NGINX P_NGINX_NN P_PROXY P_PROXY_KA P_S3 P_SERVEDIR_PC < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(9)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
')

# nginx serving the media directly: the same process model and http
# settings as deploy/nginx.conf (one worker, sendfile, tcp_nopush, an
# access log), so the hand-off is compared like for like. A second one
# without tcp_nopush is a reference for the large-file scenarios. Room for
# the 1,024 connections of sweep-conns: worker_connections, and a listen
# backlog above nginx's default of 511 (the Rust servers' is 1,024 or more).
nginx_user=""
if [ "$(id -u)" -eq 0 ]; then nginx_user="user www-data;"; fi
direct_conf() {
    local dir=$RUN/$1 port=$2 nopush=$3
    cat >"$dir/nginx.conf" <<EOF
$nginx_user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush $nopush;
    server {
        listen 127.0.0.1:$port backlog=4096;
        server_name localhost;
        root $MEDIA;
        location / {
        }
    }
}
EOF
}
direct_conf nginx-direct "$P_NGINX" on
direct_conf nginx-direct-nn "$P_NGINX_NN" off

# nginx in front of the demo: deploy/nginx.conf rendered as tests/src/proxy.rs
# does. With "keepalive", a diagnosis variant: the same with connections to
# the demo kept alive (an upstream block with `keepalive`), when the
# template's proxy_pass can be rewritten (exit status 3 when it cannot).
render_proxy() {
    python3 - "$ROOT/deploy/nginx.conf" "$@" <<'EOF'
import re, sys
template, out, keepalive = sys.argv[1], sys.argv[2], sys.argv[3] == "keepalive"
text = open(template).read()
values = dict(pair.split("=", 1) for pair in sys.argv[4:])
if keepalive:
    direct = "proxy_pass http://@DEMO_ADDR@;"
    if direct not in text or "\n    server {" not in text:
        sys.exit(3)
    text = text.replace(direct, "proxy_pass http://bench_demo;")
    block = "\n    upstream bench_demo {\n        server @DEMO_ADDR@;\n        keepalive 16;\n    }\n"
    text = text.replace("\n    server {", block + "\n    server {", 1)
for key, value in values.items():
    text = text.replace(f"@{key}@", value)
left = re.findall(r"@([A-Z_]+)@", text)
if left:
    sys.exit(f"placeholder @{left[0]}@ is left in the rendered deploy/nginx.conf")
open(out, "w").write(text)
EOF
}
render_proxy "$RUN/nginx-proxy/nginx.conf" plain \
    "LISTEN_PORT=$P_PROXY" "DEMO_ADDR=127.0.0.1:$P_DEMO" "DEMO_PORT=$P_DEMO" \
    "MEDIA_ROOT=$MEDIA" "RUN_DIR=$RUN/nginx-proxy"
KEEPALIVE=1
render_proxy "$RUN/nginx-proxy-ka/nginx.conf" keepalive \
    "LISTEN_PORT=$P_PROXY_KA" "DEMO_ADDR=127.0.0.1:$P_DEMO" "DEMO_PORT=$P_DEMO" \
    "MEDIA_ROOT=$MEDIA" "RUN_DIR=$RUN/nginx-proxy-ka" || {
    log "deploy/nginx.conf has no plain proxy_pass to the demo: no upstream keep-alive row"
    KEEPALIVE=0
}

# start NAME PORT COMMAND...: starts a server in the background, waits until
# it accepts connections.
start() {
    local name=$1 port=$2
    shift 2
    "$@" >"$RUN/logs/$name.log" 2>&1 &
    local pid=$!
    PID_OF[$name]=$pid
    local deadline=$((SECONDS + 20))
    until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$RUN/logs/$name.log" >&2
            die "$name exited during start-up"
        fi
        [ $SECONDS -lt $deadline ] || die "$name did not listen on port $port within 20 s"
        sleep 0.05
    done
}
# stop NAME: SIGTERM, then SIGKILL after 5 s.
stop() {
    local pid=${PID_OF[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PID_OF[$1]"
}
start_nginx() {
    local name=$1 port=$2 dir=$3
    start "$name" "$port" "$NGINX" -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
        -g 'daemon off;'
}
# The Rust servers are restarted before each scenario, so each starts
# with a fresh heap; nginx runs throughout.
# The object store (moto) and the demo's view of it.
S3_BUCKET=bench
S3_ARGS=()
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
if [ "$WANT_S3" = 1 ]; then S3_ARGS=(--s3 "http://127.0.0.1:$P_S3/$S3_BUCKET"); fi
start_rust_servers() {
    # Warnings only: the peers log nothing per request either.
    start demo "$P_DEMO" env RUST_LOG=warn "$DEMO_BIN" --addr "127.0.0.1:$P_DEMO" --media-root "$MEDIA" \
        --upstream "http://127.0.0.1:$P_NGINX" --static-root "$MEDIA/static" --cache-dir "$RUN/cache" "${S3_ARGS[@]}"
    [ "$WANT_PEERS" = 1 ] || return 0
    start servedir "$P_SERVEDIR" "$SERVEDIR_BIN" --addr "127.0.0.1:$P_SERVEDIR" --root "$MEDIA"
    start servedir-pc "$P_SERVEDIR_PC" "$SERVEDIR_BIN" --addr "127.0.0.1:$P_SERVEDIR_PC" \
        --root "$MEDIA" --precompressed
    start actix "$P_ACTIX" "$ACTIX_BIN" --addr "127.0.0.1:$P_ACTIX" --root "$MEDIA"
}
stop_rust_servers() {
    local name
    for name in demo servedir servedir-pc actix; do stop "$name"; done
}
log "starting nginx (direct on $P_NGINX, in front of the demo on $P_PROXY)"
start_nginx nginx "$P_NGINX" "$RUN/nginx-direct"
start_nginx nginxnn "$P_NGINX_NN" "$RUN/nginx-direct-nn"
start_nginx proxy "$P_PROXY" "$RUN/nginx-proxy"
if [ "$KEEPALIVE" = 1 ]; then start_nginx proxyka "$P_PROXY_KA" "$RUN/nginx-proxy-ka"; fi
# The object store: moto, holding the small and the large file, each also
# reachable directly through a presigned URL (the "store direct" row).
declare -A PRESIGNED
if [ "$WANT_S3" = 1 ]; then
    log "starting moto ($P_S3) and uploading $SMALL and $LARGE"
    start s3 "$P_S3" "$MOTO" -H 127.0.0.1 -p "$P_S3"
    curl -sS --fail -X PUT "http://127.0.0.1:$P_S3/$S3_BUCKET" -o /dev/null \
        || die "moto: could not create the bucket"
    cat >"$RUN/presign.py" <<'EOF'
import sys, boto3
from botocore.config import Config
endpoint, bucket, key = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench",
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                ExpiresIn=86400))
EOF
    for name in "$SMALL" "$LARGE"; do
        curl -sS --fail -X PUT -H 'Content-Type: application/octet-stream' -T "$MEDIA/$name" \
            "http://127.0.0.1:$P_S3/$S3_BUCKET/$name" -o /dev/null || die "moto: could not upload $name"
        PRESIGNED[$name]=$("$(dirname "$MOTO")/python" "$RUN/presign.py" \
            "http://127.0.0.1:$P_S3" "$S3_BUCKET" "$name") || die "could not presign $name"
    done
fi
log "starting demo ($P_DEMO), servedir ($P_SERVEDIR), actix ($P_ACTIX)"
start_rust_servers

# A row of a scenario is a server plus how it is asked:
#   demo, servedir, actix      the Rust servers (all set TCP_NODELAY)
#   nginx                      nginx serving the directory
#   nginx-nn                   the same without tcp_nopush (reference)
#   nginx-demo                 nginx in front of the demo, /nginx/ hand-off
#   nginx-demo-ka              the same with upstream keep-alive (diagnosis)
#   demo-relay                 the demo's /http/ (HttpDownload from nginx)
#   SERVER-head                HEAD, on demo, servedir, actix or nginx
#   SERVER-304                 GET with If-None-Match: the server's ETag, or
#                              If-Modified-Since: its Last-Modified
#   demo-static                the demo's /static/ (StaticFiles layer)
#   servedir-pc                ServeDir with precompressed_br and _gzip
#   s3-direct                  moto serving the object (presigned GET)
#   demo-s3                    the demo's /s3/ (ObjectStoreStorage relay)
#   nginx-demo-s3              nginx in front of the demo, /s3-nginx/: nginx
#                              fetches the object from moto itself
# The server a HEAD or 304 row asks.
server_of() {
    case $1 in
        *-head) echo "${1%-head}" ;;
        *-304) echo "${1%-304}" ;;
        *) echo "$1" ;;
    esac
}
# The processes whose memory a row reports.
pids_of() {
    local server
    server=$(server_of "$1")
    case $server in
        demo | demo-relay | demo-s3 | demo-archive | demo-cached | demo-static) echo "${PID_OF[demo]}" ;;
        s3-direct)
            echo "${PID_OF[s3]}"
            pgrep -P "${PID_OF[s3]}" || true
            ;;
        nginx-demo-s3)
            echo "${PID_OF[demo]}"
            pgrep -P "${PID_OF[proxy]}" || true
            ;;
        servedir | servedir-pc | actix) echo "${PID_OF[$server]}" ;;
        nginx | nginx-zip) pgrep -P "${PID_OF[nginx]}" || true ;;
        nginx-nn) pgrep -P "${PID_OF[nginxnn]}" || true ;;
        nginx-demo)
            echo "${PID_OF[demo]}"
            pgrep -P "${PID_OF[proxy]}" || true
            ;;
        nginx-demo-ka)
            echo "${PID_OF[demo]}"
            pgrep -P "${PID_OF[proxyka]}" || true
            ;;
        *) die "no process for $1" ;;
    esac
}
# The base URL of a row.
base_of() {
    case $(server_of "$1") in
        demo) echo "http://127.0.0.1:$P_DEMO/path" ;;
        demo-relay) echo "http://127.0.0.1:$P_DEMO/http" ;;
        demo-archive) echo "http://127.0.0.1:$P_DEMO/archive" ;;
        demo-cached) echo "http://127.0.0.1:$P_DEMO/cached" ;;
        demo-static) echo "http://127.0.0.1:$P_DEMO" ;;
        servedir-pc) echo "http://127.0.0.1:$P_SERVEDIR_PC" ;;
        servedir) echo "http://127.0.0.1:$P_SERVEDIR" ;;
        actix) echo "http://127.0.0.1:$P_ACTIX" ;;
        nginx | nginx-zip) echo "http://127.0.0.1:$P_NGINX" ;;
        nginx-nn) echo "http://127.0.0.1:$P_NGINX_NN" ;;
        nginx-demo) echo "http://127.0.0.1:$P_PROXY/nginx" ;;
        nginx-demo-ka) echo "http://127.0.0.1:$P_PROXY_KA/nginx" ;;
        demo-s3) echo "http://127.0.0.1:$P_DEMO/s3" ;;
        nginx-demo-s3) echo "http://127.0.0.1:$P_PROXY/s3-nginx" ;;
        *) die "no URL for $1" ;;
    esac
}
# The URL of FILE on a row: its base and the name, a presigned URL, or
# (nginx-zip) the directory's zip.
url_of() {
    case $1 in
        s3-direct) echo "${PRESIGNED[$2]}" ;;
        nginx-zip) echo "$(base_of "$1")/$2.zip" ;;
        *) echo "$(base_of "$1")/$2" ;;
    esac
}

# ---------------------------------------------------------------- checks
# Every server returns the right bytes for every file, before any load.
check_bytes() {
    local server=$1 name=$2 url=$3 got
    got=$(curl -sS --fail --max-time 120 "$url" | sha256sum | cut -d' ' -f1) \
        || die "$server: GET $url failed"
    [ "$got" = "${SHA[$name]}" ] || die "$server: GET $url: wrong bytes (sha256 $got)"
}
log "checking the bytes each server returns (sha256)"
KA_ROW=()
if [ "$KEEPALIVE" = 1 ]; then KA_ROW=(nginx-demo-ka); fi
for server in demo "${PEERS[@]}" nginx nginx-nn nginx-demo "${KA_ROW[@]}"; do
    base=$(base_of "$server")
    for name in "$SMALL" "$MEDIUM" "$LARGE"; do
        check_bytes "$server" "$name" "$base/$name"
    done
    check_bytes "$server" "$UNICODE" "$base/$UNICODE_URL"
done
for name in "$SMALL" "$LARGE"; do
    check_bytes demo-relay "$name" "$(base_of demo-relay)/$name"
done
if wants sweep-size; then
    for server in demo "${PEERS[@]}" nginx; do
        for kib in "${SWEEP_SIZES_KIB[@]}"; do
            check_bytes "$server" "$(sweep_file "$kib")" "$(url_of "$server" "$(sweep_file "$kib")")"
        done
    done
fi
for server in demo-static servedir-pc actix nginx; do
    for name in "$STATIC_SMALL" "$STATIC_LARGE"; do
        check_bytes "$server" "$name" "$(base_of "$server")/$name"
    done
done
static_head=$(curl -sS -D - -o /dev/null "$(base_of demo-static)/$STATIC_SMALL" | tr -d '\r')
grep -qi '^cache-control: public, max-age=31536000, immutable$' <<<"$static_head" \
    || die "the demo's /static/ did not answer a hashed name as immutable"
check_bytes demo-relay "$UNICODE" "$(base_of demo-relay)/$UNICODE_URL"
if [ "$WANT_S3" = 1 ]; then
    for server in s3-direct demo-s3 nginx-demo-s3; do
        for name in "$SMALL" "$LARGE"; do
            check_bytes "$server" "$name" "$(url_of "$server" "$name")"
        done
    done
    # The demo hands /s3-nginx/ off with a presigned URL for nginx.
    handoff=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$P_DEMO/s3-nginx/$SMALL")
    grep -qi '^x-accel-remote-url: http://127.0.0.1' <<<"$handoff" \
        || die "the demo's /s3-nginx/ route did not hand off with X-Accel-Remote-Url"
fi
# Archives: read by Python's zipfile (every CRC checked), the demo's the
# first time with no CRC known (each file read twice: CRC, then bytes) and
# again with them all cached (each file read once).
ARCHIVE_SECONDS=()
for dir in "$ARCH_SMALL" "$ARCH_LARGE"; do
    [ -d "$MEDIA/$dir" ] || continue
    for pass in cold warm; do
        started=$(now)
        curl -sS --fail --max-time 600 -o /dev/null "$(url_of demo-archive "$dir")" \
            || die "demo-archive: GET $dir failed"
        ARCHIVE_SECONDS+=("archive_${dir}_${pass}=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')")
    done
    curl -sS --fail --max-time 600 -o "$RUN/check.zip" "$(url_of demo-archive "$dir")" \
        || die "demo-archive: GET $dir failed"
    python3 - "$RUN/check.zip" "$MEDIA/$dir" <<'EOF_PY' || die "demo-archive: $dir is not the directory's zip"
import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
assert sorted(z.namelist()) == sorted(os.listdir(sys.argv[2])), "names"
EOF_PY
    rm -f "$RUN/check.zip"
done
if wants cached; then
    started=$(now)
    check_bytes demo-cached "$LARGE" "$(url_of demo-cached "$LARGE")"
    ARCHIVE_SECONDS+=("cache_fill=$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')")
    check_bytes demo-cached "$LARGE" "$(url_of demo-cached "$LARGE")"
fi
# The hand-off itself: the demo's own answer is empty, nginx fills it in.
handoff=$(curl -sS -D - -o "$RUN/check.body" "http://127.0.0.1:$P_DEMO/nginx/$SMALL")
grep -qi '^x-accel-redirect: /x-accel/small.bin' <<<"$handoff" \
    || die "the demo's /nginx/ route did not answer with X-Accel-Redirect"
[ ! -s "$RUN/check.body" ] || die "the demo's /nginx/ answer has a body"
rm -f "$RUN/check.body"
# 304 and HEAD on every server: the condition of a server's 304 row is
# If-None-Match with its own ETag, or, when it sends none,
# If-Modified-Since with its own Last-Modified.
declare -A CONDITION_OF
COND_SERVERS=(demo "${PEERS[@]}" nginx)
for server in "${COND_SERVERS[@]}"; do
    url="$(base_of "$server")/$SMALL"
    answer=$(curl -sS -D - -o /dev/null "$url" | tr -d '\r')
    etag=$(awk 'tolower($1) == "etag:" { print $2 }' <<<"$answer")
    modified=$(sed -n 's/^[Ll]ast-[Mm]odified: *//p' <<<"$answer")
    if [ -n "$etag" ]; then
        CONDITION_OF[$server]="If-None-Match: $etag"
    elif [ -n "$modified" ]; then
        CONDITION_OF[$server]="If-Modified-Since: $modified"
    else
        die "$server sent neither ETag nor Last-Modified"
    fi
    status=$(curl -sS -o /dev/null -w '%{http_code}' -H "${CONDITION_OF[$server]}" "$url")
    [ "$status" = 304 ] || die "$server: ${CONDITION_OF[$server]} answered $status, not 304"
    head_answer=$(curl -sS -I "$url" | tr -d '\r')
    grep -q '^HTTP/1.1 200' <<<"$head_answer" || die "$server: HEAD did not answer 200"
    grep -qi '^content-length: 1024$' <<<"$head_answer" || die "$server: HEAD did not state the length"
done

# ---------------------------------------------------------------- load
# wrk's Lua hook prints exact counters at the end of a run.
cat >"$RUN/get.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %.0f %.0f %.0f %.0f %.0f\n", summary.requests, summary.bytes,
    summary.duration, summary.requests > 0 and latency:percentile(99) or -1,
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
# oha's JSON summary, as the same counters.
cat >"$RUN/oha.py" <<'EOF'
import json, sys
s = json.load(sys.stdin)
summary = s["summary"]
seconds = summary.get("total") or float(sys.argv[1])
codes = s.get("statusCodeDistribution", {})
# Only the status the row expects counts (a 304 row answered 200 is an error).
ok = sum(n for code, n in codes.items() if code == sys.argv[2])
# Requests cut off by the deadline are not errors.
errors = sum(n for msg, n in s.get("errorDistribution", {}).items() if "deadline" not in msg)
errors += sum(n for code, n in codes.items() if code != sys.argv[2])
p99 = (s.get("latencyPercentiles") or {}).get("p99")
print("BENCH %d %d %d %d %d" % (ok, summary.get("totalData") or 0, seconds * 1e6,
                              -1 if p99 is None else p99 * 1e6, errors))
EOF

# The tool and the request of a row: oha's arguments, one a line.
uses_oha() { [ "$1" = cond ]; }
oha_args() {
    case $1 in
        *-head) printf '%s\n' -m HEAD ;;
        *-304) printf '%s\n' -H "${CONDITION_OF[${1%-304}]}" ;;
    esac
}
expected_status() {
    case $1 in
        *-304) echo 304 ;;
        *) echo 200 ;;
    esac
}

# Peak resident memory (KiB) of a row's processes over one run: the
# kernel's high-water mark, reset before the run through clear_refs; where
# that is not allowed, VmRSS polled every 50 ms.
rss_reset() {
    local pid ok=1
    for pid in "$@"; do
        echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || ok=0
    done
    [ "$ok" = 1 ]
}
rss_field() {
    local field=$1 pid total=0 value
    shift
    for pid in "$@"; do
        value=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${value:-0}))
    done
    echo "$total"
}

# record SCENARIO ROW ROUND REQUESTS BYTES DURATION_US P99_US RSS_KIB ERRORS:
# one result line, and its summary on stderr.
record() {
    local scenario=$1 row=$2 round=$3 requests=$4 bytes=$5 duration=$6 p99=$7 peak=$8 errors=$9
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$row" "$round" \
        "$requests" "$bytes" "$duration" "$p99" "$peak" "$errors" >>"$RESULTS"
    awk -v r="$requests" -v b="$bytes" -v d="$duration" -v p="$p99" -v m="$peak" \
        -v s="$scenario" -v n="$row" -v k="$round" 'BEGIN {
            printf "bench.sh:   %-17s %-13s round %s: %9.0f req/s %8.1f MB/s p99 %s rss %5.1f MiB\n",
                s, n, k, r / (d / 1e6), b / d,
                p < 0 ? "     n/a   " : sprintf("%8.2f ms", p / 1000), m / 1024 }' >&2
}

# measure SCENARIO ROW ROUND CONNECTIONS FILE SECONDS: one bounded load run.
measure() {
    local scenario=$1 row=$2 round=$3 conns=$4 file=$5 secs=$6
    local url pids out hwm=1 peak=0 now line requests bytes duration p99 errors
    local oha_extra=()
    url=$(url_of "$row" "$file")
    mapfile -t pids < <(pids_of "$row")
    out="$RUN/logs/load-$scenario-$row-$round.txt"
    rss_reset "${pids[@]}" || hwm=0
    if uses_oha "$scenario"; then
        mapfile -t oha_extra < <(oha_args "$row")
        timeout --kill-after=5 $((secs + 60)) "$OHA" --no-tui --output-format json --worker-threads 1 \
            -c "$conns" -z "${secs}s" "${oha_extra[@]}" "$url" >"$out.json" 2>"$out" &
    else
        timeout --kill-after=5 $((secs + 60)) wrk -t1 -c"$conns" -d"${secs}s" --timeout 60s \
            --latency -s "$RUN/get.lua" "$url" >"$out" 2>&1 &
    fi
    WRK_PID=$!
    if [ "$hwm" = 0 ]; then
        while kill -0 "$WRK_PID" 2>/dev/null; do
            now=$(rss_field VmRSS "${pids[@]}")
            [ "$now" -gt "$peak" ] && peak=$now
            sleep 0.05
        done
    fi
    if ! wait "$WRK_PID"; then
        WRK_PID=""
        cat "$out" >&2
        die "the load generator failed on $url"
    fi
    WRK_PID=""
    [ "$hwm" = 1 ] && peak=$(rss_field VmHWM "${pids[@]}")
    [ "$round" = warmup ] && return 0
    if uses_oha "$scenario"; then
        python3 "$RUN/oha.py" "$secs" "$(expected_status "$row")" <"$out.json" >>"$out" \
            || die "unreadable oha output ($out.json)"
    fi
    line=$(grep '^BENCH ' "$out" || true)
    [ -n "$line" ] || die "no result from the load generator on $url (see $out)"
    read -r _ requests bytes duration p99 errors <<<"$line"
    if [[ $scenario == sweep-size:* ]] && [ "$requests" -lt 2 ]; then
        log "  $row: wrk completed $requests request(s) of $file in $secs s: measuring with curl"
        measure_curl "$scenario" "$row" "$round" "$file"
        return 0
    fi
    record "$scenario" "$row" "$round" "$requests" "$bytes" "$duration" "$p99" "$peak" "$errors"
}

# measure_curl SCENARIO ROW ROUND FILE: CURL_DOWNLOADS downloads in a row
# with curl, for a file too large for wrk to finish twice in its time:
# MB/s from all of them, and as p99 the slowest (of 3, the closest a
# percentile gets).
CURL_DOWNLOADS=3
CURL_POINTS=()
measure_curl() {
    local scenario=$1 row=$2 round=$3 file=$4
    local url pids peak=0 i size seconds bytes=0 total_us=0 slowest_us=0 us
    url=$(url_of "$row" "$file")
    mapfile -t pids < <(pids_of "$row")
    rss_reset "${pids[@]}" || true
    for i in $(seq "$CURL_DOWNLOADS"); do
        read -r size seconds < <(curl -sS --fail --max-time 600 -o /dev/null \
            -w '%{size_download} %{time_total}\n' "$url") || die "$row: GET $url failed"
        us=$(awk -v s="$seconds" 'BEGIN { printf "%.0f", s * 1e6 }')
        bytes=$((bytes + size))
        total_us=$((total_us + us))
        [ "$us" -gt "$slowest_us" ] && slowest_us=$us
    done
    peak=$(rss_field VmHWM "${pids[@]}")
    CURL_POINTS+=("$scenario/$row")
    record "$scenario" "$row" "$round" "$CURL_DOWNLOADS" "$bytes" "$total_us" "$slowest_us" "$peak" 0
}

# scenario NAME CONNECTIONS FILE ROW...: warm-up, then ROUNDS rounds, each
# running every row once, starting one further along each round. The
# sweeps run each point as a scenario with their own seconds, rounds and
# warm-up (SCENARIO_SECS, SCENARIO_ROUNDS, SCENARIO_WARMUP).
scenario() {
    local name=$1 conns=$2 file=$3
    shift 3
    local rows=("$@") count=$# round i row
    local secs=${SCENARIO_SECS:-$SECS} rounds=${SCENARIO_ROUNDS:-$ROUNDS} warmup=${SCENARIO_WARMUP:-$WARMUP}
    log "scenario $name: $file, $conns connection(s), $secs s x $rounds round(s) x $count row(s)"
    stop_rust_servers
    start_rust_servers
    # The first archive after a start reads each file twice (CRC, then
    # bytes): one request first, so the rounds measure the steady state.
    for row in "${rows[@]}"; do
        case $row in
            demo-archive | demo-cached)
                curl -sS --fail --max-time 600 -o /dev/null "$(url_of "$row" "$file")" \
                    || die "$row: GET $file failed"
                ;;
        esac
    done
    if [ "$warmup" -gt 0 ]; then
        for row in "${rows[@]}"; do
            measure "$name" "$row" warmup "$conns" "$file" "$warmup"
        done
    fi
    for round in $(seq "$rounds"); do
        for i in $(seq 0 $((count - 1))); do
            measure "$name" "${rows[$(((i + round - 1) % count))]}" "$round" "$conns" \
                "$file" "$secs"
        done
    done
}
# sweep_point NAME CONNECTIONS FILE SECONDS: one point of a sweep, on the
# demo, the peers and nginx.
sweep_point() {
    SCENARIO_SECS=$4 SCENARIO_ROUNDS=$SWEEP_ROUNDS SCENARIO_WARMUP=$SWEEP_WARMUP \
        scenario "$1" "$2" "$3" demo "${PEERS[@]}" nginx
}

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git diff --quiet HEAD -- axum-download axum-download-macros examples 2>/dev/null; then
    COMMIT="$COMMIT + uncommitted changes"
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
COLLECT=0
for name in $SCENARIOS; do
    case $name in
        collect) COLLECT=1 ;; # after the report, which it extends
        small) scenario small "$CONNS" "$SMALL" demo servedir actix nginx nginx-demo "${KA_ROW[@]}" ;;
        medium) scenario medium 4 "$MEDIUM" demo servedir actix nginx nginx-demo ;;
        large1) scenario large1 1 "$LARGE" demo servedir actix nginx nginx-demo nginx-nn ;;
        large8) scenario large8 8 "$LARGE" demo servedir actix nginx ;;
        relay) scenario relay 1 "$LARGE" demo-relay nginx nginx-nn ;;
        cond)
            rows=()
            for server in "${COND_SERVERS[@]}"; do rows+=("$server" "$server-head" "$server-304"); done
            scenario cond "$CONNS" "$SMALL" "${rows[@]}"
            ;;
        sweep-conns)
            for conns in "${SWEEP_CONNS[@]}"; do
                sweep_point "sweep-conns:$conns" "$conns" "$SMALL" "$SWEEP_SECS"
            done
            ;;
        sweep-size)
            # One connection: each point is one stream, and p99 the time of
            # one download.
            for kib in "${SWEEP_SIZES_KIB[@]}"; do
                secs=$SWEEP_SECS
                if [ "$kib" -gt $((256 * 1024)) ]; then secs=$SWEEP_LARGE_SECS; fi
                sweep_point "sweep-size:$((kib * 1024))" 1 "$(sweep_file "$kib")" "$secs"
            done
            ;;
        static-small)
            scenario static-small "$CONNS" "$STATIC_SMALL" demo-static servedir-pc actix nginx
            ;;
        static-large) scenario static-large 1 "$STATIC_LARGE" demo-static servedir-pc actix nginx ;;
        s3large) scenario s3large 1 "$LARGE" s3-direct demo-s3 nginx-demo-s3 ;;
        s3small) scenario s3small "$CONNS" "$SMALL" s3-direct demo-s3 nginx-demo-s3 ;;
        zip-small) scenario zip-small 4 "$ARCH_SMALL" demo-archive nginx-zip ;;
        zip-large) scenario zip-large 1 "$ARCH_LARGE" demo-archive nginx-zip ;;
        cached) scenario cached 1 "$LARGE" demo-cached demo-relay nginx ;;
        *) die "unknown scenario '$name' ($ALL_SCENARIOS)" ;;
    esac
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- micro
MICRO_DIR=""
if [ "$MICRO" = 1 ]; then
    log "running the criterion micro-benchmarks (shortened)"
    rm -rf "$BENCH_TARGET/criterion"
    CARGO_TARGET_DIR=$BENCH_TARGET cargo bench --manifest-path bench/Cargo.toml -p micro -- \
        --warm-up-time 1 --measurement-time 2 --noplot >"$RUN/logs/micro.txt" 2>&1 \
        || {
            cat "$RUN/logs/micro.txt" >&2
            die "cargo bench failed"
        }
    MICRO_DIR=$BENCH_TARGET/criterion
fi

# ---------------------------------------------------------------- report
mem_kib=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)
# Which header each server's 304 row sent, and which sweep points curl measured.
CONDITIONS=()
for server in "${!CONDITION_OF[@]}"; do
    CONDITIONS+=("condition_$server=${CONDITION_OF[$server]%%:*}")
done
OHA_VERSION=""
if [ "$WANT_OHA" = 1 ]; then OHA_VERSION=$("$OHA" --version 2>/dev/null | head -n1); fi
"$REPORT_PYTHON" "$ROOT/bench/report.py" \
    --results "$RESULTS" \
    --out "$OUT" \
    --plots "$PLOTS" \
    --micro "$MICRO_DIR" \
    --set "cpu=$(awk -F': ' '$1 ~ /^model name/ { print $2; exit }' /proc/cpuinfo)" \
    --set "nproc=$(nproc)" \
    --set "memory=$((mem_kib / 1024 / 1024)) GiB" \
    --set "kernel=$(uname -sr)" \
    --set "rustc=$(rustc --version)" \
    --set "wrk=$(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)" \
    --set "nginx=$("$NGINX" -v 2>&1 | sed 's/^nginx version: //')" \
    --set "date=$STARTED" \
    --set "commit=$COMMIT" \
    --set "load_before=$LOAD_BEFORE" \
    --set "load_after=$LOAD_AFTER" \
    --set "seconds=$SECS" \
    --set "rounds=$ROUNDS" \
    --set "warmup=$WARMUP" \
    --set "connections=$CONNS" \
    --set "large_mib=$LARGE_MIB" \
    --set "static_large_mib=$STATIC_LARGE_MIB" \
    --set "quick=$QUICK" \
    --set "oha=$OHA_VERSION" \
    --set "sweep_seconds=$SWEEP_SECS" \
    --set "sweep_large_seconds=$SWEEP_LARGE_SECS" \
    --set "sweep_rounds=$SWEEP_ROUNDS" \
    --set "sweep_warmup=$SWEEP_WARMUP" \
    --set "curl_downloads=$CURL_DOWNLOADS" \
    --set "curl_points=${CURL_POINTS[*]}" \
    "${CONDITIONS[@]/#/--set=}" "${ZIP_SECONDS[@]/#/--set=}" "${ARCHIVE_SECONDS[@]/#/--set=}"
log "wrote $OUT"

# The collect scenario: our collectstatic against Django's and WhiteNoise's
# over one generated tree, a section appended to the report.
if [ "$COLLECT" = 1 ]; then
    # shellcheck source=scripts/django-venv.sh
    . scripts/django-venv.sh
    DJANGO_PYTHON=$(django_venv)
    stop_rust_servers
    log "collect: $COLLECT_FILES files, $COLLECT_ROUNDS round(s): ours, Django, WhiteNoise"
    timeout 900 python3 "$ROOT/bench/collect.py" --ours "$ROOT_TARGET/release/collectstatic" \
        --python "$DJANGO_PYTHON" --out "$OUT" --files "$COLLECT_FILES" \
        --rounds "$COLLECT_ROUNDS" --work "$RUN" || die "the collect scenario failed"
    log "appended the collect scenario to $OUT"
fi

# The bigger round of the hardening load test (./scripts/test.sh runs 1,000
# in a debug build): many concurrent downloads, bytes checked, descriptors
# and memory back to their baseline afterwards.
if [ "$LOAD_N" != 0 ]; then
    log "load test: $LOAD_N concurrent downloads of 10 MiB (release)"
    load_log="$(mktemp)"
    if AXUM_DOWNLOAD_LOAD_DOWNLOADS="$LOAD_N" timeout 600 \
        cargo test --release -p axum-download --test load \
        concurrent_downloads -- --nocapture >"$load_log" 2>&1; then
        load_result=passed
    else
        load_result=FAILED
    fi
    {
        printf '\n## Load (the hardening test, bigger, in release)\n\n'
        printf '`AXUM_DOWNLOAD_LOAD_DOWNLOADS=%s cargo test --release -p axum-download --test load`: **%s**.\n\n' "$LOAD_N" "$load_result"
        printf '```text\n'
        grep -vE '^(running|test |$)|^\s*(Compiling|Finished|Running)' "$load_log" | head -n 20
        printf '```\n'
    } >>"$OUT"
    rm -f "$load_log"
    log "appended the load test to $OUT"
fi
