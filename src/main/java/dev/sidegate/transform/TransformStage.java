package dev.sidegate.transform;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.sidegate.proxy.Exchange;
import dev.sidegate.proxy.Headers;
import dev.sidegate.proxy.Identity;
import dev.sidegate.proxy.IdentityValues;
import dev.sidegate.proxy.Problem;
import dev.sidegate.proxy.ProxyRequest;
import dev.sidegate.proxy.ProxyResponse;
import dev.sidegate.proxy.RequestBody;
import dev.sidegate.proxy.ResponseBody;
import dev.sidegate.proxy.RouteTable;
import dev.sidegate.proxy.Stage;
import dev.sidegate.proxy.UpstreamAttempt;
import net.thisptr.jackson.jq.BuiltinFunctionLoader;
import net.thisptr.jackson.jq.Scope;
import net.thisptr.jackson.jq.Versions;
import net.thisptr.jackson.jq.exception.JsonQueryException;

/**
 * Applies one route's declarative transforms (only routes that have a {@code transform} get this stage): request headers, path, query and JSON body on the way upstream;
 * status, headers and JSON body on the way back. Only routes with a body transform buffer the body (up to the
 * route's limit); everything else keeps streaming. A jq expression sees the verified identity as {@code $identity}
 * (its claims, or null when anonymous).
 */
public final class TransformStage implements Stage {
    private static final ObjectMapper JSON = dev.sidegate.proxy.Json.mapper();
    private static final Pattern IDENTITY = Pattern.compile("\\$\\{identity\\.([A-Za-z0-9_.-]+)}");
    private static final Scope BUILTINS = builtins();

    private final TransformSettings settings;
    private final boolean caseSensitive;
    private final BufferBudget budget;

    /**
     * @param caseSensitive whether the route matches case-sensitively (then so does its prefix rewrite)
     * @param budget        the Sidegate-wide bound on bodies held for transforms
     */
    public TransformStage(TransformSettings settings, boolean caseSensitive, BufferBudget budget) {
        this.settings = settings;
        this.caseSensitive = caseSensitive;
        this.budget = budget;
    }

    @Override
    public String name() {
        return "transform";
    }

    private static Scope builtins() {
        Scope scope = Scope.newEmptyScope();
        BuiltinFunctionLoader.getInstance().loadFunctions(Versions.JQ_1_6, scope);
        return scope;
    }

    @Override
    public ProxyResponse apply(ProxyRequest request, Chain chain) {
        Exchange exchange = chain.exchange();
        TransformSettings t = settings;
        exchange.annotate("transform", "applied");
        TransformSettings.Request r = t.request();
        Optional<Identity> identity = exchange.identity();
        ProxyRequest changed = request.withHeaders(edit(request.headers(), r.headers(), identity));
        if (r.path().isPresent()) {
            changed = changed.withPath(rewrite(changed.path(), r.path().get(), caseSensitive));
        }
        if (!r.query().add().isEmpty() || !r.query().remove().isEmpty()) {
            changed = changed.withQuery(query(changed.rawQuery(), r.query(), identity));
        }
        if (r.body().isEmpty() || !changed.body().present()) {
            return transformResponse(chain.proceed(changed), t, exchange, request.method());
        }
        if (!json(changed.headers())) {
            if (!t.passNonJson()) {
                return exchange.problem(Problem.of(400, "not-json", "Not JSON", "route " + exchange.route().id()
                        + " transforms JSON request bodies; send Content-Type: application/json (without Content-Encoding)"));
            }
            return transformResponse(chain.proceed(changed), t, exchange, request.method());
        }
        BufferedBody.Read read;
        try {
            read = BufferedBody.read(changed.body().stream(), changed.body().length(), t.maxBodyBytes(), budget);
        } catch (UncheckedIOException e) {
            return exchange.problem(Problem.of(400, "request-body-incomplete", "Request body incomplete",
                                               "the client stopped sending the request body"));
        }
        switch (read) {
            case BufferedBody.TooLarge tooLarge -> {
                return exchange.problem(Problem.of(413, "body-too-large", "Content too large", "the request body exceeds "
                        + t.maxBodyBytes() + " bytes, the limit of route " + exchange.route().id()));
            }
            case BufferedBody.OverBudget over -> {
                return exchange.problem(buffersFull(over, "request"));
            }
            case BufferedBody.Whole whole -> {
                ProxyResponse response;
                // The budget counts the body until the upstream has answered (the transformed bytes are held that
                // long), and gives it back before the response body is buffered.
                try (BufferedBody.Lease lease = whole.lease()) {
                    Object result = transformRequestBody(changed, whole, r.body().get(), exchange);
                    if (result instanceof Problem problem) {
                        return exchange.problem(problem);
                    }
                    response = chain.proceed((ProxyRequest) result);
                }
                return transformResponse(response, t, exchange, request.method());
            }
        }
    }

