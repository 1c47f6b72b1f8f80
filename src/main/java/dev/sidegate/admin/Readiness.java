package dev.sidegate.admin;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import dev.sidegate.assembly.RouteSettings;
import dev.sidegate.assembly.SidegateConfig;
import dev.sidegate.assembly.Deployment;
import dev.sidegate.proxy.ReadinessCheck;
import io.helidon.health.HealthCheck;
import io.helidon.health.HealthCheckResponse;
import io.helidon.health.HealthCheckType;

/**
 * Readiness: true once the configuration is loaded and the proxy listener serves, while every upstream host
 * resolves to an address and every pipeline dependency (JWKS, Redis) reports ready, and false for good once draining
 * starts (SIGTERM), so that Kubernetes stops sending traffic before the listener closes.
 */
public final class Readiness implements HealthCheck {
    private final Supplier<Deployment> deployment;
    private volatile boolean serving;
    private volatile boolean draining;

    public Readiness(Supplier<Deployment> deployment) {
        this.deployment = deployment;
    }

    public void serving() {
        this.serving = true;
    }

    public void draining() {
        this.draining = true;
    }

    public boolean isDraining() {
        return draining;
    }

    @Override
    public HealthCheckType type() {
        return HealthCheckType.READINESS;
    }

    @Override
    public String name() {
        return "sidegate";
    }

    @Override
    public HealthCheckResponse call() {
        Map<String, Object> details = new LinkedHashMap<>();
        Deployment live = deployment.get();
        SidegateConfig current = live.config();
        boolean up = serving && !draining;
        details.put("config_version", current.source().version());
        details.put("draining", draining);
        Set<URI> upstreams = new LinkedHashSet<>();
        for (RouteSettings route : current.routes()) {
            upstreams.add(route.upstream());
        }
        for (URI upstream : upstreams) {
            String host = upstream.getHost();
            boolean resolves = resolves(host.startsWith("[") ? host.substring(1, host.length() - 1) : host);
            details.put("upstream " + upstream, resolves ? "resolved" : "unresolved");
            up &= resolves;
        }
        for (ReadinessCheck check : live.readinessChecks()) {
            ReadinessCheck.Status status = check.readiness();
            details.put(status.component(), status.detail());
            up &= status.ready();
        }
        HealthCheckResponse.Builder response = HealthCheckResponse.builder().status(up);
        details.forEach(response::detail);
        return response.build();
    }

    private static boolean resolves(String host) {
        try {
            InetAddress.getAllByName(host);
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
