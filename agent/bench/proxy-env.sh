# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A real proxy on loopback for the demo and the benchmark: an nginx upstream,
# haproxy (2 threads) in front of it and wrk as the client, all from Debian
# packages, with their own configs and logs under a temp dir, on free ports.
# Source this file, then: proxy_start; wrk_run SECONDS; proxy_stop.
# Every process started here is stopped by proxy_stop (call it from a trap).
# PROXY_PIN=1 (set before proxy_start) pins each process to a CPU: haproxy's
# two threads one per CPU (cpu-map), nginx on CPU 0, wrk on CPU 1, so that
# every run of a benchmark has the same placement of the four busy threads
# on two CPUs (left to the scheduler, one quiet run flipped between ~15,000
# and ~26,000 requests/s for tens of seconds at a time: docs/performance.md,
# "Agent capture").

PROXY_DIR=""
PROXY_PORT=""
UPSTREAM_PORT=""
NGINX_PID=""
HAPROXY_PID=""

proxy_say() { printf '%s: %s\n' "${PROXY_SAY_PREFIX:-proxy}" "$*" >&2; }

# A TCP port nobody listens on (ss from iproute2 lists the ones in use).
free_port() {
	local port
	for port in $(seq "$1" $(($1 + 200))); do
		if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

proxy_start() {
	local p
	for p in nginx haproxy wrk ss; do
		command -v "$p" >/dev/null || { proxy_say "$p is missing: run scripts/setup"; return 1; }
	done
	PROXY_DIR=$(mktemp -d /tmp/wakeflow-proxy.XXXXXX)
	UPSTREAM_PORT=$(free_port 18080) || { proxy_say "no free port for nginx"; return 1; }
	PROXY_PORT=$(free_port $((UPSTREAM_PORT + 1))) || { proxy_say "no free port for haproxy"; return 1; }
	mkdir -p "$PROXY_DIR/nginx"
	cat >"$PROXY_DIR/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $PROXY_DIR/nginx.pid;
error_log $PROXY_DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $PROXY_DIR/nginx;
	proxy_temp_path $PROXY_DIR/nginx;
	fastcgi_temp_path $PROXY_DIR/nginx;
	uwsgi_temp_path $PROXY_DIR/nginx;
	scgi_temp_path $PROXY_DIR/nginx;
	server {
		listen 127.0.0.1:$UPSTREAM_PORT;
		keepalive_requests 100000;
		location / { return 200 "hello from the upstream\n"; }
	}
}
EOF
	local cpumap="" pin_nginx=()
	if [ -n "${PROXY_PIN:-}" ]; then
		cpumap="cpu-map auto:1/1-2 0-1"
		pin_nginx=(taskset -c 0)
	fi
	cat >"$PROXY_DIR/haproxy.cfg" <<EOF
global
	nbthread 2
	$cpumap
	maxconn 4096
defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	option http-keep-alive
frontend fe
	bind 127.0.0.1:$PROXY_PORT
	default_backend be
backend be
	http-reuse always
	server up 127.0.0.1:$UPSTREAM_PORT maxconn 256
EOF
	"${pin_nginx[@]}" nginx -c "$PROXY_DIR/nginx.conf" -p "$PROXY_DIR" >"$PROXY_DIR/nginx.out" 2>&1 &
	NGINX_PID=$!
	haproxy -f "$PROXY_DIR/haproxy.cfg" -db >"$PROXY_DIR/haproxy.out" 2>&1 &
	HAPROXY_PID=$!
	# Ready when a request goes through end to end.
	for _ in $(seq 50); do
		if { exec 3<>"/dev/tcp/127.0.0.1/$PROXY_PORT"; } 2>/dev/null; then
			printf 'GET / HTTP/1.0\r\n\r\n' >&3
			if grep -q "hello from the upstream" <&3; then
				exec 3>&-
				return 0
			fi
			exec 3>&-
		fi
		sleep 0.1
	done
	proxy_say "the proxy did not come up; logs in $PROXY_DIR"
	cat "$PROXY_DIR/haproxy.out" "$PROXY_DIR/nginx.out" >&2
	return 1
}

# wrk_run SECONDS [CONNECTIONS]: prints requests/s.
wrk_run() {
	local out pin=()
	[ -z "${PROXY_PIN:-}" ] || pin=(taskset -c 1)
	out=$("${pin[@]}" wrk -t 1 -c "${2:-32}" -d "${1}s" "http://127.0.0.1:$PROXY_PORT/" 2>&1) || { echo "$out" >&2; return 1; }
	echo "$out" >"$PROXY_DIR/wrk.last"
	awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}

proxy_stop() {
	local pid
	for pid in $HAPROXY_PID $NGINX_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	HAPROXY_PID=""
	NGINX_PID=""
	[ -z "$PROXY_DIR" ] || rm -rf "$PROXY_DIR"
	PROXY_DIR=""
	return 0
}