    private static Problem buffersFull(BufferedBody.OverBudget over, String which) {
        return Problem.of(503, "body-buffers-full", "Body buffers full", "the bodies that transforms hold leave no room for this "
                + which + " body within server.max_buffered_body_bytes (" + over.budget() + " bytes); it was not read")
                .withHeader("Retry-After", "1");
    }

    private static Object transformRequestBody(ProxyRequest request, BufferedBody.Whole body, TransformSettings.Jq jq,
                                               Exchange exchange) {
        if (body.length() == 0) {
            return request.withBody(RequestBody.of(new byte[0])); // an empty (chunked) body has nothing to transform
        }
        JsonNode input;
        try {
            input = JSON.readTree(body.bytes(), 0, body.length());
        } catch (IOException e) {
            return Problem.of(400, "invalid-json", "Invalid JSON", "the request body is not valid JSON");
        }
        JsonNode output;
        try {
            output = run(jq, input, exchange.identity());
        } catch (JsonQueryException | IllegalStateException e) {
            return Problem.of(400, "transform-failed", "Transform failed", "the request transform of route "
                    + exchange.route().id() + " failed on this body: " + message(e));
        }
        byte[] out = bytes(output);
        Headers headers = request.headers().toBuilder().set("Content-Length", Integer.toString(out.length)).build();
        return request.withHeaders(headers).withBody(RequestBody.of(out));
    }

    private ProxyResponse transformResponse(ProxyResponse response, TransformSettings t, Exchange exchange, String method) {
        if (!(exchange.attempt().orElse(null) instanceof UpstreamAttempt.Responded)) {
            return response; // Sidegate's own answers (problems, an open circuit) keep their documented shape
        }
        TransformSettings.Response r = t.response();
        ProxyResponse changed = response;
        Integer mapped = r.status().get(response.status());
        if (mapped != null) {
            changed = changed.withStatus(mapped);
        }
        if (!r.headers().isEmpty()) {
            changed = changed.withHeaders(edit(changed.headers(), r.headers(), exchange.identity()));
        }
        boolean bodyless = method.equals("HEAD") || response.status() == 204 || response.status() == 304;
        if (r.body().isEmpty() || bodyless || !json(response.headers())) {
            return changed;
        }
        BufferedBody.Read read;
        try (ResponseBody body = changed.body()) {
            read = BufferedBody.read(body.stream(), body.length(), t.maxBodyBytes(), budget);
        } catch (UncheckedIOException e) {
            return exchange.problem(Problem.of(502, "upstream-body-failed", "Upstream body failed",
                    "reading the response of the upstream of route " + exchange.route().id() + " failed"));
        }
        BufferedBody.Whole whole;
        switch (read) {
            case BufferedBody.TooLarge tooLarge -> {
                return exchange.problem(Problem.of(502, "response-too-large", "Upstream response too large", "the upstream's response exceeds "
                        + t.maxBodyBytes() + " bytes, the transform limit of route " + exchange.route().id()));
            }
            case BufferedBody.OverBudget over -> {
                return exchange.problem(buffersFull(over, "response"));
            }
            case BufferedBody.Whole w -> whole = w;
        }
        boolean handedOn = false;
        try {
            byte[] out = bytes(run(r.body().get(), JSON.readTree(whole.bytes(), 0, whole.length()), exchange.identity()));
            Headers headers = changed.headers().toBuilder().set("Content-Length", Integer.toString(out.length)).build();
            // Counted until the client has the body (or it is dropped): closing the body gives the bytes back.
            ProxyResponse transformed = changed.withHeaders(headers)
                    .withBody(new ResponseBody(new java.io.ByteArrayInputStream(out), out.length, whole.lease()));
            handedOn = true;
            return transformed;
        } catch (IOException | IllegalStateException e) {
            return exchange.problem(Problem.of(502, "response-transform-failed", "Response transform failed",
                    "the response transform of route " + exchange.route().id() + " failed: " + message(e)));
        } finally {
            if (!handedOn) {
                whole.lease().close();
            }
        }
    }

