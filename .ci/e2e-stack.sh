#!/usr/bin/env bash
# End-to-end proof of the dashboards and rules against a real Prometheus.
#
#   bash .ci/e2e-stack.sh PATH_TO_voicetrends_exporter
#
# Starts the exporter in demo mode and Prometheus (Debian package `prometheus`, which
# also brings promtool) on free loopback ports, with a 2s scrape interval and the
# shipped prometheus/rules.yml; then
#   - `promtool check metrics` on a real scrape of /metrics must report nothing;
#   - the Go test TestE2EStack (dashboards/e2e_test.go) runs every dashboard query
#     with real variable values, every variable query and every recording rule, and
#     fails on an empty result or an unhealthy rule.
# Everything it starts is stopped on exit. Environment: E2E_WAIT (default 120s)
# bounds the wait for data; E2E_KEEP=1 keeps the temporary directory for debugging.
set -euo pipefail

if [[ $# -ne 1 ]]; then
	echo "usage: bash .ci/e2e-stack.sh PATH_TO_voicetrends_exporter" >&2
	exit 2
fi
exporter_bin=$(realpath "$1")
if [[ ! -x "$exporter_bin" ]]; then
	echo "e2e-stack: $1 is not an executable file; build it first (go build -o $1 .)" >&2
	exit 2
fi
for tool in prometheus promtool curl go; do
	if ! command -v "$tool" >/dev/null; then
		echo "e2e-stack: $tool not found; install the Debian package: apt-get install -y prometheus curl (go: the Go toolchain)" >&2
		exit 1
	fi
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wait_for=${E2E_WAIT:-120s}
wait_seconds=${wait_for%s}
work=$(mktemp -d "${TMPDIR:-/tmp}/voicetrends-e2e.XXXXXX")
pids=()

cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 ]]; then
		echo "e2e-stack: FAILED (exit $rc); last lines of the logs:" >&2
		for log in "$work"/*.log; do
			[[ -f "$log" ]] || continue
			echo "---- $log" >&2
			tail -n 30 "$log" >&2
		done
	fi
	if [[ "${E2E_KEEP:-}" == 1 ]]; then
		echo "e2e-stack: kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port prints a loopback TCP port nothing listens on. Another process could
# take it before we bind, which only makes the run fail loudly, never pass wrongly.
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "e2e-stack: no free port found" >&2
	return 1
}

# wait_http URL NAME PID: wait until URL answers 200, while PID still runs.
wait_http() {
	local url=$1 name=$2 pid=$3
	for _ in $(seq 1 "$wait_seconds"); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "e2e-stack: $name exited before serving $url" >&2
			return 1
		fi
		if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
			return 0
		fi
		sleep 1
	done
	echo "e2e-stack: $name did not serve $url within $wait_for" >&2
	return 1
}

exporter_port=$(free_port)
"$exporter_bin" --demo --web.listen-address="127.0.0.1:$exporter_port" --log.level=info \
	>"$work/exporter.log" 2>&1 &
pids+=($!)
exporter_pid=$!
wait_http "http://127.0.0.1:$exporter_port/metrics" exporter "$exporter_pid"
echo "e2e-stack: exporter (demo) on 127.0.0.1:$exporter_port"

prom_port=$(free_port)
while [[ "$prom_port" == "$exporter_port" ]]; do prom_port=$(free_port); done
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files:
  - $repo/prometheus/rules.yml
scrape_configs:
  - job_name: voicetrends
    static_configs:
      - targets: ["127.0.0.1:$exporter_port"]
EOF
promtool check config "$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" \
	--storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$prom_port" \
	--log.level=warn \
	>"$work/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!
wait_http "http://127.0.0.1:$prom_port/-/ready" prometheus "$prom_pid"
echo "e2e-stack: prometheus on 127.0.0.1:$prom_port"

# promtool check metrics exits non-zero on some problems and only prints others,
# so any output at all fails the run. Wait until the demo figures are in the
# scrape, then lint that scrape.
for _ in $(seq 1 "$wait_seconds"); do
	curl -fsS --max-time 5 "http://127.0.0.1:$exporter_port/metrics" >"$work/metrics.txt"
	if grep -q '^voicetrends_calls{' "$work/metrics.txt"; then
		break
	fi
	sleep 1
done
if ! grep -q '^voicetrends_calls{' "$work/metrics.txt"; then
	echo "e2e-stack: no voicetrends_calls in the exporter's /metrics within $wait_for" >&2
	exit 1
fi
if ! lint=$(promtool check metrics <"$work/metrics.txt" 2>&1) || [[ -n "$lint" ]]; then
	echo "e2e-stack: promtool check metrics found problems in the scrape:" >&2
	echo "$lint" >&2
	exit 1
fi
echo "e2e-stack: promtool check metrics: clean ($(grep -vc '^#' "$work/metrics.txt") samples)"

cd "$repo"
VOICETRENDS_E2E_PROMETHEUS_URL="http://127.0.0.1:$prom_port" VOICETRENDS_E2E_WAIT="$wait_for" \
	go test -count=1 -run '^TestE2EStack$' -v ./dashboards/
echo "e2e-stack: OK"
