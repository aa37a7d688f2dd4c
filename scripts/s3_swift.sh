#!/usr/bin/env bash
# A real S3-compatible object store on 127.0.0.1 for the relay tests and measurements: OpenStack Swift
# (Debian's swift-proxy, swift-account, swift-container, swift-object) with its s3api middleware and
# tempauth, one device, one replica, data in DIR. See ../shared/TOOLCHAIN.md for what it takes.
#
#   scripts/s3_swift.sh DIR
#
# Prints `ready http://127.0.0.1:PORT ACCESS_KEY SECRET` on stdout once the proxy answers, then keeps
# the servers running until its stdin closes (the test process that started it ended) or it gets
# SIGTERM; then it stops them all. Exit 3 when Swift is not installed (the caller decides whether that
# is a skip or a failure), 1 when it would not start.
set -euo pipefail

DIR=${1:?usage: s3_swift.sh DIR}
for bin in swift-proxy-server swift-account-server swift-container-server swift-object-server \
    swift-ring-builder memcached; do
    if ! command -v "$bin" >/dev/null 2>&1; then
        echo "missing $bin: apt-get install -y --no-install-recommends swift-proxy swift-account swift-container swift-object memcached" >&2
        exit 3
    fi
done
if ! id swift >/dev/null 2>&1; then
    echo "missing the swift user (installed with the swift packages)" >&2
    exit 3
fi

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
# Every folder above the data must be traversable by the swift user (mktemp -d makes 0700).
d=$DIR
while [ "$d" != "/" ]; do
    chmod o+x "$d" 2>/dev/null || true
    d=$(dirname "$d")
done
mkdir -p "$DIR/srv/d1" "$DIR/run" "$DIR/cache"

# Free ports on 127.0.0.1, chosen by the kernel.
read -r P_PROXY P_ACC P_CON P_OBJ P_MC < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(5)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])
for s in ss: s.close()')

ACCESS_KEY="relay:tester"
SECRET="relay-test-secret-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"

for kind in account container object; do
    case $kind in
        account) port=$P_ACC ;;
        container) port=$P_CON ;;
        object) port=$P_OBJ ;;
    esac
    swift-ring-builder "$DIR/$kind.builder" create 0 1 1 >/dev/null
    swift-ring-builder "$DIR/$kind.builder" add "r1z1-127.0.0.1:$port/d1" 1 >/dev/null
    swift-ring-builder "$DIR/$kind.builder" rebalance >/dev/null || true
    cat >"$DIR/$kind-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 0
user = swift
swift_dir = $DIR
devices = $DIR/srv
mount_check = false
log_level = WARNING
log_name = $kind-server
log_facility = LOG_LOCAL2

[pipeline:main]
pipeline = $kind-server

[app:$kind-server]
use = egg:swift#$kind
EOF
done

cat >"$DIR/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $P_PROXY
workers = 0
user = swift
swift_dir = $DIR
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_relay_tester = $SECRET .admin

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$P_MC

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
EOF

chown -R swift:swift "$DIR/srv" "$DIR/run" "$DIR/cache"

PIDS=()
stop() {
    for pid in "${PIDS[@]}"; do
        # Each Swift server calls setsid: its process group carries its id.
        kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' TERM INT

memcached -u swift -l 127.0.0.1 -p "$P_MC" -U 0 >"$DIR/memcached.log" 2>&1 &
PIDS+=($!)
for kind in account container object proxy; do
    "swift-$kind-server" "$DIR/$kind-server.conf" >"$DIR/$kind.log" 2>&1 &
    PIDS+=($!)
done

# Ready when GET /info answers (not /healthcheck: that answers before the rings are loaded).
for _ in $(seq 1 120); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$P_PROXY/info', timeout=1)" \
        >/dev/null 2>&1; then
        echo "ready http://127.0.0.1:$P_PROXY $ACCESS_KEY $SECRET"
        # Until the caller goes away (stdin closes).
        while read -r _; do :; done
        exit 0
    fi
    sleep 0.25
done
echo "Swift did not start; logs in $DIR" >&2
tail -n 20 "$DIR"/*.log >&2 || true
exit 1
