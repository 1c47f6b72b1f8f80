package dev.sidegate.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.FixedHostPortGenericContainer;
import org.testcontainers.containers.GenericContainer;

/**
 * A real Redis for tests, found in this order: {@code redis-server} on PATH (what {@code .ci/run} installs), a
 * Testcontainers container when Docker is available, else the Redis 6.2 binary shipped in the embedded-redis test
 * jar ({@link RedisBinary}). TLS, Sentinel and Cluster run on a binary (installed, else shipped), never a container.
 * {@link #stop()} and {@link #start()} keep the same port, for outage tests.
 */
public final class RedisFixture implements AutoCloseable {
    private final int port;
    private final Path dir;
    private final RedisBinary binary;
    private final Path tlsCert;
    private final Path tlsKey;
    private Process process;
    private GenericContainer<?> redisContainer;
    private String password;

    private RedisFixture(int port, Path dir, RedisBinary binary, Path tlsCert, Path tlsKey) {
        this.port = port;
        this.dir = dir;
        this.binary = binary;
        this.tlsCert = tlsCert;
        this.tlsKey = tlsKey;
    }

    /** A redis-server that speaks TLS only (no plain port), with the given PEM certificate and key. */
    public static RedisFixture startTls(Path cert, Path key) {
        return startTls(RedisBinary.installedOrShipped(), cert, key);
    }

    public static RedisFixture startTls(RedisBinary binary, Path cert, Path key) {
        RedisFixture fixture = new RedisFixture(freePort(), tempDir(), binary, cert, key);
        fixture.startServer();
        return fixture;
    }

    public static RedisFixture start() {
        RedisBinary installed = RedisBinary.installed();
        if (installed == null && dockerAvailable()) {
            RedisFixture fixture = new RedisFixture(freePort(), null, null, null, null);
            fixture.startServer();
            return fixture;
        }
        return start(installed != null ? installed : RedisBinary.shipped());
    }

    /** A plain Redis on the given binary, whatever else the machine has. */
    public static RedisFixture start(RedisBinary binary) {
        RedisFixture fixture = new RedisFixture(freePort(), tempDir(), binary, null, null);
        fixture.startServer();
        return fixture;
    }

    /** A plain Redis on a binary (installed, else shipped) that requires this password (requirepass). */
    public static RedisFixture startWithPassword(String password) {
        RedisFixture fixture = new RedisFixture(freePort(), tempDir(), RedisBinary.installedOrShipped(), null, null);
        fixture.password = password;
        fixture.startServer();
        return fixture;
    }

    /** The executable this Redis runs on; null for a container. */
    public RedisBinary binary() {
        return binary;
    }

    public String url() {
        String login = password == null ? "" : ":" + password + "@";
        return tlsCert == null ? "redis://" + login + "127.0.0.1:" + port : "rediss://" + login + "localhost:" + port;
    }

    public int port() {
        return port;
    }

