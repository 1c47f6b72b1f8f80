package dev.sidegate.assembly;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

import dev.sidegate.config.Cidr;
import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Env;
import dev.sidegate.config.Messages;
import dev.sidegate.config.Secret;
import dev.sidegate.config.ServerSettings;
import dev.sidegate.auth.AuthSettings;
import dev.sidegate.cors.CorsSettings;
import dev.sidegate.plugin.PluginSpec;
import dev.sidegate.plugin.Plugins;
import dev.sidegate.proxy.ConnectionLimits;
import dev.sidegate.proxy.RequestIds;
import dev.sidegate.ratelimit.RateLimitSettings;
import dev.sidegate.resilience.RetrySettings;
import dev.sidegate.resilience.UpstreamSettings;
import dev.sidegate.telemetry.AccessLogSettings;
import dev.sidegate.transform.BufferBudget;
import dev.sidegate.transform.TransformSettings;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;

/**
 * Builds a {@link SidegateConfig} from environment variables and the optional YAML file named by
 * {@code SIDEGATE_CONFIG}. Environment variables win where both set a value. Any problem is one
 * {@link ConfigException} naming the key.
 */
public final class ConfigLoader {
    public static final String ENV_PORT = "SIDEGATE_PORT";
    public static final String ENV_ADMIN_PORT = "SIDEGATE_ADMIN_PORT";
    public static final String ENV_UPSTREAM = "SIDEGATE_UPSTREAM";
    public static final String ENV_CONFIG = "SIDEGATE_CONFIG";
    public static final String ENV_TLS_CERT = "SIDEGATE_TLS_CERT";
    public static final String ENV_TLS_KEY = "SIDEGATE_TLS_KEY";
    public static final String ENV_DRAIN_TIMEOUT = "SIDEGATE_DRAIN_TIMEOUT";
    public static final String ENV_TRUSTED_PROXIES = "SIDEGATE_TRUSTED_PROXIES";
    public static final String ENV_CONFIG_WATCH = "SIDEGATE_CONFIG_WATCH";
    public static final String ENV_ADMIN_TOKEN = "SIDEGATE_ADMIN_TOKEN";

