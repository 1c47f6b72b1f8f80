package dev.sidegate;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import dev.sidegate.admin.AdminService;
import dev.sidegate.admin.Readiness;
import dev.sidegate.auth.Authenticate;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.auth.Authorize;
import dev.sidegate.auth.StripIdentityHeaders;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigLoader;
import dev.sidegate.config.ConfigWatcher;
import dev.sidegate.config.Durations;
import dev.sidegate.config.ReloadResult;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.config.Messages;
import dev.sidegate.config.RouteSettings;
import dev.sidegate.plugin.Plugins;
import dev.sidegate.transform.TransformStage;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.config.SidegateConfig;
import dev.sidegate.proxy.ErrorPages;
import dev.sidegate.resilience.Resilience;
import dev.sidegate.resilience.UpstreamGuards;
import dev.sidegate.telemetry.AccessLog;
import dev.sidegate.telemetry.SidegateMetrics;
import dev.sidegate.telemetry.Telemetry;
import dev.sidegate.telemetry.Tracing;
import dev.sidegate.ratelimit.RateLimitStage;
import dev.sidegate.proxy.Forwarding;
import dev.sidegate.proxy.ClientConnections;
import dev.sidegate.proxy.ConnectionLimits;
import dev.sidegate.proxy.PassThroughEncoding;
import dev.sidegate.proxy.PathNormalizer;
import dev.sidegate.proxy.Resources;
import dev.sidegate.proxy.Pipeline;
import dev.sidegate.proxy.ProxyHandler;
import dev.sidegate.proxy.RouteTable;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.Daemons;
import dev.sidegate.upstream.UpstreamCall;
import dev.sidegate.upstream.Upstreams;
import io.helidon.common.configurable.Resource;
import io.helidon.common.socket.SocketOptions;
import io.helidon.common.tls.Tls;
import io.helidon.http.DirectHandler;
import io.helidon.http.encoding.ContentEncodingContext;
import io.helidon.metrics.api.Metrics;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.DirectHandlers;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.observe.ObserveFeature;
import io.helidon.webserver.observe.health.HealthObserver;
import io.helidon.webserver.observe.metrics.MetricsObserver;

/**
 * One running Sidegate: the proxy server, the admin server and the request pipeline, wired explicitly.
 * {@link Main} starts one from the environment; tests start several in one JVM on random ports.
 */
