package dev.sidegate.cors;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.ResponseBody;
import dev.sidegate.proxy.Stage;

/**
 * A route's CORS policy, first in its stage list. A preflight is answered here, before authentication and rate
 * limits (browsers send it without credentials), and never reaches the app; a preflight from an origin, or for a
 * method or header, the policy does not allow gets a 403 with no CORS headers. Every other answer to this route
 * carries {@code Vary: Origin}, and, for an allowed origin, the CORS response headers: the app's, and Sidegate's
 * own problems, alike. The app's own {@code Access-Control-*} headers are replaced, so that a browser never sees two.
 */
public final class CorsStage implements Stage {
    private final CorsSettings settings;
    private final String allowMethods;
    private final String allowHeaders;
    private final String exposeHeaders;
    private final String maxAge;

    public CorsStage(CorsSettings settings) {
        this.settings = settings;
        this.allowMethods = String.join(", ", settings.methods());
        this.allowHeaders = String.join(", ", settings.headers());
        this.exposeHeaders = String.join(", ", settings.exposedHeaders());
        this.maxAge = Long.toString(settings.maxAge().toSeconds());
    }

    @Override
    public String name() {
        return "cors";
    }

    /** Whether the request is a CORS preflight (RFC: Fetch, "CORS-preflight request"). */
    public static boolean isPreflight(String method, Headers headers) {
        return method.equals("OPTIONS") && headers.contains("Origin") && headers.contains("Access-Control-Request-Method");
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        String origin = request.header("Origin").map(o -> o.trim().toLowerCase(Locale.ROOT)).orElse(null);
        if (isPreflight(request.method(), request.headers())) {
            return preflight(request, exchange, origin);
        }
        Headers.Builder answer = Headers.builder().add("Vary", "Origin");
        if (origin != null && settings.allows(origin)) {
            exchange.annotate("cors", "allowed");
            answer.add("Access-Control-Allow-Origin", settings.anyOrigin() && !settings.credentials() ? "*" : origin);
            if (settings.credentials()) {
                answer.add("Access-Control-Allow-Credentials", "true");
            }
            if (!exposeHeaders.isEmpty()) {
                answer.add("Access-Control-Expose-Headers", exposeHeaders);
            }
        } else if (origin != null) {
            // Not refused here: the browser withholds the answer from the page, and a same-origin request (which also
            // carries Origin on POST) must keep working whatever the list says.
            exchange.annotate("cors", "origin_not_allowed");
        }
        exchange.addAnswerHeaders(answer.build());
        ProxyResponse response = chain.proceed(request);
        return withoutAppCorsHeaders(response);
    }

    private ProxyResponse preflight(ProxyRequest request, Exchange exchange, String origin) {
        String method = request.header("Access-Control-Request-Method").orElse("").trim();
        List<String> asked = requestedHeaders(request);
        String refusal = null;
        if (!settings.allows(origin)) {
            refusal = "origin " + printable(origin) + " is not allowed on " + exchange.route().id();
        } else if (!settings.methods().contains(method) || !exchange.route().allows(method)) {
            refusal = "method " + printable(method) + " is not allowed for cross-origin requests on " + exchange.route().id();
        } else if (!settings.anyHeader()) {
            for (String h : asked) {
                if (!settings.headers().contains(h)) {
                    refusal = "request header " + printable(h) + " is not allowed for cross-origin requests on "
                            + exchange.route().id();
                    break;
                }
            }
        }
        Headers.Builder vary = Headers.builder()
                .add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        if (refusal != null) {
            exchange.annotate("cors", "preflight_refused");
            exchange.addAnswerHeaders(vary.build());
            return exchange.problem(Problem.of(403, "cors-refused", "Cross-origin request refused", refusal));
        }
        exchange.annotate("cors", "preflight");
        Headers.Builder h = vary
                .add("Access-Control-Allow-Origin", settings.anyOrigin() && !settings.credentials() ? "*" : origin)
                .add("Access-Control-Allow-Methods", allowMethods)
                .add("Access-Control-Max-Age", maxAge);
        if (settings.credentials()) {
            h.add("Access-Control-Allow-Credentials", "true");
        }
        String headers = settings.anyHeader() ? String.join(", ", asked) : allowHeaders;
        if (!headers.isEmpty()) {
            h.add("Access-Control-Allow-Headers", headers);
        }
        exchange.addAnswerHeaders(h.build());
        return new ProxyResponse(204, Headers.empty(), ResponseBody.none());
    }

    private static List<String> requestedHeaders(ProxyRequest request) {
        List<String> names = new ArrayList<>();
        for (String value : request.headers().all("Access-Control-Request-Headers")) {
            for (String name : value.split(",")) {
                String n = name.trim().toLowerCase(Locale.ROOT);
                if (!n.isEmpty()) {
                    names.add(n);
                }
            }
        }
        return names;
    }

    private static ProxyResponse withoutAppCorsHeaders(ProxyResponse response) {
        Headers headers = response.headers();
        boolean any = false;
        for (int i = 0; i < headers.size() && !any; i++) {
            any = headers.name(i).regionMatches(true, 0, "Access-Control-", 0, 15);
        }
        if (!any) {
            return response;
        }
        Headers.Builder kept = Headers.builder();
        headers.forEach((name, value) -> {
            if (!name.regionMatches(true, 0, "Access-Control-", 0, 15)) {
                kept.add(name, value);
            }
        });
        return response.withHeaders(kept.build());
    }

    /** A client's value in a problem detail: bounded, and only printable ASCII. */
    private static String printable(String value) {
        String v = value.length() > 100 ? value.substring(0, 100) + "..." : value;
        return "'" + v.replaceAll("[^\\x20-\\x7e]", "?") + "'";
    }
}
