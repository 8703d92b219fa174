# regsweep and the registry in one image, built from Debian packages only.
#
#   docker build -t regsweep .
#   docker run --rm -v regdata:/var/lib/registry regsweep report       # regsweep, read only
#   docker run -d -p 5000:5000 -v regdata:/var/lib/registry regsweep serve   # the registry
#
# See README.md, "Container image". BASE may name another Debian bookworm image (a mirror's).
ARG BASE=debian:bookworm

# --- build: compile a release binary without the test hooks, run the unit tests ---------------
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ meson ninja-build pkg-config \
      nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libssl-dev libgtest-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN meson setup /build /src --buildtype=release -Dtest_hooks=false --prefix=/usr \
 && meson compile -C /build regsweep unit-tests \
 && meson test -C /build --no-rebuild --print-errorlogs unit \
 && install -D -m 0755 /build/regsweep /out/usr/bin/regsweep \
 && strip /out/usr/bin/regsweep \
 && install -D -m 0644 /src/docker/config.yml /out/etc/docker/registry/config.yml \
 && install -D -m 0755 /src/docker/entrypoint.sh /out/entrypoint.sh

# --- the image: runtime libraries, regsweep, Debian's docker-registry ---------------------------
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      docker-registry libyaml-cpp0.7 libssl3 libstdc++6 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s docker-registry /usr/bin/registry \
 && mkdir -p /var/lib/registry
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/entrypoint.sh"]
CMD ["--help"]
LABEL org.opencontainers.image.title="regsweep" \
      org.opencontainers.image.description="offline cleaner for the distribution registry's filesystem storage, with the registry" \
      org.opencontainers.image.licenses="Apache-2.0"
# One layer with everything of ours: /usr/bin/regsweep, /entrypoint.sh and the registry's
# /etc/docker/registry/config.yml (from docker/ in this tree).
COPY --from=build /out/ /
ARG REVISION=""
LABEL org.opencontainers.image.revision="${REVISION}"
