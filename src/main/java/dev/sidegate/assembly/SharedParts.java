package dev.sidegate.assembly;

import java.util.concurrent.ScheduledExecutorService;

import dev.sidegate.plugin.Plugins;
import dev.sidegate.proxy.Daemons;
import dev.sidegate.proxy.Resources;
import dev.sidegate.resilience.UpstreamGuards;
import dev.sidegate.telemetry.AccessLog;
import dev.sidegate.telemetry.SidegateMetrics;
import dev.sidegate.telemetry.Telemetry;
import dev.sidegate.telemetry.Tracing;
import dev.sidegate.upstream.Upstreams;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.helidon.metrics.api.MeterRegistry;
import io.helidon.metrics.api.Metrics;

/**
 * What outlives a configuration, one set per Sidegate: the meter registry, telemetry, upstream connection pools,
 * breakers and bulkheads, long-lived parts (Redis, JWKS), loaded plugins, and the one housekeeping timer thread.
 * Every pipeline of this Sidegate is built on the same shared parts.
 */
public final class SharedParts implements AutoCloseable {
    private final ScheduledExecutorService housekeeping;
    private final MeterRegistry registry;
    private final Telemetry telemetry;
    private final Upstreams upstreams;
    private final CircuitBreakerRegistry breakers;
    private final UpstreamGuards guards;
    private final Resources resources;
    private final Plugins plugins;

    private SharedParts(ScheduledExecutorService housekeeping, MeterRegistry registry, Telemetry telemetry, Upstreams upstreams,
                        CircuitBreakerRegistry breakers, UpstreamGuards guards, Resources resources, Plugins plugins) {
        this.housekeeping = housekeeping;
        this.registry = registry;
        this.telemetry = telemetry;
        this.upstreams = upstreams;
        this.breakers = breakers;
        this.guards = guards;
        this.resources = resources;
        this.plugins = plugins;
    }

    /** From the startup configuration: plugins and tracing are startup-only. */
    public static SharedParts create(SidegateConfig config) {
        Plugins plugins = Plugins.load(config.pluginsDir());
        ScheduledExecutorService housekeeping = Daemons.scheduler("sidegate-housekeeping");
        MeterRegistry registry = meterRegistry();
        SidegateMetrics metrics = new SidegateMetrics(registry);
        Telemetry telemetry = new Telemetry(Tracing.fromEnvironment(config.otelEnvironment()), metrics, new AccessLog(System.out));
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.ofDefaults();
        // Parts a reload retires stay open as long as a request may still be draining on the old pipeline.
        Resources resources = new Resources(config.server().drainTimeout().toMillis() + 1000, housekeeping);
        return new SharedParts(housekeeping, registry, telemetry, new Upstreams(housekeeping), breakers,
                               new UpstreamGuards(breakers, metrics), resources, plugins);
    }

    /**
     * A registry of this Sidegate's own, with the JVM and process meters of Helidon's system meters. Its
     * virtual-thread meters are left out: they keep a JFR recording running, which costs CPU on every pinned thread.
     */
    private static MeterRegistry meterRegistry() {
        MeterRegistry registry = Metrics.createMeterRegistry();
        io.helidon.metrics.api.MetricsFactory factory = io.helidon.metrics.api.MetricsFactory.getInstance();
        for (io.helidon.metrics.spi.MetersProvider provider : java.util.ServiceLoader.load(io.helidon.metrics.spi.MetersProvider.class)) {
            if (!provider.getClass().getSimpleName().startsWith("VThread")) {
                for (io.helidon.metrics.api.Meter.Builder<?, ?> builder : provider.meterBuilders(factory)) {
                    registerRaw(registry, builder);
                }
            }
        }
        return registry;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void registerRaw(MeterRegistry registry, io.helidon.metrics.api.Meter.Builder builder) {
        registry.getOrCreate(builder);
    }

    public ScheduledExecutorService housekeeping() {
        return housekeeping;
    }

    /** This Sidegate's own meter registry (never Helidon's global one). */
    public MeterRegistry registry() {
        return registry;
    }

    public Telemetry telemetry() {
        return telemetry;
    }

    public SidegateMetrics metrics() {
        return telemetry.metrics();
    }

    public Upstreams upstreams() {
        return upstreams;
    }

    public CircuitBreakerRegistry breakers() {
        return breakers;
    }

    public UpstreamGuards guards() {
        return guards;
    }

    public Resources resources() {
        return resources;
    }

    public Plugins plugins() {
        return plugins;
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
