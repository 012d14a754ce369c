#!/usr/bin/env bash
# The image as far as it can be proven without a Docker engine: the binary
# built by packaging/build.sh (the Dockerfile's own build line), in a root
# holding only what the Dockerfile's final stage copies (plus /proc, which a
# container gets), run as the image's user: --version, --config.check with
# IANA zones (no zoneinfo in the root: the database must be in the binary)
# and a scrape of the demo. Needs root (chroot, unshare).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pid=
# unshare ignores SIGTERM and its child outlives it: stop the exporter itself.
cleanup() {
  if [ -n "$pid" ]; then
    kill -KILL $(cat "/proc/$pid/task/$pid/children" 2>/dev/null) 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "image-root: $*" >&2; exit 1; }

# What the final stage copies, and as whom it runs, read from the Dockerfile.
user=$(sed -n 's/^USER \([0-9]*\):\([0-9]*\)$/\1:\2/p' Dockerfile)
[ "$user" = "10141:10141" ] || fail "Dockerfile: USER is '$user', want 10141:10141"
copies=$(sed -n '/^FROM scratch/,$s/^COPY --from=build \([^ ]*\) \([^ ]*\)$/\1 \2/p' Dockerfile)
want='/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
/out/passwd /etc/passwd
/out/group /etc/group
/out/etc/voicetrends_exporter /etc/voicetrends_exporter
/out/voicetrends_exporter /bin/voicetrends_exporter'
[ "$copies" = "$want" ] || fail "the Dockerfile's final stage copies something else; update this test:
$copies"
grep -q 'packaging/build.sh /out/voicetrends_exporter' Dockerfile || fail "the Dockerfile no longer builds with packaging/build.sh"

root=$tmp/root
mkdir -p "$root/etc/ssl/certs" "$root/etc/voicetrends_exporter" "$root/bin" "$root/proc" "$root/run/secrets"
VERSION=image-test REVISION=$(git rev-parse HEAD) packaging/build.sh "$root/bin/voicetrends_exporter"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
# The Dockerfile's passwd and group lines, as it writes them.
sed -n "s/.*echo '\(voicetrends:x:10141:10141:[^']*\)' >\/out\/passwd.*/\1/p" Dockerfile >"$root/etc/passwd"
sed -n "s/.*echo '\(voicetrends:x:10141:\)' >\/out\/group.*/\1/p" Dockerfile >"$root/etc/group"
[ -s "$root/etc/passwd" ] && [ -s "$root/etc/group" ] || fail "cannot find the passwd/group lines in the Dockerfile"
# What an operator mounts: the config and the password as a compose secret.
cat >"$root/etc/voicetrends_exporter/voicetrends.yml" <<'YAML'
accounts:
  - {name: kathmandu, tool: dev, login: a, password_file: /run/secrets/voicetrends_password, timezone: Asia/Kathmandu}
  - {name: lordhowe, tool: dev, login: b, password_file: /run/secrets/voicetrends_password, timezone: Australia/Lord_Howe}
YAML
printf 's3cr3t' >"$root/run/secrets/voicetrends_password"
chown 10141:10141 "$root/run/secrets/voicetrends_password"
chmod 0400 "$root/run/secrets/voicetrends_password"
[ ! -e "$root/usr/share/zoneinfo" ] || fail "the root has a zone database"

# in_image runs the image's entrypoint with args, as the image's user, in a
# fresh mount and PID namespace whose /proc is the container's own. It execs,
# so call it in a subshell.
in_image() {
  exec unshare --mount --pid --fork --kill-child=SIGTERM --mount-proc="$root/proc" \
    chroot --userspec="$user" "$root" /bin/voicetrends_exporter "$@"
}

(in_image --version) 2>&1 | tee "$tmp/version"
grep -q "version image-test (\(branch: [^,]*, \)\{0,1\}revision: $(git rev-parse HEAD))" "$tmp/version" || fail "--version does not show the stamped version and revision"
(in_image --config.file=/etc/voicetrends_exporter/voicetrends.yml --config.check) | tee "$tmp/check"
grep -q 'configuration is valid: 2 account(s)' "$tmp/check" || fail "--config.check did not accept the IANA zones"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
in_image --demo --web.listen-address="127.0.0.1:$port" >"$tmp/demo.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/demo.log"; fail "the demo exited"; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$port/metrics" >"$tmp/metrics" || { cat "$tmp/demo.log"; fail "no scrape"; }
grep -q '^voicetrends_calls{account="support",period="day",phone="ALL",window="current"}' "$tmp/metrics" || { cat "$tmp/demo.log"; fail "the demo scrape has no figures"; }
grep -q '^voicetrends_exporter_build_info{.*version="image-test"' "$tmp/metrics" || fail "build_info lacks the version"
grep -q '^process_open_fds ' "$tmp/metrics" || fail "no process metrics"
# SIGTERM to the exporter, PID 1 of its namespace as in a container (unshare
# itself ignores SIGTERM); it has 8 seconds, Docker gives 10.
child=$(cat "/proc/$pid/task/$pid/children")
kill -TERM $child
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$pid" 2>/dev/null && { kill -KILL $child; fail "the demo did not stop within 10s of SIGTERM"; }
wait "$pid" || fail "the demo did not exit 0 on SIGTERM"
pid=
echo "image root: $(du -sh "$root" | cut -f1), runs as $user: version, config check with Asia/Kathmandu and Australia/Lord_Howe, demo scrape ($(grep -c '^voicetrends_' "$tmp/metrics") voicetrends samples)"
