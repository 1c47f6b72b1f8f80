package dev.sidegate.proxy;

import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.sidegate.config.Messages;
import dev.sidegate.config.RouteSettings;
import dev.sidegate.config.SidegateConfig;

/**
 * Everything a request needs that a configuration reload may change: the route table and the stages, ending
 * with the upstream call. A request takes one pipeline when it arrives and runs on it to the end.
 */
public final class Pipeline implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Pipeline.class.getName());

    private final SidegateConfig config;
    private final RouteTable routes;
    private final List<Stage> stages;
    private final Map<RouteSettings, List<Stage>> routeStages;
    private final Set<Object> resources;

    /**
     * @param config    the configuration this pipeline was built from
     * @param routes    the route table
     * @param stages    the stages in order; the last one answers without calling the chain (the upstream call)
     * @param resources keys of the shared {@link Resources} its stages use
     */
    public Pipeline(SidegateConfig config, RouteTable routes, List<Stage> stages, Set<Object> resources) {
        this(config, routes, stages, Map.of(), resources);
    }

    /**
     * @param routeStages for routes that run more stages than the rest (plugins enabled on that route): the whole
     *                    list of stages for that route, keyed by the route's settings instance
     */
    public Pipeline(SidegateConfig config, RouteTable routes, List<Stage> stages, Map<RouteSettings, List<Stage>> routeStages,
                    Set<Object> resources) {
        if (stages.isEmpty() || routeStages.values().stream().anyMatch(List::isEmpty)) {
            throw new IllegalArgumentException("a pipeline needs at least its final stage");
        }
        this.config = config;
        this.routes = routes;
        this.stages = List.copyOf(stages);
        IdentityHashMap<RouteSettings, List<Stage>> perRoute = new IdentityHashMap<>();
        routeStages.forEach((route, list) -> perRoute.put(route, List.copyOf(list)));
        this.routeStages = perRoute;
        this.resources = Set.copyOf(resources);
    }

    /** Keys of the shared parts this pipeline uses. */
    public Set<Object> resources() {
        return resources;
    }

    public SidegateConfig config() {
        return config;
    }

    public RouteTable routes() {
        return routes;
    }

    public List<Stage> stages() {
        return stages;
    }

    /** The stages whose dependencies decide readiness. */
    public List<ReadinessCheck> readinessChecks() {
        return stages.stream().filter(ReadinessCheck.class::isInstance).map(ReadinessCheck.class::cast).toList();
    }

    /** Releases what the stages hold (background fetchers, connections). */
    @Override
    public void close() {
        Set<Stage> all = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        all.addAll(stages);
        routeStages.values().forEach(all::addAll);
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

    ProxyResponse run(Exchange exchange, ProxyRequest request) {
        return new Link(exchange, routeStages.getOrDefault(exchange.route().settings(), stages), 0).proceed(request);
    }

    private final class Link implements Stage.Chain {
        private final Exchange exchange;
        private final List<Stage> stages;
        private final int index;

        Link(Exchange exchange, List<Stage> stages, int index) {
            this.exchange = exchange;
            this.stages = stages;
            this.index = index;
        }

        @Override
        public Exchange exchange() {
            return exchange;
        }

        @Override
        public ProxyResponse proceed(ProxyRequest request) {
            if (index >= stages.size()) {
                throw new IllegalStateException("the final stage must answer without proceeding");
            }
            Stage stage = stages.get(index);
            try {
                return stage.apply(request, new Link(exchange, stages, index + 1));
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
