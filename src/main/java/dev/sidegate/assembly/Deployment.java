package dev.sidegate.assembly;

import java.util.Collection;
import java.util.List;

import dev.sidegate.proxy.Pipeline;
import dev.sidegate.proxy.ReadinessCheck;
import dev.sidegate.proxy.Resources;
import dev.sidegate.resilience.UpstreamGuards;

/**
 * One configuration, built: its pipeline, what decides readiness, and everything it created that is not live yet.
 * Nothing of it touches live state until {@link #activate}; a rejected reload {@link #discard discards} it.
 */
public final class Deployment {
    private final SidegateConfig config;
    private final Pipeline pipeline;
    private final List<ReadinessCheck> readinessChecks;
    private final Resources.Build parts;
    private final UpstreamGuards guards;
    private final Collection<UpstreamGuards.Guard> prepared;
    private final List<Runnable> activations;

    Deployment(SidegateConfig config, Pipeline pipeline, List<ReadinessCheck> readinessChecks, Resources.Build parts,
               UpstreamGuards guards, Collection<UpstreamGuards.Guard> prepared, List<Runnable> activations) {
        this.config = config;
        this.pipeline = pipeline;
        this.readinessChecks = List.copyOf(readinessChecks);
        this.parts = parts;
        this.guards = guards;
        this.prepared = List.copyOf(prepared);
        this.activations = List.copyOf(activations);
    }

    public SidegateConfig config() {
        return config;
    }

    public Pipeline pipeline() {
        return pipeline;
    }

    /** The pipeline's dependencies that must be available before Sidegate reports ready (the JWKS, Redis). */
    public List<ReadinessCheck> readinessChecks() {
        return readinessChecks;
    }

    /** This deployment is now the one requests get: its new parts start, its guards and gauges become the live ones. */
    public void activate() {
        parts.commit();
        guards.commit(prepared);
        activations.forEach(Runnable::run);
    }

    /** This deployment will never serve: what it created is closed, and nothing live was touched. */
    public void discard() {
        parts.discard();
        pipeline.close();
    }

    /** A newer deployment took over: release what only this one's stages hold (plugins). */
    public void retire() {
        pipeline.close();
    }
}
