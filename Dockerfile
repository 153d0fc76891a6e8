# syntax=docker/dockerfile:1
#
# keycast in two stages: `deno task compile` builds one executable (the signer and database workers
# and the migrations embedded), then a slim Debian image runs it as an unprivileged user.
#
#   docker build -t keycast .
#   docker run --init -d -p 8080:8080 -v keycast-data:/data \
#     -e KEYCAST_RELAYS=wss://relay.example keycast
#
# The build stage needs network access: `deno compile` downloads its `denort` base binary from
# dl.deno.land (and the npm packages from the registry). See the README for building offline.

ARG DENO_VERSION=2.9.6

FROM denoland/deno:${DENO_VERSION} AS build
WORKDIR /app
# Dependencies first, so a source change reuses the cached layer.
COPY deno.json deno.lock ./
RUN deno install --frozen
COPY main.ts ./
COPY migrations ./migrations
COPY src ./src
RUN deno task compile && ./dist/keycast version

FROM debian:bookworm-slim AS runtime
# curl for HEALTHCHECK only; ca-certificates for DENO_TLS_CA_STORE=system.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates curl \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 keycast \
  && useradd --system --uid 10001 --gid keycast --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin keycast \
  && install -d -o keycast -g keycast -m 0700 /data
COPY --from=build /app/dist/keycast /usr/local/bin/keycast

# Data dir: the embedded database (keycast.db), master.key and admin.token. Back it up.
# keycast binds loopback by default; in a container it must listen on every interface, which is
# safe only behind the published port mapping (publish it on 127.0.0.1 and put a TLS proxy in
# front). DENO_TLS_CA_STORE=system: relays' and PostgreSQL's certificates are checked against
# the image's CA bundle (ca-certificates).
ENV KEYCAST_DATA_DIR=/data \
  KEYCAST_HOST=0.0.0.0 \
  PORT=8080 \
  DENO_DIR=/tmp/deno \
  DENO_TLS_CA_STORE=system
VOLUME ["/data"]
EXPOSE 8080
USER keycast:keycast
WORKDIR /data

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PORT}/health" || exit 1

# serve answers SIGTERM by finishing in-flight requests (up to 10 s) and exiting 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/keycast"]
CMD ["serve"]
