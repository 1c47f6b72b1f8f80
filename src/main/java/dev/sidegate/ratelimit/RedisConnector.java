package dev.sidegate.ratelimit;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import dev.sidegate.config.Messages;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisScriptingAsyncCommands;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;

/**
 * One shared, multiplexed Lettuce connection to Redis through Sentinel, or to a Redis Cluster (a standalone Redis
 * gets {@link RespConnections}). Blocking calls on it are fine on virtual threads. If Redis is unreachable at
 * startup, a background thread keeps connecting; once connected, Lettuce reconnects by itself, and commands fail
 * fast while it is disconnected instead of queueing.
 */
final class RedisConnector implements ScriptCalls {
    private static final System.Logger LOG = System.getLogger(RedisConnector.class.getName());

    private final RedisSettings settings;
    private volatile ClientResources resources;
    private volatile DeadlineTimer timer;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile RedisScriptingAsyncCommands<String, String> commands;
    private volatile AutoCloseable connection;
    private volatile RedisClient client;
    private volatile RedisClusterClient clusterClient;
    private volatile String lastError = "not connected yet";

    RedisConnector(RedisSettings settings) {
        this.settings = settings;
    }

    /** Creates Lettuce's resources (its Netty threads) and connects; if Redis is not there yet, keeps trying. */
    @Override
    public synchronized void start() {
        this.timer = new DeadlineTimer(Thread.ofPlatform().daemon().name("sidegate-redis-timer").factory());
        this.resources = ClientResources.builder()
                .ioThreadPoolSize(1)
                .computationThreadPoolSize(1)
                // Sidegate times its Redis calls itself (sidegate_redis_call_duration_seconds); Lettuce's own latency
                // histograms cost about 6% of its event loop's CPU per command (loadtest/ANALYSIS.md).
                .commandLatencyRecorder(io.lettuce.core.metrics.CommandLatencyRecorder.disabled())
                // Reconnect quickly after an outage (Lettuce's default backs off to 30 s).
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(2), 2, TimeUnit.MILLISECONDS))
                // Command expiry and reconnect delays run on this timer, which wakes only when something is due.
                .timer(timer)
                .build();
        if (!tryConnect()) {
            LOG.log(System.Logger.Level.WARNING, "Redis " + settings.redactedUrls() + " not reachable yet (" + lastError
                    + "); rate limits use the failure policy until it is");
            Thread.ofVirtual().name("sidegate-redis-connect").start(this::connectInBackground);
        }
    }

    /**
     * Runs the script through the asynchronous commands: the caller waits on the future without a timeout, and
     * Lettuce expires a command after {@code settings.timeout()} itself (TimeoutOptions, on a {@link DeadlineTimer}).
     * A synchronous call would wait with a timeout instead, which parks a virtual thread with a timer of its own per call.
     */
    @Override
    public List<Object> run(String script, String sha, String[] keys, String[] args) {
        RedisScriptingAsyncCommands<String, String> connected = commands;
        if (connected == null) {
            throw new CallFailed("not connected: " + lastError);
        }
        try {
            try {
                return await(connected.evalsha(sha, ScriptOutputType.MULTI, keys, args));
            } catch (RedisNoScriptException e) {
                return await(connected.eval(script, ScriptOutputType.MULTI, keys, args));
            }
        } catch (RedisException e) {
            throw new CallFailed(Messages.oneLine(e));
        }
    }

    /** The reply, or the command's failure as Lettuce's own exception (a timeout is RedisCommandTimeoutException). */
    private static <T> T await(java.util.concurrent.CompletionStage<T> command) {
        try {
            return command.toCompletableFuture().get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RedisException redis) {
                throw redis;
            }
            throw new RedisException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RedisException("interrupted while waiting for Redis");
        } catch (java.util.concurrent.CancellationException e) {
            throw new RedisException("the Redis command was cancelled");
        }
    }

    private void connectInBackground() {
        long delay = 250;
        while (!closed.get() && commands == null) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(delay));
            if (tryConnect()) {
                LOG.log(System.Logger.Level.INFO, "Redis " + settings.redactedUrls() + " connected");
                return;
            }
            delay = Math.min(delay * 2, 5_000);
        }
    }

    private synchronized boolean tryConnect() {
        if (closed.get()) {
            return false;
        }
        SocketOptions socket = SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build();
        // rediss:// verifies the server against the JVM's trust store, or only against the configured CA file.
        SslOptions ssl = settings.caFile()
                .map(ca -> SslOptions.builder().jdkSslProvider().trustManager(ca.toFile()).build())
                .orElseGet(SslOptions::create);
        try {
            if (settings.cluster()) {
                List<RedisURI> uris = settings.urls().stream().map(RedisURI::create).toList();
                if (clusterClient == null) {
                    clusterClient = RedisClusterClient.create(resources, uris);
                    // Node connections open lazily, so commands must be accepted while one connects; the command
                    // timeout still bounds what a disconnected node costs.
                    clusterClient.setOptions(ClusterClientOptions.builder()
                                                     .socketOptions(socket)
                                                     .sslOptions(ssl)
                                                     .timeoutOptions(TimeoutOptions.enabled(settings.timeout()))
                                                     .autoReconnect(true)
                                                     .requestQueueSize(10_000)
                                                     .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                                                                                     .enableAllAdaptiveRefreshTriggers()
                                                                                     .enablePeriodicRefresh(Duration.ofSeconds(30))
                                                                                     .build())
                                                     .build());
                }
                StatefulRedisClusterConnection<String, String> c = clusterClient.connect();
                c.setTimeout(settings.timeout());
                connection = c;
                commands = c.async();
            } else {
                if (client == null) {
                    client = RedisClient.create(resources);
                    client.setOptions(ClientOptions.builder()
                                              .socketOptions(socket)
                                              .sslOptions(ssl)
                                              .timeoutOptions(TimeoutOptions.enabled(settings.timeout()))
                                              .autoReconnect(true)
                                              .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                                              .build());
                }
                StatefulRedisConnection<String, String> c = client.connect(RedisURI.create(settings.urls().get(0)));
                c.setTimeout(settings.timeout());
                connection = c;
                commands = c.async();
            }
            lastError = "connected";
            return true;
        } catch (RuntimeException e) {
            lastError = Messages.oneLine(e);
            return false;
        }
    }

    @Override
    public synchronized void close() {
        closed.set(true);
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (Exception e) {
            LOG.log(System.Logger.Level.DEBUG, "closing the Redis connection", e);
        }
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (clusterClient != null) {
            clusterClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (resources != null) {
            resources.shutdown(0, 2, TimeUnit.SECONDS);
        }
        if (timer != null) {
            timer.stop(); // Lettuce leaves a timer it was given running
        }
    }
}
