#!/bin/sh
# Builds the release binary: static (no cgo), reproducible paths, the zone
# database inside, and the version stamped from the environment. The one
# source of the build flags for the Dockerfile, the Debian package and CI's
# empty-root image test.
#
#   packaging/build.sh OUTPUT
#   env: VERSION REVISION BRANCH BUILD_USER BUILD_DATE (each optional: an
#        empty one is filled from Go's build information), GOOS, GOARCH
set -eu
out=${1:?usage: packaging/build.sh OUTPUT}
pkg=github.com/prometheus/common/version
ldflags="-s -w"
# -X with an empty value would hide what Go's build information knows.
for pair in Version:"${VERSION:-}" Revision:"${REVISION:-}" Branch:"${BRANCH:-}" BuildUser:"${BUILD_USER:-}" BuildDate:"${BUILD_DATE:-}"; do
  name=${pair%%:*} value=${pair#*:}
  case $value in
    ''|unknown) ;;
    *' '*) echo "packaging/build.sh: $name may not contain a space: $value" >&2; exit 2 ;;
    *) ldflags="$ldflags -X $pkg.$name=$value" ;;
  esac
done
# timetzdata: accounts name IANA zones, and scratch has no zoneinfo.
CGO_ENABLED=0 exec go build -trimpath -tags timetzdata -ldflags "$ldflags" -o "$out" .
