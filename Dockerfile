# Sidegate container image: a Maven build, an AOT-cache training run, then a small JRE with a non-root user.
# Build: docker build -t sidegate .   (or daemonless: mvn -B -DskipTests package jib:build -Dimage=<registry>/sidegate)
# No Docker engine runs on the development machines of this project: this file is checked by review, not built there.

FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src src
COPY sidecar-config sidecar-config
RUN mvn -B -q -DskipTests package \
 && mkdir -p /app && cp target/sidegate.jar /app/

# Train a JDK 25 AOT cache (classes loaded and linked, profiles) by starting demo mode and sending it requests.
# The cache only works with the same JDK build as the runtime stage: both use Temurin 25. If they ever differ,
# the JVM says so once and starts without the cache.
FROM eclipse-temurin:25-jdk AS aot
COPY --from=build /app /app
WORKDIR /app
RUN set -e; \
    SIDEGATE_PORT=8000 SIDEGATE_ADMIN_PORT=9901 java -XX:+UseSerialGC -XX:+UseCompactObjectHeaders \
      -XX:AOTCacheOutput=/app/sidegate.aot -jar sidegate.jar --demo > /tmp/train.log 2>&1 & pid=$!; \
    for i in $(seq 1 300); do curl -sf -o /dev/null http://127.0.0.1:8000/api/public/x && break; sleep 0.1; done; \
    for i in $(seq 1 200); do curl -s -o /dev/null http://127.0.0.1:8000/api/public/x; curl -s -o /dev/null http://127.0.0.1:8000/nowhere; done; \
    curl -s -o /dev/null http://127.0.0.1:9901/observe/health/ready; curl -s -o /dev/null http://127.0.0.1:9901/observe/metrics; \
    kill -TERM $pid; wait $pid || true; test -s /app/sidegate.aot

FROM eclipse-temurin:25-jre
# 65532: the conventional "nonroot" uid; the pod's securityContext runs as it with a read-only root filesystem.
RUN groupadd --system --gid 65532 sidegate && useradd --system --uid 65532 --gid 65532 --no-create-home sidegate
COPY --from=aot --chown=65532:65532 /app /app
COPY sidecar-config/sidegate.yaml /etc/sidegate/sidegate.yaml
USER 65532:65532
WORKDIR /app
# Sidecar JVM flags: serial GC (one CPU's share), heap sized from the container's memory limit, bounded metaspace
# and code cache, compact headers, native heap trimmed every 5 s (glibc keeps freed C2 arenas otherwise), no hsperfdata file (the root filesystem is read-only), the trained AOT cache.
ENV JAVA_TOOL_OPTIONS="-XX:+UseSerialGC -XX:InitialRAMPercentage=10 -XX:MaxRAMPercentage=30 -XX:MaxMetaspaceSize=96m -XX:ReservedCodeCacheSize=48m -Xss512k -XX:+UseCompactObjectHeaders -XX:TrimNativeHeapInterval=5000 -XX:-UsePerfData -XX:AOTCache=/app/sidegate.aot" \
    SIDEGATE_CONFIG=/etc/sidegate/sidegate.yaml
EXPOSE 8000 9901
ENTRYPOINT ["java", "-jar", "/app/sidegate.jar"]