    /** Starts the server again on the same port (after {@link #stop()}); its data is gone, as after a crash. */
    public void startServer() {
        if (binary == null) {
            @SuppressWarnings("resource")
            GenericContainer<?> c = new FixedHostPortGenericContainer<>("redis:7.2-alpine").withFixedExposedPort(port, 6379);
            c.start();
            redisContainer = c;
        } else {
            try {
                List<String> command = new ArrayList<>(List.of(binary.path().toString(), "--bind", "127.0.0.1",
                                                               "--save", "", "--appendonly", "no", "--dir", dir.toString()));
                if (password != null) {
                    command.addAll(List.of("--requirepass", password));
                }
                if (binary.needsDebugCommandFlag()) {
                    command.addAll(List.of("--enable-debug-command", "local"));
                }
                if (tlsCert == null) {
                    command.addAll(List.of("--port", String.valueOf(port)));
                } else {
                    command.addAll(List.of("--port", "0", "--tls-port", String.valueOf(port), "--tls-cert-file", tlsCert.toString(),
                                           "--tls-key-file", tlsKey.toString(), "--tls-auth-clients", "no"));
                }
                process = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("redis-" + port + ".log").toFile())
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Await.until(this::pings, "redis-server answers PING on port " + port);
    }

    /** Stops the server: clients see connection refused. */
    public void stop() {
        if (binary == null) {
            redisContainer.stop();
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Runs commands against this Redis with a short-lived client of its own. */
    public <T> T with(java.util.function.Function<RedisCommands<String, String>, T> work) {
        RedisClient client = RedisClient.create(url());
        if (tlsCert != null) {
            client.setOptions(io.lettuce.core.ClientOptions.builder()
                                      .sslOptions(io.lettuce.core.SslOptions.builder().jdkSslProvider().trustManager(tlsCert.toFile()).build())
                                      .build());
        }
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            c.setTimeout(Duration.ofSeconds(10));
            return work.apply(c.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }

    /** Blocks the server for the given seconds (DEBUG SLEEP), as a slow Redis would; returns when it answers again. */
    public String debugSleep(int seconds) {
        return with(r -> r.dispatch(io.lettuce.core.protocol.CommandType.DEBUG,
                                    new io.lettuce.core.output.StatusOutput<>(io.lettuce.core.codec.StringCodec.UTF8),
                                    new io.lettuce.core.protocol.CommandArgs<>(io.lettuce.core.codec.StringCodec.UTF8)
                                            .add("SLEEP").add(seconds)));
    }

    /** Calls of a command since the last reset, from INFO commandstats. */
    public long calls(String command) {
        String stats = with(r -> r.info("commandstats"));
        for (String line : stats.split("\r?\n")) {
            if (line.startsWith("cmdstat_" + command + ":calls=")) {
                return Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
            }
        }
        return 0;
    }

    private boolean pings() {
        try {
            return "PONG".equals(with(RedisCommands::ping));
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override
    public void close() {
        stop();
    }

    private static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("sidegate-redis");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A Redis Sentinel process ({@code redis-server --sentinel}) that monitors this server as master {@code mymaster}. */
    public Sentinel sentinel() {
        return new Sentinel(binary != null ? binary : RedisBinary.installedOrShipped(), port);
    }

    /** One Sentinel, quorum 1, watching a master on loopback. */
    public static final class Sentinel implements AutoCloseable {
        private final int port;
        private final Process process;

        private Sentinel(RedisBinary binary, int masterPort) {
            String server = binary.path().toString();
            port = freePort();
            Path dir = tempDir();
            try {
                // Sentinel rewrites its configuration file, so it gets one of its own.
                Path conf = dir.resolve("sentinel.conf");
                Files.writeString(conf, "port " + port + "\nbind 127.0.0.1\ndir " + dir + "\n"
                        + "sentinel monitor mymaster 127.0.0.1 " + masterPort + " 1\n");
                process = new ProcessBuilder(server, conf.toString(), "--sentinel")
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("sentinel.log").toFile())
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Await.until(this::knowsMaster, "Sentinel on port " + port + " knows master mymaster");
        }

        /** The URL Sidegate takes: Lettuce asks the Sentinel where the master is. */
        public String url() {
            return "redis-sentinel://127.0.0.1:" + port + "#mymaster";
        }

        private boolean knowsMaster() {
            RedisClient client = RedisClient.create("redis://127.0.0.1:" + port);
            try (var c = client.connectSentinel()) {
                return c.sync().getMasterAddrByName("mymaster") != null;
            } catch (RuntimeException e) {
                return false;
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }

        @Override
        public void close() {
            process.destroy();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * A local three-master Redis Cluster of redis-server processes, joined with CLUSTER ADDSLOTS and CLUSTER MEET
     * (what {@code redis-cli --cluster create} does), so it needs no redis-cli.
     */
    public static final class Cluster implements AutoCloseable {
        private static final int SLOTS = 16384;
        private final List<Process> nodes = new ArrayList<>();
        private final List<Integer> ports = new ArrayList<>();

        public Cluster() {
            this(RedisBinary.installedOrShipped());
        }

        public Cluster(RedisBinary binary) {
            Path dir = tempDir();
            try {
                for (int i = 0; i < 3; i++) {
                    int port = freePort();
                    ports.add(port);
                    nodes.add(new ProcessBuilder(binary.path().toString(), "--port", String.valueOf(port), "--bind", "127.0.0.1",
                                                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + port + ".conf",
                                                 "--save", "", "--appendonly", "no", "--dir", dir.toString())
                                      .redirectErrorStream(true)
                                      .redirectOutput(dir.resolve("node-" + port + ".log").toFile())
                                      .start());
                }
            } catch (IOException e) {
                close();
                throw new UncheckedIOException(e);
            }
            for (int port : ports) {
                Await.until(() -> pings(port), "cluster node " + port + " answers PING");
            }
            for (int i = 0; i < ports.size(); i++) {
                int from = SLOTS * i / ports.size();
                int to = SLOTS * (i + 1) / ports.size();
                int[] slots = java.util.stream.IntStream.range(from, to).toArray();
                single(ports.get(i), r -> r.clusterAddSlots(slots));
            }
            for (int port : ports.subList(1, ports.size())) {
                single(ports.get(0), r -> r.clusterMeet("127.0.0.1", port));
            }
            for (int port : ports) {
                Await.until(() -> clusterOk(port), "cluster node " + port + " reports cluster_state:ok");
            }
        }

        public List<Integer> ports() {
            return List.copyOf(ports);
        }

        /** Seed URLs, comma-separated, as SIDEGATE_REDIS_URL takes them. */
        public String urls() {
            return String.join(",", ports.stream().map(p -> "redis://127.0.0.1:" + p).toList());
        }

        public long keysOn(int port) {
            return single(port, RedisCommands::dbsize);
        }

        private static boolean pings(int port) {
            try {
                return "PONG".equals(single(port, RedisCommands::ping));
            } catch (RuntimeException e) {
                return false;
            }
        }

        private static boolean clusterOk(int port) {
            try {
                return single(port, RedisCommands::clusterInfo).contains("cluster_state:ok");
            } catch (RuntimeException e) {
                return false;
            }
        }

        private static <T> T single(int port, java.util.function.Function<RedisCommands<String, String>, T> work) {
            RedisClient client = RedisClient.create("redis://127.0.0.1:" + port);
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                return work.apply(c.sync());
            } finally {
                client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
            }
        }

        @Override
        public void close() {
            nodes.forEach(Process::destroy);
            for (Process p : nodes) {
                try {
                    p.waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
