package dev.sidegate.proxy;

import java.time.Duration;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.sidegate.config.Messages;

/**
 * Everything a request needs that a configuration reload may change: the route table, each route's own list of
 * stages (ending with the upstream call), and the observer that records it. A request takes one pipeline when it
 * arrives and runs on it to the end. Immutable once built.
 */
public final class Pipeline implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Pipeline.class.getName());

    private final RouteTable routes;
    private final Map<Route, List<Stage>> stages;
    private final RequestObserver observer;

    /**
     * @param routes   the route table
     * @param stages   every route's stages in order; the last one answers without calling the chain (the upstream call)
     * @param observer sees every request (telemetry)
     */
    public Pipeline(RouteTable routes, Map<Route, List<Stage>> stages, RequestObserver observer) {
        IdentityHashMap<Route, List<Stage>> byRoute = new IdentityHashMap<>();
        for (Route route : routes.routes()) {
            List<Stage> list = stages.get(route);
            if (list == null || list.isEmpty()) {
                throw new IllegalArgumentException("route " + route.id() + " needs at least its final stage");
            }
            byRoute.put(route, List.copyOf(list));
        }
        this.routes = routes;
        this.stages = byRoute;
        this.observer = observer;
    }

    public RouteTable routes() {
        return routes;
    }

    /** The stages of one route of this pipeline, in order. */
    public List<Stage> stages(Route route) {
        return stages.get(route);
    }

    public RequestObserver observer() {
        return observer;
    }

    /** Releases what the stages hold (plugins' resources). Each stage is closed once, even when routes share it. */
    @Override
    public void close() {
        Set<Stage> all = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        stages.values().forEach(all::addAll);
        for (Stage stage : all) {
            if (stage instanceof AutoCloseable closeable) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    LOG.log(System.Logger.Level.WARNING, "closing stage " + stage.name() + " failed: " + Messages.oneLine(e));
                }
            }
        }
    }

    /** The names of every stage in use, in the order they first appear, for the startup line. */
    public List<String> stageNames() {
        Collection<String> names = new LinkedHashSet<>();
        for (Route route : routes.routes()) {
            stages.get(route).forEach(s -> names.add(s.name()));
        }
        return List.copyOf(names);
    }

    ProxyResponse run(Exchange exchange, ProxyRequest request) {
        return new Link(exchange, stages.get(exchange.route()), 0, null).proceed(request);
    }

    private static final class Link implements Stage.Chain {
        private final Exchange exchange;
        private final List<Stage> stages;
        private final int index;
        private final Duration responseTimeout;

        Link(Exchange exchange, List<Stage> stages, int index, Duration responseTimeout) {
            this.exchange = exchange;
            this.stages = stages;
            this.index = index;
            this.responseTimeout = responseTimeout;
        }

        @Override
        public Exchange exchange() {
            return exchange;
        }

        @Override
        public Optional<Duration> responseTimeout() {
            return Optional.ofNullable(responseTimeout);
        }

        @Override
        public Stage.Chain withResponseTimeout(Duration timeout) {
            return new Link(exchange, stages, index, timeout);
        }

        @Override
        public ProxyResponse proceed(ProxyRequest request) {
            if (index >= stages.size()) {
                throw new IllegalStateException("the final stage must answer without proceeding");
            }
            Stage stage = stages.get(index);
            try {
                return stage.apply(request, new Link(exchange, stages, index + 1, responseTimeout));
            } catch (StageFailure e) {
                throw e;
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "stage " + stage.name() + " failed on route " + exchange.route().id()
                        + " (trace " + exchange.traceId() + "): " + e.getClass().getSimpleName() + ": " + Messages.oneLine(e));
                LOG.log(System.Logger.Level.DEBUG, "stage failure", e);
                throw new StageFailure(stage.name());
            }
        }
    }

    /** Unwinds the remaining stages once a stage has failed, so the failure is reported once, for that stage. */
    static final class StageFailure extends RuntimeException {
        private final String stage;

        StageFailure(String stage) {
            super(stage, null, false, false);
            this.stage = stage;
        }

        Problem problem() {
            return Problem.of(500, "stage-failed", "Internal error", "the " + stage + " stage failed on this request");
        }
    }
}
