package dev.sidegate.proxy;

import java.net.InetAddress;
import java.util.function.Function;

/**
 * Sees each request from arrival to the last byte written: telemetry (traces, meters, the access log) implements it,
 * so that the core knows no telemetry.
 */
public interface RequestObserver {

    /**
     * A request arrived.
     *
     * @param requestId the request's id ({@link RequestIds})
     * @param header    a header's first value by name (null when absent)
     */
    Observation begin(String method, InetAddress peer, String requestId, Function<String, String> header);

    /** One request being observed; {@link #finish} is called exactly once, on the request's thread. */
    interface Observation {
        /** The id that ties the request's problem body, logs and traces together. */
        String traceId();

        /**
         * @param status   the status the client got
         * @param path     the normalised path, or the raw path when it was refused
         * @param exchange what the pipeline knew (null when the request never reached it: bad path, no route)
         * @param failure  set when the response could not be completed (the connection was cut)
         * @param problem  the problem Sidegate answered with; null when the answer was the upstream's
         */
        void finish(int status, String path, Exchange exchange, String failure, Problem problem);
    }

    /** Sees nothing, and makes a fresh trace id per request. */
    RequestObserver NONE = (method, peer, requestId, header) -> new Observation() {
        private final String traceId = TraceIds.fromTraceparent(header.apply("traceparent"));

        @Override
        public String traceId() {
            return traceId;
        }

        @Override
        public void finish(int status, String path, Exchange exchange, String failure, Problem problem) {
        }
    };
}
