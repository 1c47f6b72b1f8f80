package dev.sidegate.telemetry;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The garbage collector's meters, read from the collector and memory-pool MXBeans when scraped. Micrometer's
 * {@code JvmGcMetrics} listens to the JMX notification of every collection instead, and with a listener registered
 * the JVM builds each notification's memory-pool data on its notification thread: about 300 us per young collection,
 * 1.7% of the full pipeline's CPU at saturation, where the young generation fills dozens of times a second
 * (loadtest/ANALYSIS.md). Names as Micrometer's: {@code jvm_gc_pause_seconds} (count and sum per collector, no max),
 * {@code jvm_gc_memory_allocated_bytes_total}, {@code jvm_gc_live_data_size_bytes}, {@code jvm_gc_max_data_size_bytes}.
 */
final class GcMeters {
    private GcMeters() {
    }

    // Micrometer holds a meter's object weakly; the JDK keeps its MXBeans for the life of the JVM (sun.management
    // caches them), and the gauges say so too.
    static void bindTo(MeterRegistry registry) {
        for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
            FunctionTimer.builder("jvm.gc.pause", collector, GarbageCollectorMXBean::getCollectionCount,
                                  GarbageCollectorMXBean::getCollectionTime, TimeUnit.MILLISECONDS)
                    .tag("gc", collector.getName())
                    .description("Collections and the time spent in them, per collector")
                    .register(registry);
        }
        if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
                && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
            FunctionCounter.builder("jvm.gc.memory.allocated", threads, com.sun.management.ThreadMXBean::getTotalThreadAllocatedBytes)
                    .baseUnit("bytes")
                    .description("Bytes allocated in the heap by all threads since the JVM started")
                    .register(registry);
        }
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && isOldGeneration(pool.getName())) {
                Gauge.builder("jvm.gc.live.data.size", pool, p -> used(p.getCollectionUsage()))
                        .strongReference(true)
                        .baseUnit("bytes")
                        .description("The old generation's use after its last collection")
                        .register(registry);
                Gauge.builder("jvm.gc.max.data.size", pool, p -> p.getUsage().getMax())
                        .strongReference(true)
                        .baseUnit("bytes")
                        .description("The old generation's maximum size")
                        .register(registry);
            }
        }
    }

    /** The tenured pool of the serial, parallel, G1, ZGC and Shenandoah collectors, by the names the JVM gives them. */
    private static boolean isOldGeneration(String poolName) {
        return poolName.contains("Old Gen") || poolName.equals("Tenured Gen") || poolName.contains("Old Space")
                || poolName.equals("ZGC Old Generation") || poolName.equals("Shenandoah");
    }

    private static double used(MemoryUsage usage) {
        return usage == null ? Double.NaN : usage.getUsed();
    }
}