    private static JsonNode run(TransformSettings.Jq jq, JsonNode input, Optional<Identity> identity) throws JsonQueryException {
        Scope scope = Scope.newChildScope(BUILTINS);
        scope.setValue("identity", identity.<JsonNode>map(i -> JSON.valueToTree(i.claims())).orElse(NullNode.getInstance()));
        List<JsonNode> out = new ArrayList<>(1);
        jq.query().apply(scope, input, out::add);
        if (out.isEmpty()) {
            throw new IllegalStateException("the expression produced no output");
        }
        if (!finite(out.get(0))) {
            throw new IllegalStateException("the result holds a number JSON cannot represent (infinite or NaN)");
        }
        return out.get(0);
    }

    private static boolean finite(JsonNode node) {
        if (node.isNumber()) {
            return !node.isFloatingPointNumber() || Double.isFinite(node.doubleValue());
        }
        for (JsonNode child : node) {
            if (!finite(child)) {
                return false;
            }
        }
        return true;
    }

    private static Headers edit(Headers headers, TransformSettings.HeaderEdits edits, Optional<Identity> identity) {
        if (edits.isEmpty()) {
            return headers;
        }
        Headers.Builder b = headers.toBuilder();
        edits.remove().forEach(b::remove);
        edits.rename().forEach((from, to) -> {
            List<String> values = headers.all(from);
            if (!values.isEmpty()) {
                b.remove(from);
                values.forEach(v -> b.add(to, v));
            }
        });
        edits.set().forEach((name, template) -> resolve(template, identity, true)
                .ifPresentOrElse(v -> b.set(name, v), () -> b.remove(name)));
        edits.add().forEach((name, template) -> {
            if (IDENTITY.matcher(template).find()) {
                b.remove(name); // a value derived from the identity is Sidegate's alone: never the client's as well
            }
            resolve(template, identity, true).ifPresent(v -> b.add(name, v));
        });
        return b.build();
    }

    /**
     * Fills {@code ${identity.claim}} from the verified identity; empty when a named claim is not there. In a header
     * the claim is encoded as identity headers are ({@link IdentityValues}); elsewhere it is plain text.
     */
    static Optional<String> resolve(String template, Optional<Identity> identity, boolean header) {
        Matcher m = IDENTITY.matcher(template);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String claim = m.group(1);
            Object value = identity.map(i -> claim.equals("sub") ? i.subject() : i.claims().get(claim)).orElse(null);
            if (value == null) {
                return Optional.empty();
            }
            String text = header ? IdentityValues.encode(value) : IdentityValues.plain(value);
            m.appendReplacement(sb, Matcher.quoteReplacement(text));
        }
        m.appendTail(sb);
        return Optional.of(sb.toString());
    }

    static String rewrite(String path, TransformSettings.PathRewrite rewrite, boolean caseSensitive) {
        return switch (rewrite) {
            case TransformSettings.Prefix p -> RouteTable.covers(p.from(), path, caseSensitive)
                    ? p.to() + path.substring(p.from().length()) : path;
            case TransformSettings.Regex r -> {
                Matcher m = r.pattern().matcher(path);
                yield m.matches() ? m.replaceFirst(r.replacement()) : path;
            }
        };
    }

    static String query(String raw, TransformSettings.QueryEdits edits, Optional<Identity> identity) {
        List<String> pairs = new ArrayList<>();
        if (!raw.isEmpty()) {
            for (String pair : raw.split("&", -1)) {
                String name = URLDecoder.decode(pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair, StandardCharsets.UTF_8);
                if (!edits.remove().contains(name)) {
                    pairs.add(pair);
                }
            }
        }
        edits.add().forEach((name, template) -> resolve(template, identity, false).ifPresent(v ->
                pairs.add(URLEncoder.encode(name, StandardCharsets.UTF_8) + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8))));
        return String.join("&", pairs);
    }

    private static boolean json(Headers headers) {
        String encoding = headers.first("Content-Encoding").orElse("identity").trim().toLowerCase(Locale.ROOT);
        if (!encoding.equals("identity")) {
            return false;
        }
        String type = headers.first("Content-Type").orElse("").toLowerCase(Locale.ROOT);
        int semicolon = type.indexOf(';');
        String media = (semicolon < 0 ? type : type.substring(0, semicolon)).trim();
        return media.equals("application/json") || (media.startsWith("application/") && media.endsWith("+json"));
    }

    private static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String message(Exception e) {
        return dev.sidegate.config.Messages.oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), 200);
    }

}
