package dev.sidegate.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Sidegate's Jackson: one factory whose buffers come from a shared pool. Jackson's default keeps buffers per thread,
 * and Helidon runs a virtual thread per client connection: that was about 16 KB of heap per idle connection.
 */
public final class Json {
    public static final JsonFactory FACTORY = JsonFactory.builder()
            .recyclerPool(JsonRecyclerPools.sharedConcurrentDequePool())
            .build();

    private Json() {
    }

    /** A mapper on the shared factory (configure it, then share it). */
    public static ObjectMapper mapper() {
        return new ObjectMapper(FACTORY);
    }
}
