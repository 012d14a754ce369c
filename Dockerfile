# voicetrends_exporter image: a static binary on scratch, run as a non-root user.
#
#   docker build -t voicetrends_exporter \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) .
#   docker run --rm -p 10141:10141 voicetrends_exporter --demo
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG REVISION=unknown
ARG BRANCH=unknown
ARG BUILD_USER=docker
ARG BUILD_DATE=unknown
# Set by BuildKit for multi-platform builds; empty means the builder's own.
ARG TARGETOS
ARG TARGETARCH
# packaging/build.sh holds the build flags (static, -trimpath, the zone database
# inside, the version stamped), shared with the Debian package and CI's
# empty-root test of this image.
RUN GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} packaging/build.sh /out/voicetrends_exporter \
 && echo 'voicetrends:x:10141:10141:voicetrends_exporter:/nonexistent:/sbin/nologin' >/out/passwd \
 && echo 'voicetrends:x:10141:' >/out/group \
 && mkdir -p /out/etc/voicetrends_exporter

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="voicetrends_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Plum Voice VoiceTrends call volume" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# CA certificates for the HTTPS API; the zone database is inside the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build /out/etc/voicetrends_exporter /etc/voicetrends_exporter
COPY --from=build /out/voicetrends_exporter /bin/voicetrends_exporter
USER 10141:10141
# The default --config.file (voicetrends.yml) is relative: mount the config here.
WORKDIR /etc/voicetrends_exporter
EXPOSE 10141
ENTRYPOINT ["/bin/voicetrends_exporter"]
CMD ["--config.file=/etc/voicetrends_exporter/voicetrends.yml"]