public final class Sidegate implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Sidegate.class.getName());

    private final WebServer server;
    private final WebServer admin;
    private final AtomicReference<Pipeline> pipeline;
    private final Readiness readiness;
    private final Shared shared;
    private final ClientConnections clientConnections;
    private final ClientConnections adminConnections;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final SidegateConfig startup;
    private volatile Supplier<SidegateConfig> reloadSource;
    private volatile ConfigWatcher watcher;
    private volatile ReloadStatus reloadStatus = ReloadStatus.NONE;

    private Sidegate(WebServer server, WebServer admin, AtomicReference<Pipeline> pipeline, Readiness readiness,
                     Shared shared, ClientConnections clientConnections, ClientConnections adminConnections) {
        this.server = server;
        this.admin = admin;
        this.pipeline = pipeline;
        this.readiness = readiness;
        this.shared = shared;
        this.clientConnections = clientConnections;
        this.adminConnections = adminConnections;
        this.startup = pipeline.get().config();
    }

    /**
     * Validates the configuration into a pipeline, binds both listeners and starts serving.
     *
     * @throws dev.sidegate.config.ConfigException when the configuration cannot be turned into a pipeline
     */
    /**
     * Loads the configuration from the environment (and the file it names), starts, and keeps the file under watch:
     * a change, SIGHUP or {@code POST /admin/reload} applies a new configuration without a restart.
     *
     * @throws dev.sidegate.config.ConfigException when the configuration is invalid
     */
    public static Sidegate start(Map<String, String> env) {
        SidegateConfig config = ConfigLoader.load(env);
        Sidegate sidegate = start(config);
        sidegate.reloadFrom(() -> ConfigLoader.load(env), config.watchFile());
        return sidegate;
    }

    /** Starts with a fixed configuration (no reloads until {@link #reloadFrom} names a source). */
    public static Sidegate start(SidegateConfig config) {
        Shared shared = Shared.create(config);
        Reloads reloads = new Reloads();
        AtomicReference<Pipeline> pipeline;
        try {
            pipeline = new AtomicReference<>(pipeline(config, shared));
        } catch (RuntimeException e) {
            shared.close();
            throw e;
        }
        Readiness readiness = new Readiness(pipeline::get);
        ServerSettings settings = config.server();
        Forwarding forwarding = new Forwarding(settings.trustedProxies());
        ConnectionLimits limits = new ConnectionLimits(settings.maxConnections(), settings.maxConnectionsPerIp(), forwarding,
                                                       shared.metrics()::connectionRefused, shared.housekeeping());
        shared.metrics().openConnections(limits::open);
        ClientConnections clientConnections = new ClientConnections(settings.headerTimeout(), settings.bodyTimeout(),
                                                                    limits, shared.housekeeping());
        ClientConnections adminConnections = new ClientConnections(
                settings.headerTimeout(), settings.bodyTimeout(),
                new ConnectionLimits(ADMIN_MAX_CONNECTIONS, ADMIN_MAX_CONNECTIONS_PER_IP, forwarding,
                                     reason -> shared.metrics().connectionRefused("admin_" + reason), shared.housekeeping()),
                shared.housekeeping());
        ProxyHandler handler = new ProxyHandler(pipeline::get,
                                                new PathNormalizer(settings.paths()),
                                                forwarding,
                                                shared.telemetry(), clientConnections, settings.keepAliveAfterChunked());

        WebServerConfig.Builder proxy = WebServer.builder()
                .shutdownHook(false)
                .featuresDiscoverServices(false);
        proxyListener(proxy, settings, clientConnections);
        proxy.routing(r -> r.any(handler));

        WebServer admin;
        WebServer server;
        try {
            // The admin port is a server of its own so that it outlives the proxy listener while requests drain:
            // readiness reports the drain and metrics stay scrapeable until the end.
            ensureFree(settings.adminPort(), "admin");
            ensureFree(settings.port(), "proxy");
            admin = started(adminServer(settings, readiness, new AdminService(() -> pipeline.get().config(), shared.guards(),
                                                                              reloads::reload, reloads::status,
                                                                              settings.adminToken()),
                                        adminConnections).start(),
                            "admin", settings.adminPort());
            try {
                server = started(proxy.build().start(), "proxy", settings.port());
            } catch (RuntimeException e) {
                admin.stop();
                throw e;
            }
        } catch (RuntimeException e) {
            clientConnections.close();
            adminConnections.close();
            pipeline.get().close();
            shared.close();
            throw e;
        }
        Sidegate sidegate = new Sidegate(server, admin, pipeline, readiness, shared, clientConnections, adminConnections);
        reloads.sidegate = sidegate;
        readiness.serving();
        LOG.log(System.Logger.Level.INFO, sidegate.describe());
        warnAboutUnenforcedRoutes(config);
        return sidegate;
    }

    /** Lets the admin server, built before this Sidegate exists, reach its reloads. */
    private static final class Reloads {
        private volatile Sidegate sidegate;

        ReloadResult reload() {
            return sidegate == null ? new ReloadResult.Rejected("still starting") : sidegate.reload("POST /admin/reload");
        }

        ReloadStatus status() {
            return sidegate == null ? ReloadStatus.NONE : sidegate.reloadStatus();
        }
    }

    /**
     * What outlives a configuration: pooled upstream connections, meters, circuit breakers and bulkheads. A reload
     * builds a new pipeline on the same shared parts.
     */
    record Shared(Upstreams upstreams, Telemetry telemetry, UpstreamGuards guards, Resources resources, Plugins plugins,
                  java.util.concurrent.ScheduledExecutorService housekeeping)
            implements AutoCloseable {
        static Shared create(SidegateConfig config) {
            Plugins plugins = Plugins.load(config.pluginsDir());
            SidegateMetrics metrics = new SidegateMetrics(Metrics.globalRegistry());
            Telemetry telemetry = new Telemetry(Tracing.fromEnvironment(config.otelEnvironment()), metrics,
                                                new AccessLog(System.out));
            // Parts a reload retires stay open as long as a request may still be draining on the old pipeline.
            Resources resources = new Resources(config.server().drainTimeout().toMillis() + 1000);
            java.util.concurrent.ScheduledExecutorService housekeeping = Daemons.scheduler("sidegate-housekeeping");
            return new Shared(new Upstreams(housekeeping), telemetry, new UpstreamGuards(metrics), resources, plugins,
                              housekeeping);
        }

        SidegateMetrics metrics() {
            return telemetry.metrics();
        }

        @Override
        public void close() {
            resources.close();
            upstreams.close();
            housekeeping.shutdownNow();
            telemetry.close();
            plugins.close();
        }
    }

    /** The pipeline for one configuration. The order of the stages is decided here and only here. */
    static Pipeline pipeline(SidegateConfig config, Shared shared) {
        SidegateMetrics metrics = shared.metrics();
        Resources.Build resources = shared.resources().build();
        RouteTable routes = RouteTable.create(config.routes(), config.server().paths());
        List<Stage> stages = new ArrayList<>();
        stages.add(new StripIdentityHeaders(AuthSettings.strippedHeaders(config.auth())));
        config.auth().ifPresent(auth -> stages.add(new Authenticate(auth, metrics, resources)));
        config.rateLimits().ifPresent(limits -> stages.add(new RateLimitStage(limits, config.server().paths(), metrics, resources)));
        config.auth().ifPresent(auth -> stages.add(new Authorize()));
        if (config.routes().stream().anyMatch(r -> r.transform().isPresent())) {
            stages.add(new TransformStage());
        }
        List<Stage> toUpstream = List.of(new Resilience(config, shared.guards(), metrics),
                                         new UpstreamCall(config, shared.upstreams(), shared.telemetry()));
        // A route's plugins run after its declarative request transform and before the breaker, so they see the
        // request as it will go upstream and the response as the upstream sent it.
        Map<RouteSettings, List<Stage>> withPlugins = new IdentityHashMap<>();
        for (RouteSettings route : config.routes()) {
            if (!route.plugins().isEmpty()) {
                List<Stage> own = new ArrayList<>(stages);
                own.addAll(shared.plugins().stagesFor(route));
                own.addAll(toUpstream);
                withPlugins.put(route, own);
            }
        }
        stages.addAll(toUpstream);
        return new Pipeline(config, routes, stages, withPlugins, resources.keys());
    }

    private static void proxyListener(WebServerConfig.Builder builder, ServerSettings s, ClientConnections clientConnections) {
        builder.host("0.0.0.0")
                .port(s.port())
                .shutdownGracePeriod(s.drainTimeout())
                .idleConnectionTimeout(s.idleTimeout())
                .idleConnectionPeriod(idleCheckPeriod(s.idleTimeout()))
                // Responses are written as the upstream sends them; small writes must not wait for the client's ACK.
                .connectionOptions(clientConnections.socketOptions(SocketOptions.builder().tcpNoDelay(true).build()))
                .maxPayloadSize(-1)
                .contentEncoding(new PassThroughEncoding())
                .directHandlers(problemPages())
                .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                .protocolsDiscoverServices(false)
                .addProtocol(Http1Config.builder()
                                     .maxHeadersSize(s.maxHeaderSize())
                                     .maxPrologueLength(s.maxRequestLine())
                                     // PathNormalizer validates paths with Sidegate's own, more precise reasons
                                     .validatePath(false)
                                     .addReceiveListener(clientConnections)
                                     .build());
        s.tls().ifPresent(files -> builder.tls(Tls.builder()
                                                       .privateKey(k -> k.pem(p -> p.key(Resource.create(files.privateKey()))))
                                                       .privateKeyCertChain(k -> k.pem(p -> p.certChain(
                                                               Resource.create(files.certificate()))))
                                                       .build()));
    }

    /** Fails with a one-line reason before Helidon logs a bind failure with a stack trace. */
    private static void ensureFree(int port, String which) {
        if (port == 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("0.0.0.0", port));
        } catch (IOException e) {
            throw new IllegalStateException("the " + which + " port " + port + " is not available: " + Messages.oneLine(e));
        }
    }

    /** Helidon reports a listener that failed to bind by not running, not by throwing. */
    private static WebServer started(WebServer server, String which, int port) {
        if (!server.isRunning()) {
            server.stop();
            throw new IllegalStateException("the " + which + " listener did not start on port " + port);
        }
        return server;
    }

    /** Caps on the admin port: probes, scrapes and a port-forward need few connections; a flood must not starve them. */
    static final int ADMIN_MAX_CONNECTIONS = 256;
    static final int ADMIN_MAX_CONNECTIONS_PER_IP = 128;

    private static WebServer adminServer(ServerSettings s, Readiness readiness, AdminService adminService,
                                         ClientConnections connections) {
        return WebServer.builder()
                .shutdownHook(false)
                .featuresDiscoverServices(false)
                .host("0.0.0.0")
                .port(s.adminPort())
                .shutdownGracePeriod(Duration.ofMillis(500))
                .idleConnectionTimeout(s.idleTimeout())
                .idleConnectionPeriod(idleCheckPeriod(s.idleTimeout()))
                .connectionOptions(connections.socketOptions(SocketOptions.builder().tcpNoDelay(true).build()))
                .protocolsDiscoverServices(false)
                .addProtocol(Http1Config.builder().addReceiveListener(connections).build())
                .contentEncoding(noContentEncoding())
                .directHandlers(problemPages())
                .routing(r -> r.register("/admin", adminService))
                .addFeature(ObserveFeature.builder()
                                    .observersDiscoverServices(false)
                                    .addObserver(HealthObserver.builder()
                                                         .useSystemServices(false)
                                                         .details(true)
                                                         .addCheck(readiness)
                                                         .build())
                                    .addObserver(MetricsObserver.create())
                                    .build())
                .build();
    }

    private static ContentEncodingContext noContentEncoding() {
        return ContentEncodingContext.builder().contentEncodingsDiscoverServices(false).build();
    }

    private static DirectHandlers problemPages() {
        ErrorPages pages = new ErrorPages();
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            handlers.addHandler(type, pages);
        }
        return handlers.build();
    }

    private static Duration idleCheckPeriod(Duration idleTimeout) {
        return Duration.ofMillis(Math.max(100, Math.min(10_000, idleTimeout.toMillis() / 4)));
    }

    private static String describeAuth(AuthSettings auth) {
        return switch (auth.keys()) {
            case AuthSettings.Jwks jwks -> "jwks " + jwks.url();
            case AuthSettings.PublicKeyFile file -> "public-key " + file.file();
            case AuthSettings.HmacSecret hmac -> "hmac-secret";
        };
    }

    public int port() {
        return server.port();
    }

    public int adminPort() {
        return admin.port();
    }

    public ReloadStatus reloadStatus() {
        return reloadStatus;
    }

    /** Names where reloads read the configuration from, and whether to watch the file (if any) for changes. */
    public void reloadFrom(Supplier<SidegateConfig> source, boolean watch) {
        this.reloadSource = source;
        if (watch) {
            startup.source().file().ifPresent(file -> watcher = new ConfigWatcher(file, () -> reload("file change"), 1000));
        }
    }

    /**
     * Builds the whole new pipeline off the request path and swaps it in atomically: each request runs entirely on
     * the old or entirely on the new configuration. A file that does not parse or validate changes nothing.
     */
    public synchronized ReloadResult reload(String trigger) {
        Supplier<SidegateConfig> source = reloadSource;
        if (source == null || stopped.get()) {
            return new ReloadResult.Rejected("this Sidegate has no configuration source to reload from");
        }
        Pipeline current = pipeline.get();
        SidegateConfig next;
        Pipeline built;
        SidegateConfig loaded;
        try {
            loaded = source.get();
            if (loaded.source().version().equals(current.config().source().version())) {
                return new ReloadResult.Unchanged(loaded.source().version());
            }
            next = loaded.withServer(startup.server());
            built = pipeline(next, shared);
        } catch (ConfigException e) {
            shared.resources().keepOnly(current.resources());
            reloadStatus = new ReloadStatus(Instant.now(), e.getMessage(), reloadStatus.restartRequired());
            shared.metrics().configReload("rejected");
            LOG.log(System.Logger.Level.WARNING, "configuration reload (" + trigger + ") rejected, version "
                    + current.config().source().version() + " stays in force: " + e.getMessage());
            return new ReloadResult.Rejected(e.getMessage());
        }
        List<String> restart = startupOnlyChanges(startup, loaded);
        pipeline.set(built);
        shared.resources().keepOnly(built.resources());
        current.close();
        reloadStatus = new ReloadStatus(reloadStatus.rejectedAt(), reloadStatus.rejectedReason(), restart);
        shared.metrics().configReload("ok");
        LOG.log(System.Logger.Level.INFO, "configuration reloaded (" + trigger + "): version " + current.config().source().version()
                + " -> " + next.source().version() + ", routes=" + (next.routesDeclared() ? next.routes().size() : "all-to-upstream")
                + " stages=" + String.join(",", built.stages().stream().map(Stage::name).toList()));
        if (!restart.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "changed settings that apply at startup only, in force after a restart: "
                    + String.join(", ", restart));
        }
        return new ReloadResult.Applied(next.source().version(), restart);
    }

    /** Startup-only settings (listeners, TLS, tracing) whose value in the source differs from the running one. */
    private static List<String> startupOnlyChanges(SidegateConfig running, SidegateConfig file) {
        ServerSettings a = running.server();
        ServerSettings b = file.server();
        List<String> changed = new ArrayList<>();
        if (a.port() != b.port()) {
            changed.add("server.port");
        }
        if (a.adminPort() != b.adminPort()) {
            changed.add("server.admin_port");
        }
        if (!a.tls().equals(b.tls())) {
            changed.add("server.tls");
        }
        if (!a.drainTimeout().equals(b.drainTimeout())) {
            changed.add("server.drain_timeout");
        }
        if (!a.headerTimeout().equals(b.headerTimeout())) {
            changed.add("server.header_timeout");
        }
        if (!a.bodyTimeout().equals(b.bodyTimeout())) {
            changed.add("server.body_timeout");
        }
        if (!a.idleTimeout().equals(b.idleTimeout())) {
            changed.add("server.idle_timeout");
        }
        if (a.maxHeaderSize() != b.maxHeaderSize()) {
            changed.add("server.max_header_size");
        }
        if (a.maxRequestLine() != b.maxRequestLine()) {
            changed.add("server.max_request_line");
        }
        if (a.maxConnections() != b.maxConnections()) {
            changed.add("server.max_connections");
        }
        if (a.maxConnectionsPerIp() != b.maxConnectionsPerIp()) {
            changed.add("server.max_connections_per_ip");
        }
        if (!a.trustedProxies().stream().map(Object::toString).toList()
                .equals(b.trustedProxies().stream().map(Object::toString).toList())) {
            changed.add("server.trusted_proxies");
        }
        if (!a.paths().equals(b.paths())) {
            changed.add("server.paths");
        }
        if (a.keepAliveAfterChunked() != b.keepAliveAfterChunked()) {
            changed.add("server.after_chunked_request");
        }
        if (!running.otelEnvironment().equals(file.otelEnvironment())) {
            changed.add("OTEL_*");
        }
        return changed;
    }

    public SidegateConfig config() {
        return pipeline.get().config();
    }

    /** Readiness as the admin port reports it. */
    public Readiness readiness() {
        return readiness;
    }

    /**
     * Graceful stop, as on SIGTERM: readiness turns false, the listeners stop accepting, idle connections close,
     * and in-flight requests get up to the drain timeout to finish. Returns when all is stopped.
     */
    public void shutdown() {
        if (!stopped.compareAndSet(false, true)) {
            return;
        }
        readiness.draining();
        if (watcher != null) {
            watcher.close();
        }
        Duration drain = config().server().drainTimeout();
        LOG.log(System.Logger.Level.INFO, "draining: no new connections, in-flight requests have up to "
                + Durations.format(drain));
        server.stop();
        admin.stop();
        clientConnections.close();
        adminConnections.close();
        pipeline.get().close();
        shared.close();
        LOG.log(System.Logger.Level.INFO, "stopped");
    }

    @Override
    public void close() {
        shutdown();
    }

    private static void warnAboutUnenforcedRoutes(SidegateConfig config) {
        if (config.auth().isPresent()) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, "auth is off: no route requires a token");
        for (var route : config.routes()) {
            if (route.permission().isPresent()) {
                LOG.log(System.Logger.Level.WARNING, "route " + route.path() + " names permission "
                        + route.permission().get() + " but auth is off: the route is open");
            }
        }
    }

    private String describe() {
        SidegateConfig c = config();
        ServerSettings s = c.server();
        String scheme = s.tls().isPresent() ? "https" : "http";
        List<String> stageNames = pipeline.get().stages().stream().map(Stage::name).toList();
        return "sidegate started: proxy=" + scheme + "://0.0.0.0:" + port()
                + " admin=http://0.0.0.0:" + adminPort()
                + " upstream=" + c.defaultUpstream()
                + " config=" + c.source().file().map(p -> p + " (version " + c.source().version() + ")").orElse("none")
                + " routes=" + (c.routesDeclared() ? c.routes().size() : "all-to-upstream")
                + " auth=" + c.auth().map(Sidegate::describeAuth).orElse("off")
                + " rate_limits=" + c.rateLimits().map(r -> r.redis().map(redis -> "redis " + String.join(",", redis.redactedUrls()))
                        .orElse("local")).orElse("off")
                + " stages=" + String.join(",", stageNames)
                + " drain_timeout=" + Durations.format(s.drainTimeout());
    }
}
