#!/bin/sh
# compare-answers.sh BEFORE AFTER DB: the same store served by two builds of
# bench-query (--serve), every request below sent to both, the bodies
# compared byte for byte. Every request goes to AFTER twice, and both of its
# answers must equal BEFORE's: the second is answered from what the first
# left in memory (the edges' block sums, edge_blocks.h; the series' decoded
# totals, series_blocks.h). Prints one line per
# request and exits 1 if any answer differs. No BPF, no root: run it outside
# the BPF lock.
#   agent/bench/compare-answers.sh /tmp/bench-query.before agent/build/bench-query /tmp/q.db
set -eu
[ $# -eq 3 ] || { echo "usage: $0 BEFORE-BENCH-QUERY AFTER-BENCH-QUERY DB" >&2; exit 2; }
before=$1 after=$2 db=$3
tmp=$(mktemp -d /tmp/wakeflow-compare.XXXXXX)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

start() { # start BIN NAME: serves for 10 minutes; waits for its "port N to MS" line
	"$1" --db "$db" --serve 600 >"$tmp/$2.out" 2>"$tmp/$2.err" &
	pids="$pids $!"
	for _ in $(seq 300); do grep -q '^port' "$tmp/$2.out" 2>/dev/null && return; sleep 0.1; done
	echo "$2 did not start: $(cat "$tmp/$2.err")" >&2; exit 1
}
start "$before" before
start "$after" after
bport=$(awk '/^port/{print $2}' "$tmp/before.out")
aport=$(awk '/^port/{print $2}' "$tmp/after.out")
to=$(awk '/^port/{print $4}' "$tmp/before.out")
h=$((to - 3600000)) d=$((to - 86400000)) m=$((to - 600000))

status=0
n=0
while read -r path; do
	[ -n "$path" ] || continue
	n=$((n + 1))
	curl -sf "http://127.0.0.1:$bport$path" >"$tmp/b" || { echo "FAIL before: $path"; status=1; continue; }
	curl -sf "http://127.0.0.1:$aport$path" >"$tmp/a" || { echo "FAIL after: $path"; status=1; continue; }
	curl -sf "http://127.0.0.1:$aport$path" >"$tmp/a2" || { echo "FAIL after (again): $path"; status=1; continue; }
	# The two daemons started a moment apart: their uptimes may differ by a second.
	for f in b a a2; do sed -i 's/"uptime_s":[0-9]*/"uptime_s":0/' "$tmp/$f"; done
	if ! cmp -s "$tmp/b" "$tmp/a"; then
		echo "DIFF  $path: $(cmp "$tmp/b" "$tmp/a" | head -1)"
		status=1
	elif ! cmp -s "$tmp/b" "$tmp/a2"; then
		echo "DIFF  $path (asked again): $(cmp "$tmp/b" "$tmp/a2" | head -1)"
		status=1
	else
		echo "same  $(wc -c <"$tmp/a") B  $path"
	fi
done <<LIST
/api/v1/edges?from=$h&to=$to&limit=1000&sort=offcpu
/api/v1/edges?from=$h&to=$to&limit=1000&sort=count
/api/v1/edges?from=$h&to=$to&limit=1000&sort=runq
/api/v1/edges?from=$m&to=$to&limit=100
/api/v1/edges?from=$d&to=$to&limit=1000
/api/v1/edges?from=$h&to=$to&limit=50&category=net
/api/v1/edges?from=$((h - 123456))&to=$((to - 654321))&limit=1000
/api/v1/edges?from=$((to - 10800000))&to=$to&limit=1000&sort=count
/api/v1/edges?from=$((h + 45000))&to=$((to - 7000))&limit=200&sort=runq
/api/v1/series?from=$d&to=$to&step=86400&metric=offcpu&by=category
/api/v1/series?from=$d&to=$to&metric=wakeups&by=activity
/api/v1/series?from=$d&to=$to&metric=runq&by=target
/api/v1/series?from=$h&to=$to&step=10000&metric=offcpu&by=pod
/api/v1/series?from=$d&to=$to&metric=preempt_ratio&by=role
/api/v1/series?from=$d&to=$to&metric=preempt_count_ratio&by=workload
/api/v1/series?from=$h&to=$to&metric=oncpu&by=target
/api/v1/series?from=$h&to=$to&metric=throttled&by=pod
/api/v1/series?from=$d&to=$to&step=60000&metric=preempted&by=thread
/api/v1/series?from=$((d + 123456))&to=$((to - 654321))&step=120000&metric=runq&by=category
/api/v1/series?from=$d&to=$to&step=300000&metric=wakeups&by=role&category=net
/api/v1/series?from=$((to - 21600000))&to=$to&step=60000&metric=switches&by=thread
/api/v1/series?from=$((to - 10800000 - 30000))&to=$to&step=180000&metric=involuntary&by=pod
/api/v1/series?from=$d&to=$((to - 3600000))&step=600000&metric=offcpu&by=activity&role=worker
/api/v1/status
/api/v1/targets
/api/v1/categories
LIST
echo "$n requests, $(test $status = 0 && echo 'all the same' || echo 'some differ')"
exit $status
