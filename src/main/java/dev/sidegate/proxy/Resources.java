package dev.sidegate.proxy;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import dev.sidegate.config.Messages;

/**
 * Long-lived parts that pipelines share and that a configuration reload keeps when their settings did not change:
 * the Redis connection and its breaker, local token buckets, the JWKS cache. Each is created on first use under a
 * key (its settings); after a reload, parts that the new pipeline no longer uses are closed a little later, once
 * requests still running on the old pipeline are done with them.
 */
public final class Resources implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Resources.class.getName());

    private final Map<Object, AutoCloseable> live = new ConcurrentHashMap<>();
    private final long retireDelayMillis;
    private final ScheduledExecutorService retirer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sidegate-retire-resources");
        t.setDaemon(true);
        return t;
    });

    /** @param retireDelayMillis how long a part outlives the last pipeline that used it */
    public Resources(long retireDelayMillis) {
        this.retireDelayMillis = retireDelayMillis;
    }

    /** Collects the parts one pipeline uses while it is built. */
    public final class Build {
        private final Set<Object> keys = new HashSet<>();

        private Build() {
        }

        /** The part for this key: the existing one, or a new one from the supplier. */
        public <T extends AutoCloseable> T get(Object key, Supplier<T> create) {
            keys.add(key);
            @SuppressWarnings("unchecked")
            T part = (T) live.computeIfAbsent(key, k -> create.get());
            return part;
        }

        public Set<Object> keys() {
            return Set.copyOf(keys);
        }
    }

    public Build build() {
        return new Build();
    }

    /** Retires, after the delay, every part not used by the pipeline that is now current. */
    public void keepOnly(Set<Object> inUse) {
        for (Map.Entry<Object, AutoCloseable> e : live.entrySet()) {
            if (!inUse.contains(e.getKey())) {
                Object key = e.getKey();
                AutoCloseable part = e.getValue();
                live.remove(key, part);
                retirer.schedule(() -> close(part), retireDelayMillis, TimeUnit.MILLISECONDS);
            }
        }
    }

    private static void close(AutoCloseable part) {
        try {
            part.close();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "closing a retired " + part.getClass().getSimpleName() + " failed: "
                    + Messages.oneLine(e));
        }
    }

    @Override
    public void close() {
        retirer.shutdownNow();
        live.values().forEach(Resources::close);
        live.clear();
    }
}
