package dev.sidegate.proxy;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import dev.sidegate.config.Messages;

/**
 * Long-lived parts that pipelines share and that a configuration reload keeps when their settings did not change:
 * the Redis connection and its breaker, local token buckets, the JWKS cache. Each lives under a key (its settings).
 *
 * <p>Building a pipeline has no side effects: a {@link Build} hands out the live part for a key, or creates a new
 * one that stays unstarted and unregistered. Only {@link Build#commit} (when the pipeline is swapped in) makes new
 * parts live and {@link Part#start starts} them (connects, fetches); {@link Build#discard} (a rejected reload)
 * closes them unstarted. Parts the live pipeline no longer uses are closed a little later, once requests still
 * running on the old pipeline are done with them.
 */
public final class Resources implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Resources.class.getName());

    /** A long-lived part. Creating one must not touch the network; {@link #start} does. */
    public interface Part extends AutoCloseable {
        /** Called once, when the first pipeline that uses the part goes live. */
        default void start() {
        }

        @Override
        void close();
    }

    private final Map<Object, Part> live = new ConcurrentHashMap<>();
    private final long retireDelayMillis;
    private final ScheduledExecutorService timers;

    /**
     * @param retireDelayMillis how long a part outlives the last pipeline that used it
     * @param timers            closes retired parts after the delay
     */
    public Resources(long retireDelayMillis, ScheduledExecutorService timers) {
        this.retireDelayMillis = retireDelayMillis;
        this.timers = timers;
    }

    /** The parts one pipeline uses, collected while it is built. */
    public final class Build {
        private final Map<Object, Part> created = new LinkedHashMap<>();
        private final Set<Object> keys = new HashSet<>();

        private Build() {
        }

        /** The part for this key: the live one, or one created for this build. */
        public <T extends Part> T get(Object key, Supplier<T> create) {
            keys.add(key);
            Part part = live.get(key);
            if (part == null) {
                part = created.computeIfAbsent(key, k -> create.get());
            }
            @SuppressWarnings("unchecked")
            T typed = (T) part;
            return typed;
        }

        /** The pipeline of this build is live: its new parts become live and start; unused ones retire. */
        public void commit() {
            created.forEach((key, part) -> {
                live.put(key, part);
                part.start();
            });
            created.clear();
            for (Map.Entry<Object, Part> e : live.entrySet()) {
                if (!keys.contains(e.getKey()) && live.remove(e.getKey(), e.getValue())) {
                    Part part = e.getValue();
                    timers.schedule(() -> close(part), retireDelayMillis, TimeUnit.MILLISECONDS);
                }
            }
        }

        /** The pipeline of this build will never run: the parts created for it are closed, unstarted. */
        public void discard() {
            created.values().forEach(Resources::close);
            created.clear();
        }
    }

    public Build build() {
        return new Build();
    }

    private static void close(Part part) {
        try {
            part.close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "closing a retired " + part.getClass().getSimpleName() + " failed: "
                    + Messages.oneLine(e));
        }
    }

    @Override
    public void close() {
        live.values().forEach(Resources::close);
        live.clear();
    }
}
