package dev.sidegate.proxy;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;

/**
 * Problem bodies for errors that Helidon answers before a request reaches the pipeline: malformed request lines
 * and headers, oversized headers (431), too-long request lines (414), request smuggling attempts
 * (conflicting Content-Length and Transfer-Encoding), HTTP/1.0 (505), and unexpected failures (500).
 */
public final class ErrorPages implements DirectHandler {
    // Helidon reports oversized headers as a 400 with this message.
    private static final String HEADER_SIZE_EXCEEDED = "Header size exceeded";
    // Helidon's stand-in for a message it considers unsafe to show.
    private static final String UNSAFE_MESSAGE = "Bad request, see server log for more information";

    private final io.helidon.http.HeaderName requestIdHeader;

    private ErrorPages(io.helidon.http.HeaderName requestIdHeader) {
        this.requestIdHeader = requestIdHeader;
    }

    /**
     * These pages for every kind of event, for a listener's {@code directHandlers}.
     *
     * @param requestIdHeader the header that names each request's id (a fresh one here: the request never reached
     *                        Sidegate's handler), or null for none (the admin port)
     */
    public static DirectHandlers all(String requestIdHeader) {
        ErrorPages pages = new ErrorPages(requestIdHeader == null ? null : HeaderNames.create(requestIdHeader));
        DirectHandlers.Builder handlers = DirectHandlers.builder();
        for (DirectHandler.EventType type : DirectHandler.EventType.values()) {
            handlers.addHandler(type, pages);
        }
        return handlers.build();
    }

    @Override
    public TransportResponse handle(TransportRequest request, EventType eventType, Status status,
                                    ServerResponseHeaders responseHeaders, String message) {
        int code = status.code();
        if (code >= 500 && request.method().isEmpty()) {
            // Helidon could not parse the request line (a control character in the method, for example) and reports
            // it as an internal error: it is the client's.
            return render(request, Problem.of(400, "bad-request", "Bad request", "the request line is malformed"),
                          responseHeaders);
        }
        if (code == 400 && HEADER_SIZE_EXCEEDED.equals(message)) {
            return render(request, Problem.of(431, "headers-too-large", "Request header fields too large",
                                              "the request headers exceed the configured limit"), responseHeaders);
        }
        Problem problem = switch (code) {
            case 414 -> Problem.of(414, "request-line-too-long", "URI too long",
                                   "the request line exceeds the configured limit");
            case 413 -> Problem.of(413, "body-too-large", "Content too large", "the request body exceeds the limit");
            case 505 -> Problem.of(505, "http-version-not-supported", "HTTP version not supported",
                                   "only HTTP/1.1 is accepted");
            case 501 -> Problem.of(501, "not-implemented", "Not implemented", detail(message, "unsupported transfer encoding"));
            default -> code >= 500
                    ? Problem.of(code, "internal-error", "Internal error", "the request could not be processed")
                    : Problem.of(code, "bad-request", "Bad request", detail(message, "the request is malformed"));
        };
        return render(request, problem, responseHeaders);
    }

    private TransportResponse render(TransportRequest request, Problem problem, ServerResponseHeaders headers) {
        String traceparent = request.headers().first(HeaderNames.create("traceparent")).orElse(null);
        String requestId = requestIdHeader == null ? null : RequestIds.generate();
        if (requestId != null) {
            headers.set(HeaderValues.create(requestIdHeader, requestId));
        }
        byte[] body = problem.toJson(TraceIds.fromTraceparent(traceparent), requestId);
        headers.set(HeaderValues.create(HeaderNames.CONTENT_TYPE, Problem.CONTENT_TYPE));
        headers.set(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
        return TransportResponse.builder()
                .status(Statuses.of(problem.status()))
                .headers(headers)
                .entity(body)
                .keepAlive(false)
                .build();
    }

    private static String detail(String message, String fallback) {
        if (message == null || message.isBlank() || message.equals(UNSAFE_MESSAGE)) {
            return fallback;
        }
        return dev.sidegate.config.Messages.oneLine(message, 200);
    }
}
