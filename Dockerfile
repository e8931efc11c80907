# The fjord:dev image: `fjord dev` (broker, schema registry, standalone Connect worker) from
# nothing but our own binary. No base image can be pulled on the machines this is built on,
# so it is FROM scratch: scripts/build-image.sh lays out rootfs/ with the stripped `fjord`
# binary, exactly the shared libraries `ldd` lists for it plus the dynamic loader, and a
# passwd/group naming the non-root user 10001. Build it with scripts/build-image.sh, not by
# hand: the build context is the directory that script prepares.
FROM scratch
LABEL org.opencontainers.image.title=fjord

COPY rootfs/ /
# The data volume and a temp dir, owned by the user the process runs as.
COPY --chown=10001:10001 data/ /data/
COPY --chown=10001:10001 tmp/ /tmp/

USER 10001:10001

# Clients outside the container reach the broker at FJORD_ADVERTISED_LISTENERS: publish
# 9092 as 9092 (`docker run -p 9092:9092 ...`), or set both variables to the published port.
# Broker settings also come from KAFKA_* variables (KAFKA_NUM_PARTITIONS=3 is num.partitions).
ENV FJORD_LISTENERS=0.0.0.0:9092 \
    FJORD_ADVERTISED_LISTENERS=localhost:9092 \
    FJORD_REGISTRY_LISTENERS=0.0.0.0:8081 \
    FJORD_CONNECT_LISTENERS=0.0.0.0:8083 \
    FJORD_HEALTH_LISTEN=0.0.0.0:8090 \
    FJORD_HEALTH_URL=http://127.0.0.1:8090/health \
    FJORD_DATA_DIR=/data \
    FJORD_LOG=info \
    TMPDIR=/tmp

EXPOSE 9092 8081 8083 8090
VOLUME /data

# The binary itself asks the process's /health (broker, registry and Connect each checked).
# Every 2 s: engines before 25 have no --start-interval, and the first check waits one interval.
HEALTHCHECK --interval=2s --timeout=3s --start-period=1s --retries=3 CMD ["/fjord", "health"]

ENTRYPOINT ["/fjord"]
CMD ["dev"]
