# The rig's client and server: a Debian with ip, ping and iperf3. With a
# registry, BASE=debian:bookworm-slim and the tools are installed; the
# debootstrapped faultmesh-base:bookworm (docker/base-image.sh) has them.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
RUN if ! command -v iperf3 >/dev/null || ! command -v ping >/dev/null || ! command -v ip >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends iperf3 iputils-ping iproute2 && \
        rm -rf /var/lib/apt/lists/*; \
    fi
