package dev.sidegate.proxy;

import java.util.List;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.uri.UriValidator;
import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.Headers;
import io.helidon.http.HtmlEncoder;
import io.helidon.http.HttpPrologue;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.http.DirectTransportRequest;
import io.helidon.webserver.http1.Http1ConnectionListener;

/**
 * The request's {@code Host} header checked as Helidon's full validation checks it (exactly one, not empty, an IP
 * literal or an RFC 3986 registered name with an optional numeric port), with the same 400 refusals, but without its
 * regular expression per request: Helidon first matches every host against an IPv4 pattern, which only lets it skip
 * the character loop that an IPv4 address passes anyway; that match was 3% of the plain path's Java samples
 * (loadtest/ANALYSIS.md). The proxy listener turns Helidon's own check off ({@code validateRequestHostHeader(false)})
 * and installs this one as its receive listener. A host of letters, digits, dots and hyphens (nearly every real one)
 * is accepted by one loop; anything else goes to Helidon's {@link UriValidator}, so the refusals stay Helidon's.
 *
 * <p>It wraps the one other receive listener instead of being added beside it: Helidon 4.5.0 combines two or more
 * receive listeners into a composite that forwards no call at all ({@code Http1ConnectionListenerUtil.ListFrameListener}),
 * which would silently switch off the header and body timeouts of {@link ClientConnections}.
 */
public final class HostHeaderCheck implements Http1ConnectionListener {
    private static final boolean[] PLAIN = new boolean[128];

    static {
        for (char c = 'a'; c <= 'z'; c++) {
            PLAIN[c] = true;
            PLAIN[Character.toUpperCase(c)] = true;
        }
        for (char c = '0'; c <= '9'; c++) {
            PLAIN[c] = true;
        }
        PLAIN['.'] = true;
        PLAIN['-'] = true;
    }

    private final Http1ConnectionListener first;
    // The prologue of the request whose headers come next on this connection's thread.
    private final ThreadLocal<HttpPrologue> prologue = new ThreadLocal<>();

    /** @param first the listener that hears every event before this check */
    public HostHeaderCheck(Http1ConnectionListener first) {
        this.first = first;
    }

    @Override
    public void prologue(ConnectionContext ctx, HttpPrologue prologue) {
        first.prologue(ctx, prologue);
        this.prologue.set(prologue);
    }

    @Override
    public void headers(ConnectionContext ctx, Headers headers) {
        first.headers(ctx, headers);
        HttpPrologue request = prologue.get();
        prologue.remove();
        check(request, headers);
    }

    @Override
    public void status(ConnectionContext ctx, Status status) {
        first.status(ctx, status);
    }

    @Override
    public void data(ConnectionContext ctx, BufferData data) {
        first.data(ctx, data);
    }

    @Override
    public void data(ConnectionContext ctx, byte[] bytes, int offset, int length) {
        first.data(ctx, bytes, offset, length);
    }

    /** Throws Helidon's 400 {@link RequestException} (the connection closes after it) unless the Host header is valid. */
    static void check(HttpPrologue prologue, Headers headers) {
        List<String> hosts = headers.contains(HeaderNames.HOST) ? headers.get(HeaderNames.HOST).allValues() : List.of();
        if (hosts.isEmpty()) {
            throw refusal(prologue, headers, "Host header must be present in the request");
        }
        if (hosts.size() > 1) {
            throw refusal(prologue, headers, "Only a single Host header is allowed in request");
        }
        String host = hosts.getFirst();
        if (host.isEmpty()) {
            throw refusal(prologue, headers, "Host header must not be empty");
        }
        try {
            int startLiteral = host.indexOf('[');
            int endLiteral = host.lastIndexOf(']');
            if (startLiteral == 0 && (endLiteral == host.length() - 1 || endLiteral == -1)) {
                UriValidator.validateIpLiteral(host);
                return;
            }
            int colon = host.lastIndexOf(':');
            String name = host;
            if (colon != -1) {
                String port = host.substring(colon + 1);
                try {
                    Integer.parseInt(port);
                } catch (NumberFormatException e) {
                    throw refusal(prologue, headers, "Invalid port of the host header: " + HtmlEncoder.encode(port));
                }
                name = host.substring(0, colon);
                if (startLiteral == 0 && endLiteral == name.length() - 1) {
                    UriValidator.validateIpLiteral(name);
                    return;
                }
            }
            if (!plain(name)) {
                UriValidator.validateNonIpLiteral(name);
            }
        } catch (IllegalArgumentException e) {
            throw refusal(prologue, headers, "Invalid Host header: " + e.getMessage(), e);
        }
    }

    /** Letters, digits, dots and hyphens only, and not empty: a registered name (or IPv4 address) as it stands. */
    private static boolean plain(String name) {
        if (name.isEmpty()) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 128 || !PLAIN[c]) {
                return false;
            }
        }
        return true;
    }

    private static RequestException refusal(HttpPrologue prologue, Headers headers, String message) {
        return refusal(prologue, headers, message, null);
    }

    /** Helidon's own 400 for a bad Host, so that the error page and the closed connection are the same as before. */
    private static RequestException refusal(HttpPrologue prologue, Headers headers, String message, Throwable cause) {
        RequestException.Builder builder = RequestException.builder()
                .type(DirectHandler.EventType.BAD_REQUEST)
                .status(Status.BAD_REQUEST_400)
                .request(DirectTransportRequest.create(prologue, headers))
                .setKeepAlive(false)
                .message(message);
        if (cause != null) {
            builder.cause(cause);
        }
        return builder.build();
    }
}
