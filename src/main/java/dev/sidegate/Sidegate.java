package dev.sidegate;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import dev.sidegate.admin.AdminListener;
import dev.sidegate.admin.AdminService;
import dev.sidegate.admin.AdminStatus;
import dev.sidegate.proxy.Tunnels;
import dev.sidegate.admin.Readiness;
import dev.sidegate.assembly.Assembly;
import dev.sidegate.assembly.ConfigLoader;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.assembly.SharedParts;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.config.Durations;
import dev.sidegate.config.ReloadResult;
import dev.sidegate.config.ReloadStatus;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.proxy.ClientConnections;
import dev.sidegate.proxy.ConnectionLimits;
import dev.sidegate.proxy.Forwarding;
import dev.sidegate.proxy.PathNormalizer;
import dev.sidegate.proxy.ProxyHandler;
import dev.sidegate.proxy.RequestIds;
import io.helidon.webserver.WebServer;

/**
 * One running Sidegate: starts the two listeners on a deployment built by the {@link Assembly}, and stops them.
 * {@link Main} starts one from the environment; tests start several in one JVM on random ports.
 */
public final class Sidegate implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Sidegate.class.getName());

    private final WebServer server;
    private final WebServer admin;
    private final AtomicReference<Deployment> deployment;
    private final Readiness readiness;
    private final SharedParts shared;
    private final Reloader reloader;
    private final ClientConnections clientConnections;
    private final ClientConnections adminConnections;
    private final AtomicBoolean stopped = new AtomicBoolean();

    private Sidegate(WebServer server, WebServer admin, AtomicReference<Deployment> deployment, Readiness readiness,
                     SharedParts shared, Reloader reloader, ClientConnections clientConnections,
                     ClientConnections adminConnections) {
        this.server = server;
        this.admin = admin;
        this.deployment = deployment;
        this.readiness = readiness;
        this.shared = shared;
        this.reloader = reloader;
        this.clientConnections = clientConnections;
        this.adminConnections = adminConnections;
    }

    /**
     * Loads the configuration from the environment (and the file it names), starts, and keeps the file under watch:
     * a change, SIGHUP or {@code POST /admin/reload} applies a new configuration without a restart.
     *
     * @throws dev.sidegate.config.ConfigException when the configuration is invalid
     */
    public static Sidegate start(Map<String, String> env) {
        HelidonRegistry.useExplicitWiring();
        SidegateConfig config = ConfigLoader.load(env);
        Sidegate sidegate = start(config);
        sidegate.reloadFrom(() -> ConfigLoader.load(env), config.watchFile());
        return sidegate;
    }

    /** Starts with a fixed configuration (no reloads until {@link #reloadFrom} names a source). */
    public static Sidegate start(SidegateConfig config) {
        HelidonRegistry.useExplicitWiring();
        SharedParts shared = SharedParts.create(config);
        Deployment first;
        try {
            first = Assembly.build(config, shared);
        } catch (RuntimeException e) {
            shared.close();
            throw e;
        }
        ServerSettings settings = config.server();
        AtomicReference<Deployment> deployment = new AtomicReference<>(first);
        Reloader reloader = new Reloader(deployment, shared);
        Readiness readiness = new Readiness(deployment::get);
        Forwarding forwarding = new Forwarding(settings.trustedProxies());
        ConnectionLimits limits = new ConnectionLimits(settings.maxConnections(), settings.maxConnectionsPerIp(), forwarding,
                                                       shared.metrics()::connectionRefused, shared.housekeeping());
        shared.metrics().openConnections(limits::open);
        ClientConnections clientConnections = new ClientConnections(settings.headerTimeout(), settings.bodyTimeout(),
                                                                    limits, settings.requestIdHeader(), shared.housekeeping());
        ClientConnections adminConnections = new ClientConnections(
                settings.headerTimeout(), settings.bodyTimeout(),
                new ConnectionLimits(AdminListener.MAX_CONNECTIONS, AdminListener.MAX_CONNECTIONS_PER_IP, forwarding,
                                     reason -> shared.metrics().connectionRefused("admin_" + reason), shared.housekeeping()),
                null, shared.housekeeping());
        Tunnels tunnels = new Tunnels(settings.maxTunnels(), settings.websocketMaxFrameBytes());
        shared.metrics().openTunnels(tunnels::open);
        shared.metrics().bufferedBodyBytes(shared.bufferBudget()::used);
        ProxyHandler handler = new ProxyHandler(() -> deployment.get().pipeline(), new PathNormalizer(settings.paths()),
                                                forwarding, new RequestIds(settings.requestIdHeader(), forwarding),
                                                clientConnections, settings.keepAliveAfterChunked(),
                                                tunnels);
        AdminStatus status = new AdminStatus(deployment::get, readiness, shared.guards(), shared.metrics(),
                                             shared.telemetry().recentProblems(), reloader::status, tunnels);
        AdminService views = new AdminService(() -> deployment.get().config(), shared.guards(), () -> reloader.reload("POST /admin/reload"),
                                              reloader::status, settings.adminToken(), status);
        WebServer admin;
        WebServer server;
        try {
            ProxyListener.ensureFree(settings.adminPort(), "admin");
            ProxyListener.ensureFree(settings.port(), "proxy");
            first.activate();
            admin = ProxyListener.started(AdminListener.create(settings, readiness, views, shared.metrics(), adminConnections)
                                                  .start(), "admin", settings.adminPort());
            try {
                server = ProxyListener.started(ProxyListener.create(settings, handler, clientConnections).start(), "proxy",
                                               settings.port());
            } catch (RuntimeException e) {
                admin.stop();
                throw e;
            }
        } catch (RuntimeException e) {
            clientConnections.close();
            adminConnections.close();
            first.discard();
            shared.close();
            throw e;
        }
        Sidegate sidegate = new Sidegate(server, admin, deployment, readiness, shared, reloader, clientConnections,
                                         adminConnections);
        readiness.serving();
        StartupReport.log(first, server.port(), admin.port());
        return sidegate;
    }

    public int port() {
        return server.port();
    }

    public int adminPort() {
        return admin.port();
    }

    public ReloadStatus reloadStatus() {
        return reloader.status();
    }

    /** Names where reloads read the configuration from, and whether to watch the file (if any) for changes. */
    public void reloadFrom(Supplier<SidegateConfig> source, boolean watch) {
        reloader.reloadFrom(source, watch);
    }

    /** Reloads now (SIGHUP, the admin port, a changed file); see {@link Reloader}. */
    public ReloadResult reload(String trigger) {
        return stopped.get() ? new ReloadResult.Rejected("Sidegate is stopping") : reloader.reload(trigger);
    }

    public SidegateConfig config() {
        return deployment.get().config();
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
        reloader.close();
        LOG.log(System.Logger.Level.INFO, "draining: no new connections, in-flight requests have up to "
                + Durations.format(config().server().drainTimeout()));
        server.stop();
        admin.stop();
        clientConnections.close();
        adminConnections.close();
        deployment.get().retire();
        shared.close();
        LOG.log(System.Logger.Level.INFO, "stopped");
    }

    @Override
    public void close() {
        shutdown();
    }
}
