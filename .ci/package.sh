#!/usr/bin/env bash
# The Debian package and the systemd units: builds the .deb with nfpm (from
# the Go module proxy), checks its metadata and contents with dpkg-deb,
# extracts it into a temporary root and runs the binary from there
# (--version, --config.check of the shipped example config with the password
# where systemd's LoadCredential= would put it), and verifies the shipped
# units with systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/.."
nfpm_module=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "package: $*" >&2; exit 1; }

revision=$(git rev-parse HEAD)
version="0.0.0+git${revision:0:12}"
arch=$(go env GOARCH)
VERSION=$version REVISION=$revision packaging/build.sh dist/voicetrends_exporter
VERSION=$version GOARCH=$arch GOFLAGS= go run "$nfpm_module" package \
  --config packaging/nfpm.yaml --packager deb --target "$tmp/"
deb=$tmp/voicetrends-exporter_${version}_${arch}.deb
[ -f "$deb" ] || fail "nfpm made no $deb"

dpkg-deb --info "$deb" | sed 's/^/  /'
[ "$(dpkg-deb --field "$deb" Package)" = voicetrends-exporter ] || fail "Package"
[ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "Version"
[ "$(dpkg-deb --field "$deb" Architecture)" = "$arch" ] || fail "Architecture"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | sort >"$tmp/control"
for f in ./conffiles ./control ./md5sums ./preinst ./postinst ./prerm ./postrm; do
  grep -qx "$f" "$tmp/control" || fail "control archive lacks $f"
done
dpkg-deb --contents "$deb" | awk '{print $1, $2, $6}' | grep -v '/$' | sort >"$tmp/contents"
cat >"$tmp/want" <<'LIST'
-rw-r--r-- root/root ./etc/default/voicetrends_exporter
-rw-r--r-- root/root ./etc/voicetrends_exporter/voicetrends.yml
-rw-r--r-- root/root ./lib/systemd/system/voicetrends_exporter.service
-rw-r--r-- root/root ./lib/systemd/system/voicetrends_exporter.socket
-rw-r--r-- root/root ./usr/share/doc/voicetrends-exporter/README.md
-rwxr-xr-x root/root ./usr/bin/voicetrends_exporter
LIST
sort -o "$tmp/want" "$tmp/want"
diff -u "$tmp/want" "$tmp/contents" || fail "unexpected package contents"
mkdir "$tmp/ctrl"
dpkg-deb --control "$deb" "$tmp/ctrl"
printf '/etc/default/voicetrends_exporter\n/etc/voicetrends_exporter/voicetrends.yml\n' | diff -u - <(sort "$tmp/ctrl/conffiles") || fail "conffiles"
for s in preinst postinst prerm postrm; do sh -n "$tmp/ctrl/$s" || fail "$s does not parse"; done
grep -q 'useradd --system' "$tmp/ctrl/preinst" || fail "preinst creates no system user"

root=$tmp/root
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/voicetrends_exporter" --version 2>&1 | tee "$tmp/version"
grep -q "version $version (\(branch: [^,]*, \)\{0,1\}revision: $revision)" "$tmp/version" || fail "--version does not show $version and $revision"
mkdir "$tmp/credentials"
printf 'from-LoadCredential' >"$tmp/credentials/password"
CREDENTIALS_DIRECTORY=$tmp/credentials "$root/usr/bin/voicetrends_exporter" \
  --config.file="$root/etc/voicetrends_exporter/voicetrends.yml" --config.check
# Outside systemd, the example refuses to start with a message naming LoadCredential=.
if env -u CREDENTIALS_DIRECTORY "$root/usr/bin/voicetrends_exporter" \
  --config.file="$root/etc/voicetrends_exporter/voicetrends.yml" --config.check 2>"$tmp/err"; then
  fail "--config.check passed without the credential"
fi
grep -q 'LoadCredential=' "$tmp/err" || fail "the error does not say where the password comes from: $(cat "$tmp/err")"

# systemd-analyze verify insists that ExecStart exists: point it at the
# extracted binary. It exits 0 on unknown keys, so any output fails.
mkdir "$tmp/units"
for u in voicetrends_exporter.service voicetrends_exporter.socket; do
  sed "s#/usr/bin/voicetrends_exporter#$root/usr/bin/voicetrends_exporter#" "$root/lib/systemd/system/$u" >"$tmp/units/$u"
done
if ! systemd-analyze verify "$tmp/units/voicetrends_exporter.service" "$tmp/units/voicetrends_exporter.socket" >"$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
  cat "$tmp/verify"; fail "systemd-analyze verify"
fi
# Exposure 0 (locked down) to 10 (none); 2.0 keeps every hardening line honest.
systemd-analyze security --offline=true --threshold=20 "$tmp/units/voicetrends_exporter.service" >"$tmp/security" 2>&1 || { cat "$tmp/security"; fail "systemd-analyze security: exposure above 2.0"; }
echo "package $(basename "$deb"): $(du -h "$deb" | cut -f1), contents and scripts as expected, runs from the extracted root; units verified, $(grep -o 'Overall exposure level.*' "$tmp/security")"
