package dev.sidegate.upstream;

import dev.sidegate.proxy.Headers;

/**
 * A parsed response status line and header section, and how its body is framed.
 *
 * @param http11    whether the upstream answered HTTP/1.1 (HTTP/1.0 connections are never reused)
 * @param status    the status code
 * @param headers   every header field as received, in order
 * @param framing   how the body ends
 * @param close     whether the upstream asked to close the connection after this response
 */
record ResponseHead(boolean http11, int status, Headers headers, Framing framing, boolean close) {

    /** How the body of a response is delimited (RFC 9112 section 6.3). */
    sealed interface Framing {
    }

    /** No body: HEAD, 1xx, 204, 304. */
    record NoBody() implements Framing {
    }

    /** Exactly this many bytes. */
    record Length(long bytes) implements Framing {
    }

    /** The chunked transfer coding. */
    record Chunked() implements Framing {
    }

    /** Until the upstream closes the connection. */
    record UntilClose() implements Framing {
    }
}
