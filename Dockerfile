# regsweep and the registry in one image, built from Debian packages only.
#
#   docker build -t regsweep .
#   docker run --rm -v regdata:/var/lib/registry regsweep report       # regsweep, read only
#   docker run -d -p 5000:5000 -v regdata:/var/lib/registry regsweep serve   # the registry
#
# See README.md, "Container image". BASE may name another Debian bookworm image (a mirror's).
ARG BASE=debian:bookworm
# Where the image's own files (/out) come from: `build` compiles them here (the default);
# `prebuilt` takes docker/prebuilt/ from the context, which tests/image/build.sh --prebuilt
# fills from a binary already compiled on the host (the test suite's), so that CI does not
# compile regsweep a second time. Only the chosen stage is built.
ARG REGSWEEP_FROM=build

# --- build: compile a release binary without the test hooks, run the unit tests ---------------
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ meson ninja-build pkg-config \
      nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libssl-dev libgtest-dev \
      libcurl4-openssl-dev libpugixml-dev \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN meson setup /build /src --buildtype=release -Dtest_hooks=false --prefix=/usr \
 && meson compile -C /build regsweep unit-tests \
 && meson test -C /build --no-rebuild --print-errorlogs unit \
 && sh /src/docker/layout.sh /build/regsweep /src /out

# --- prebuilt: /out as tests/image/build.sh --prebuilt laid it out in the context -------------
FROM scratch AS prebuilt
COPY docker/prebuilt/ /out/

FROM ${REGSWEEP_FROM} AS compiled

# --- the image: runtime libraries, regsweep, Debian's docker-registry ---------------------------
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      docker-registry libyaml-cpp0.7 libssl3 libstdc++6 libcurl4 libpugixml1v5 ca-certificates \
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
COPY --from=compiled /out/ /
ARG REVISION=""
LABEL org.opencontainers.image.revision="${REVISION}"