    static final int DEFAULT_PORT = 8000;
    static final int DEFAULT_ADMIN_PORT = 9901;
    static final URI DEFAULT_UPSTREAM = URI.create("http://127.0.0.1:8080");
    static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);
    static final Duration DEFAULT_BODY_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);
    static final Duration DEFAULT_ROUTE_TIMEOUT = Duration.ofSeconds(30);
    static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final int DEFAULT_MAX_HEADER_SIZE = 32 * 1024;
    static final int DEFAULT_MAX_REQUEST_LINE = 8 * 1024;
    // A quarter of the default total cap (ConnectionLimits.defaultMaxTotal, from the heap): one client address cannot
    // take every connection.
    static final int DEFAULT_MAX_CONNECTIONS_PER_IP = 256;
    static final int DEFAULT_MAX_TUNNELS = 512;
    static final long DEFAULT_WEBSOCKET_MAX_FRAME = 16L * 1024 * 1024;
    static final Duration DEFAULT_WEBSOCKET_IDLE_TIMEOUT = Duration.ofHours(1);
    private static final java.util.regex.Pattern METHOD = java.util.regex.Pattern.compile("[A-Z][A-Z0-9_-]*");
    /** Names the request id may not take: framing, hop-by-hop, credentials, forwarding and tracing headers. */
    private static final Set<String> PROTECTED_HEADERS = Set.of(
            "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
            "upgrade", "proxy-connection", "proxy-authorization", "proxy-authenticate", "authorization", "cookie",
            "set-cookie", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
            "x-forwarded-prefix", "x-real-ip", "traceparent", "tracestate", "baggage", "x-trace-id");

    private final Env env;

    private ConfigLoader(Map<String, String> env) {
        this.env = new Env(env);
    }

    /** Loads from the given environment (normally {@code System.getenv()}). */
    public static SidegateConfig load(Map<String, String> env) {
        return new ConfigLoader(env).load();
    }

    private SidegateConfig load() {
        Optional<Path> file = env(ENV_CONFIG).map(Path::of);
        byte[] bytes = file.map(this::read).orElse(new byte[0]);
        ConfigView root = ConfigView.root(parse(file, bytes));

        ServerSettings server = server(root.get("server"));
        URI defaultUpstream = envOr(ENV_UPSTREAM, v -> ConfigView.parseHttpUrl(ENV_UPSTREAM, v), () -> root.httpUrl("upstream"))
                .orElse(DEFAULT_UPSTREAM);
        Map<String, UpstreamSettings> upstreams = new java.util.LinkedHashMap<>(
                UpstreamSettings.parse(root.get("upstreams"), defaultUpstream, v -> ConfigView.parseHttpUrl(v.key(), v.string().orElse(""))));
        upstreams.putIfAbsent(UpstreamSettings.DEFAULT_NAME, UpstreamSettings.withDefaults(UpstreamSettings.DEFAULT_NAME, defaultUpstream));
        boolean routesDeclared = root.get("routes").exists();
        Optional<CorsSettings> cors = CorsSettings.parseDefault(root);
        List<RouteSettings> routes = routesDeclared
                ? routes(root.sections("routes"), upstreams, cors)
                : List.of(RouteSettings.plain("/", Set.of(), defaultUpstream, UpstreamSettings.DEFAULT_NAME, DEFAULT_ROUTE_TIMEOUT,
                                              DEFAULT_CONNECT_TIMEOUT, DEFAULT_ROUTE_TIMEOUT, RetrySettings.DEFAULT).withCors(cors));
        Optional<AuthSettings> auth = AuthSettings.parse(root.get("auth"), env);
        Optional<RateLimitSettings> rateLimits = RateLimitSettings.parse(root.get("rate_limits"), root.get("rate_limiting"), env);
        AccessLogSettings accessLog = AccessLogSettings.parse(root.get("access_log"));
        if (AuthSettings.strippedHeaders(auth).contains(server.requestIdHeader().toLowerCase(Locale.ROOT))) {
            throw new ConfigException("server.request_id_header", "'" + server.requestIdHeader()
                    + "' is an identity header (stripped from clients and set from the token); choose another name");
        }
        boolean cookieTokens = auth.flatMap(a -> a.websocketTokens().cookie()).isPresent();
        for (int i = 0; i < routes.size(); i++) {
            if (cookieTokens && routes.get(i).websocket().filter(w -> w.origins().isEmpty()).isPresent()) {
                throw new ConfigException("routes[" + i + "].websocket_origins", "required on a WebSocket route when "
                        + "auth.websocket_token.cookie is set: browsers send cookies on handshakes from any site");
            }
            if (routes.get(i).publicRoute() && routes.get(i).permission().isPresent()) {
                throw new ConfigException("routes[" + i + "].permission", "a public route cannot require a permission");
            }
        }
        root.rejectUnread();

        String version = file.isEmpty() ? "none" : dev.sidegate.proxy.Digests.sha256Hex(bytes).substring(0, 12);
        return new SidegateConfig(server, defaultUpstream, routes, routesDeclared, upstreams, auth, rateLimits, accessLog,
                                  env.otel(),
                                  env.get(ENV_CONFIG_WATCH).map(v -> ConfigView.parseBoolean(ENV_CONFIG_WATCH, v)).orElse(true),
                                  env.get(Plugins.ENV_DIR).filter(v -> !v.isBlank()).map(Path::of),
                                  new SidegateConfig.Source(file, version, Instant.now()));
    }

    private ServerSettings server(ConfigView s) {
        int port = (int) envOr(ENV_PORT, v -> port(ENV_PORT, v), () -> s.integer("port", 0, 65535))
                .orElse((long) DEFAULT_PORT).longValue();
        int adminPort = (int) envOr(ENV_ADMIN_PORT, v -> port(ENV_ADMIN_PORT, v), () -> s.integer("admin_port", 0, 65535))
                .orElse((long) DEFAULT_ADMIN_PORT).longValue();
        if (port == adminPort && port != 0) {
            throw new ConfigException(ENV_ADMIN_PORT, "must differ from the proxy port " + port);
        }
        Optional<Secret> adminToken = env(ENV_ADMIN_TOKEN).map(Secret::new);
        if (adminToken.isPresent() && adminToken.get().value().length() < 16) {
            throw new ConfigException(ENV_ADMIN_TOKEN, "must be at least 16 characters (it guards configuration reloads)");
        }

        ConfigView tls = s.get("tls");
        Optional<Path> cert = envOr(ENV_TLS_CERT, Path::of, () -> tls.string("cert").map(Path::of));
        Optional<Path> key = envOr(ENV_TLS_KEY, Path::of, () -> tls.string("key").map(Path::of));
        if (cert.isPresent() != key.isPresent()) {
            String missing = cert.isPresent() ? ENV_TLS_KEY : ENV_TLS_CERT;
            throw new ConfigException(missing, "TLS needs both a certificate and a key; only one of "
                    + ENV_TLS_CERT + " and " + ENV_TLS_KEY + " is set");
        }
        cert.ifPresent(p -> readable(env(ENV_TLS_CERT).isPresent() ? ENV_TLS_CERT : "server.tls.cert", p));
        key.ifPresent(p -> readable(env(ENV_TLS_KEY).isPresent() ? ENV_TLS_KEY : "server.tls.key", p));
        Optional<ServerSettings.TlsFiles> tlsFiles = cert.map(c -> new ServerSettings.TlsFiles(c, key.orElseThrow()));

        Duration drain = envOr(ENV_DRAIN_TIMEOUT, v -> Durations.parse(ENV_DRAIN_TIMEOUT, v), () -> s.duration("drain_timeout"))
                .orElse(DEFAULT_DRAIN_TIMEOUT);
        Duration headerTimeout = s.positiveDuration("header_timeout").orElse(DEFAULT_HEADER_TIMEOUT);
        Duration bodyTimeout = s.positiveDuration("body_timeout").orElse(DEFAULT_BODY_TIMEOUT);
        Duration idleTimeout = s.positiveDuration("idle_timeout").orElse(DEFAULT_IDLE_TIMEOUT);
        int maxHeaderSize = (int) s.integer("max_header_size", 1024, 1024 * 1024).orElse((long) DEFAULT_MAX_HEADER_SIZE).longValue();
        int maxRequestLine = (int) s.integer("max_request_line", 256, 1024 * 1024).orElse((long) DEFAULT_MAX_REQUEST_LINE).longValue();
        int maxConnections = (int) s.integer("max_connections", 1, 1_000_000)
                .orElse((long) ConnectionLimits.defaultMaxTotal(Runtime.getRuntime().maxMemory())).longValue();
        int maxPerIp = (int) s.integer("max_connections_per_ip", 1, 1_000_000).orElse((long) DEFAULT_MAX_CONNECTIONS_PER_IP)
                .longValue();

        List<Cidr> trusted = envOr(ENV_TRUSTED_PROXIES,
                                   v -> splitList(v).stream().map(c -> Cidr.parse(ENV_TRUSTED_PROXIES, c)).toList(),
                                   () -> Optional.of(cidrs(s.get("trusted_proxies"), s.strings("trusted_proxies"))))
                .orElse(List.of());

        ConfigView paths = s.get("paths");
        boolean rejectEncodedSlashes = choice(paths, "encoded_slashes", "reject", "keep").equals("reject");
        boolean rejectSemicolons = choice(paths, "semicolons", "reject", "keep").equals("reject");

        String requestIdHeader = s.string("request_id_header").orElse(RequestIds.DEFAULT_HEADER);
        if (!dev.sidegate.config.HeaderFieldNames.valid(requestIdHeader)) {
            throw s.get("request_id_header").invalid("not a header name: '" + requestIdHeader + "'");
        }
        if (PROTECTED_HEADERS.contains(requestIdHeader.toLowerCase(Locale.ROOT))) {
            throw s.get("request_id_header").invalid("'" + requestIdHeader + "' has a meaning of its own; choose another name");
        }

        return new ServerSettings(port, adminPort, adminToken, tlsFiles, drain, headerTimeout, bodyTimeout, idleTimeout, maxHeaderSize,
                                  maxRequestLine, maxConnections, maxPerIp, trusted,
                                  new ServerSettings.PathPolicy(rejectEncodedSlashes, rejectSemicolons),
                                  choice(s, "after_chunked_request", "close", "keep_alive").equals("keep_alive"),
                                  requestIdHeader,
                                  (int) s.integer("max_tunnels", 1, 1_000_000).orElse((long) DEFAULT_MAX_TUNNELS).longValue(),
                                  s.integer("websocket_max_frame_bytes", 125, 1L << 40).orElse(DEFAULT_WEBSOCKET_MAX_FRAME),
                                  s.integer("max_buffered_body_bytes", 1024, 1L << 40).orElseGet(BufferBudget::defaultCapacity));
    }

    private List<RouteSettings> routes(List<ConfigView> sections, Map<String, UpstreamSettings> upstreams,
                                       Optional<CorsSettings> cors) {
        List<RouteSettings> routes = new ArrayList<>(sections.size());
        for (ConfigView r : sections) {
            String path = r.string("path").orElseThrow(() -> r.get("path").invalid("every route needs a path"));
            Set<String> methods = new LinkedHashSet<>();
            List<String> listed = r.strings("methods");
            for (int i = 0; i < listed.size(); i++) {
                String m = listed.get(i).toUpperCase(Locale.ROOT);
                if (!METHOD.matcher(m).matches() || m.equals("CONNECT")) {
                    throw new ConfigException(r.get("methods").key() + "[" + i + "]",
                                              m.equals("CONNECT") ? "CONNECT (tunnelling) is not supported"
                                                      : "not an HTTP method: '" + listed.get(i) + "'");
                }
                methods.add(m);
            }
            UpstreamSettings upstream = upstream(r.get("upstream"), upstreams);
            Duration timeout = r.positiveDuration("timeout").orElse(DEFAULT_ROUTE_TIMEOUT);
            Duration connectTimeout = r.positiveDuration("connect_timeout").orElse(DEFAULT_CONNECT_TIMEOUT);
            Duration totalTimeout = r.positiveDuration("total_timeout").orElse(timeout);
            if (totalTimeout.compareTo(timeout) < 0) {
                throw r.get("total_timeout").invalid("must not be shorter than the route's timeout ("
                        + Durations.format(timeout) + ")");
            }
            routes.add(new RouteSettings(
                    path,
                    methods,
                    upstream.url(),
                    upstream.name(),
                    timeout,
                    connectTimeout,
                    totalTimeout,
                    RetrySettings.parse(r.get("retry")),
                    r.bool("public").orElse(false),
                    r.string("permission"),
                    permissionAudit(r),
                    r.bool("preserve_host").orElse(false),
                    TransformSettings.parse(r.get("transform"), path),
                    plugins(r),
                    r.bool("case_sensitive").orElse(true),
                    CorsSettings.forRoute(r, cors),
                    websocket(r, methods)));
        }
        return routes;
    }

    /** {@code websocket: true} opens the route to WebSocket handshakes; {@code websocket_idle_timeout} bounds a quiet tunnel. */
    private static Optional<RouteSettings.WebSocket> websocket(ConfigView route, Set<String> methods) {
        boolean on = route.bool("websocket").orElse(false);
        Optional<Duration> idle = route.positiveDuration("websocket_idle_timeout");
        if (!on && idle.isPresent()) {
            throw route.get("websocket_idle_timeout").invalid("applies to a route with websocket: true");
        }
        if (!on && route.get("websocket_origins").exists()) {
            throw route.get("websocket_origins").invalid("applies to a route with websocket: true");
        }
        List<dev.sidegate.cors.CorsSettings.OriginPattern> origins = dev.sidegate.cors.CorsSettings.originList(route, "websocket_origins");
        if (on && !methods.isEmpty() && !methods.contains("GET")) {
            throw route.get("websocket").invalid("a WebSocket handshake is a GET, and this route's methods do not include GET");
        }
        return on ? Optional.of(new RouteSettings.WebSocket(idle.orElse(DEFAULT_WEBSOCKET_IDLE_TIMEOUT), origins))
                : Optional.empty();
    }

    /** {@code permission_mode: enforce | audit}; audit needs a permission to audit. */
    private static boolean permissionAudit(ConfigView route) {
        boolean audit = choice(route, "permission_mode", "enforce", "audit").equals("audit");
        if (audit && route.string("permission").isEmpty()) {
            throw route.get("permission_mode").invalid("audit applies to a route with a permission, and this one has none");
        }
        return audit;
    }

    private static List<PluginSpec> plugins(ConfigView route) {
        List<PluginSpec> plugins = new ArrayList<>();
        List<ConfigView> entries = route.sections("plugins");
        for (int i = 0; i < entries.size(); i++) {
            ConfigView p = entries.get(i);
            String key = route.get("plugins").key() + "[" + i + "]";
            String name = p.string("name").orElseThrow(() -> new ConfigException(key + ".name", "every plugin entry needs a name"));
            Object config = p.get("config").tree();
            if (config != null && !(config instanceof Map)) {
                throw new ConfigException(key + ".config", "expected a mapping of the plugin's settings");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> settings = config == null ? Map.of() : (Map<String, Object>) config;
            plugins.add(new PluginSpec(name, settings, key));
        }
        return plugins;
    }

    /** A route's upstream: a name from {@code upstreams} (or {@code default}), or a URL. */
    private static UpstreamSettings upstream(ConfigView value, Map<String, UpstreamSettings> upstreams) {
        Optional<String> text = value.string();
        if (text.isEmpty()) {
            return upstreams.get(UpstreamSettings.DEFAULT_NAME);
        }
        if (!text.get().contains("://")) {
            UpstreamSettings named = upstreams.get(text.get());
            if (named == null) {
                throw value.invalid("no upstream named '" + text.get() + "' (names: " + String.join(", ", upstreams.keySet())
                        + "), and not a URL");
            }
            return named;
        }
        URI url = ConfigView.parseHttpUrl(value.key(), text.get());
        for (UpstreamSettings u : upstreams.values()) {
            if (u.url().equals(url)) {
                return u;
            }
        }
        UpstreamSettings adHoc = UpstreamSettings.withDefaults(UpstreamSettings.nameFor(url), url);
        upstreams.put(adHoc.name(), adHoc);
        return adHoc;
    }

    private static List<Cidr> cidrs(ConfigView list, List<String> items) {
        List<Cidr> result = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            result.add(Cidr.parse(list.key() + "[" + i + "]", items.get(i)));
        }
        return result;
    }

    private static String choice(ConfigView section, String name, String... allowed) {
        ConfigView v = section.get(name);
        String value = v.string().map(s -> s.toLowerCase(Locale.ROOT)).orElse(allowed[0]);
        if (!List.of(allowed).contains(value)) {
            throw v.invalid("expected one of " + String.join(", ", allowed) + ", got '" + value + "'");
        }
        return value;
    }

    private static long port(String key, String value) {
        if (value.trim().startsWith("tcp://")) {
            // Kubernetes "service links" inject SIDEGATE_PORT=tcp://ip:port for a Service named "sidegate".
            throw new ConfigException(key, "expected a port number, got '" + value + "' (Kubernetes sets this for a "
                    + "Service named 'sidegate'; set enableServiceLinks: false on the pod)");
        }
        return ConfigView.parseInteger(key, value, 0, 65535);
    }

    private <T> Optional<T> envOr(String name, Function<String, T> parse, Supplier<Optional<T>> yaml) {
        return env.over(name, parse, yaml);
    }

    private Optional<String> env(String name) {
        return env.get(name);
    }

    private byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ConfigException(ENV_CONFIG, "cannot read '" + file + "': " + describe(e));
        }
    }

    private static void readable(String key, Path file) {
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw new ConfigException(key, "cannot read '" + file + "'");
        }
    }

    private static Config parse(Optional<Path> file, byte[] bytes) {
        if (file.isEmpty()) {
            return Config.empty();
        }
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.isBlank()) {
            return Config.empty();
        }
        try {
            return Config.builder()
                    .disableEnvironmentVariablesSource()
                    .disableSystemPropertiesSource()
                    .disableValueResolving()
                    .disableKeyResolving()
                    .disableFilterServices()
                    .disableCaching()
                    .addSource(ConfigSources.create(YamlTree.parse(text)))
                    .build();
        } catch (RuntimeException e) {
            throw new ConfigException(ENV_CONFIG, "'" + file.get() + "' is not valid YAML: " + Messages.oneLine(e));
        }
    }

    static List<String> splitList(String value) {
        List<String> items = new ArrayList<>();
        for (String part : value.split(",")) {
            if (!part.isBlank()) {
                items.add(part.trim());
            }
        }
        return items;
    }

    private static String describe(IOException e) {
        String type = e.getClass().getSimpleName();
        return switch (type) {
            case "NoSuchFileException" -> "no such file";
            case "AccessDeniedException" -> "permission denied";
            default -> Messages.oneLine(e);
        };
    }
}
