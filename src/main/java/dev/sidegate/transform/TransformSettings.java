package dev.sidegate.transform;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import net.thisptr.jackson.jq.JsonQuery;
import net.thisptr.jackson.jq.Versions;
import net.thisptr.jackson.jq.exception.JsonQueryException;

/**
 * A route's declarative transforms ({@code transform} section), compiled once when the configuration loads: an
 * invalid jq expression or regex fails the load naming the route and the expression.
 *
 * @param request       what happens to the request before it goes upstream
 * @param response      what happens to the response before it goes to the client
 * @param maxBodyBytes  largest body a body transform buffers (413 for requests, 502 for responses beyond it)
 * @param passNonJson   forward a non-JSON request body untouched instead of answering 400
 */
public record TransformSettings(Request request, Response response, long maxBodyBytes, boolean passNonJson) {
    public static final long DEFAULT_MAX_BODY = 1024 * 1024;
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

    /** Request edits, applied in this order: headers, path, query, body. */
    public record Request(HeaderEdits headers, Optional<PathRewrite> path, QueryEdits query, Optional<Jq> body) {
    }

    /** Response edits: status mapping, headers, body. */
    public record Response(Map<Integer, Integer> status, HeaderEdits headers, Optional<Jq> body) {
    }

    /**
     * Header edits, applied in the order remove, rename, set, add. Values may name the verified identity:
     * {@code ${identity.sub}}, {@code ${identity.org_id}} (any claim); with no identity or claim the header is left out.
     */
    public record HeaderEdits(List<String> remove, Map<String, String> rename, Map<String, String> set, Map<String, String> add) {
        static final HeaderEdits NONE = new HeaderEdits(List.of(), Map.of(), Map.of(), Map.of());

        public boolean isEmpty() {
            return remove.isEmpty() && rename.isEmpty() && set.isEmpty() && add.isEmpty();
        }
    }

    /** A path rewrite: a prefix replaced on whole segments, or a regex with groups ({@code $1}). */
    public sealed interface PathRewrite permits Prefix, Regex {
    }

    public record Prefix(String from, String to) implements PathRewrite {
    }

    public record Regex(Pattern pattern, String replacement) implements PathRewrite {
    }

    /** Query parameters added (appended, values percent-encoded) and removed (every occurrence of a name). */
    public record QueryEdits(Map<String, String> add, List<String> remove) {
        static final QueryEdits NONE = new QueryEdits(Map.of(), List.of());
    }

    /** A compiled jq expression and its source, for messages. */
    public record Jq(String source, JsonQuery query) {
    }

    public boolean buffersRequestBody() {
        return request.body().isPresent();
    }

    public static Optional<TransformSettings> parse(ConfigView t, String routePath) {
        if (!t.exists()) {
            return Optional.empty();
        }
        ConfigView req = t.get("request");
        ConfigView res = t.get("response");
        Request request = new Request(headers(req.get("headers")), path(req.get("path")), query(req.get("query")),
                                      jq(req.get("body"), routePath));
        Map<Integer, Integer> status = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigView> e : res.get("status").children().entrySet()) {
            int from = status(e.getValue(), e.getKey());
            int to = status(e.getValue(), e.getValue().string().orElse(""));
            status.put(from, to);
        }
        Response response = new Response(status, headers(res.get("headers")), jq(res.get("body"), routePath));
        long max = t.integer("max_body_bytes", 1, 64L * 1024 * 1024).orElse(DEFAULT_MAX_BODY);
        String nonJson = t.string("non_json").orElse("reject");
        if (!nonJson.equals("reject") && !nonJson.equals("pass")) {
            throw t.get("non_json").invalid("expected reject or pass, got '" + nonJson + "'");
        }
        return Optional.of(new TransformSettings(request, response, max, nonJson.equals("pass")));
    }

    private static HeaderEdits headers(ConfigView h) {
        if (!h.exists()) {
            return HeaderEdits.NONE;
        }
        List<String> remove = h.strings("remove");
        Map<String, String> rename = h.stringMap("rename");
        Map<String, String> set = h.stringMap("set");
        Map<String, String> add = h.stringMap("add");
        for (String name : remove) {
            checkHeader(h.get("remove"), name);
        }
        rename.forEach((from, to) -> {
            checkHeader(h.get("rename"), from);
            checkHeader(h.get("rename"), to);
        });
        set.keySet().forEach(n -> checkHeader(h.get("set"), n));
        add.keySet().forEach(n -> checkHeader(h.get("add"), n));
        return new HeaderEdits(remove, rename, set, add);
    }

    private static void checkHeader(ConfigView where, String name) {
        if (!HEADER_NAME.matcher(name).matches()) {
            throw where.invalid("not a valid header name: '" + name + "'");
        }
    }

    private static Optional<PathRewrite> path(ConfigView p) {
        if (!p.exists()) {
            return Optional.empty();
        }
        ConfigView prefix = p.get("replace_prefix");
        ConfigView regex = p.get("regex");
        if (prefix.exists() == regex.exists()) {
            throw p.invalid("give exactly one of replace_prefix and regex");
        }
        if (prefix.exists()) {
            String from = prefix.string("from").orElseThrow(() -> prefix.get("from").invalid("required"));
            String to = prefix.string("to").orElseThrow(() -> prefix.get("to").invalid("required"));
            if (!from.startsWith("/") || !to.startsWith("/")) {
                throw prefix.invalid("from and to must be paths starting with '/'");
            }
            return Optional.of(new Prefix(from, to));
        }
        String pattern = regex.string("pattern").orElseThrow(() -> regex.get("pattern").invalid("required"));
        String replacement = regex.string("replacement").orElseThrow(() -> regex.get("replacement").invalid("required"));
        if (!replacement.startsWith("/")) {
            throw regex.get("replacement").invalid("must produce a path starting with '/'");
        }
        try {
            return Optional.of(new Regex(Pattern.compile(pattern), replacement));
        } catch (PatternSyntaxException e) {
            throw regex.get("pattern").invalid("invalid regex '" + pattern + "': " + e.getDescription());
        }
    }

    private static QueryEdits query(ConfigView q) {
        if (!q.exists()) {
            return QueryEdits.NONE;
        }
        return new QueryEdits(q.stringMap("add"), q.strings("remove"));
    }

    private static Optional<Jq> jq(ConfigView body, String routePath) {
        Optional<String> source = body.string();
        if (source.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new Jq(source.get(), JsonQuery.compile(source.get(), Versions.JQ_1_6)));
        } catch (JsonQueryException e) {
            throw new ConfigException(body.key(), "invalid jq expression for route " + routePath + ": '" + oneLine(source.get())
                    + "': " + oneLine(e.getMessage()));
        }
    }

    private static int status(ConfigView where, String text) {
        try {
            int code = Integer.parseInt(text.trim());
            if (code >= 100 && code <= 599) {
                return code;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw where.invalid("expected an HTTP status code, got '" + text + "'");
    }

    private static String oneLine(String text) {
        String s = text == null ? "" : text.replaceAll("\\s+", " ").trim();
        return s.length() > 160 ? s.substring(0, 160) + "..." : s;
    }
}
