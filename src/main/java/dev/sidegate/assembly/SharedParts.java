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
import dev.sidegate.transform.BufferBudget;
import dev.sidegate.upstream.Upstreams;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;

/**
 * What outlives a configuration, one set per Sidegate: the meter registry, telemetry, upstream connection pools,
 * breakers and bulkheads, long-lived parts (Redis, JWKS), loaded plugins, the budget of bodies held for
 * transforms, and the one housekeeping timer thread.
 * Every pipeline of this Sidegate is built on the same shared parts.
 */
public final class SharedParts implements AutoCloseable {
    private final ScheduledExecutorService housekeeping;
    private final Telemetry telemetry;
    private final Upstreams upstreams;
    private final CircuitBreakerRegistry breakers;
    private final UpstreamGuards guards;
    private final Resources resources;
    private final Plugins plugins;
    private final BufferBudget bufferBudget;

    private SharedParts(ScheduledExecutorService housekeeping, Telemetry telemetry, Upstreams upstreams,
                        CircuitBreakerRegistry breakers, UpstreamGuards guards, Resources resources, Plugins plugins,
                        BufferBudget bufferBudget) {
        this.housekeeping = housekeeping;
        this.telemetry = telemetry;
        this.upstreams = upstreams;
        this.breakers = breakers;
        this.guards = guards;
        this.resources = resources;
        this.plugins = plugins;
        this.bufferBudget = bufferBudget;
    }

    /** From the startup configuration: plugins and tracing are startup-only. */
    public static SharedParts create(SidegateConfig config) {
        Plugins plugins = Plugins.load(config.pluginsDir());
        ScheduledExecutorService housekeeping = Daemons.scheduler("sidegate-housekeeping");
        SidegateMetrics metrics = new SidegateMetrics();
        Telemetry telemetry = new Telemetry(Tracing.fromEnvironment(config.otelEnvironment()), metrics,
                                            new AccessLog(System.out, housekeeping));
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.ofDefaults();
        // Parts a reload retires stay open as long as a request may still be draining on the old pipeline.
        Resources resources = new Resources(config.server().drainTimeout().toMillis() + 1000, housekeeping);
        return new SharedParts(housekeeping, telemetry, new Upstreams(housekeeping), breakers,
                               new UpstreamGuards(breakers, metrics), resources, plugins,
                               new BufferBudget(config.server().maxBufferedBodyBytes()));
    }

    public ScheduledExecutorService housekeeping() {
        return housekeeping;
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

    /** The bound on bodies that transforms hold, shared by every pipeline (startup-only). */
    public BufferBudget bufferBudget() {
        return bufferBudget;
    }

    @Override
    public void close() {
        resources.close();
        upstreams.close();
        telemetry.close(); // before the scheduler stops: the access log's last lines are flushed here
        housekeeping.shutdownNow();
        telemetry.metrics().close();
        plugins.close();
    }
}
