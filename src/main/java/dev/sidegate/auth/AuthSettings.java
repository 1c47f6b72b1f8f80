package dev.sidegate.auth;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import dev.sidegate.config.ConfigException;
import dev.sidegate.config.ConfigView;
import dev.sidegate.config.Durations;
import dev.sidegate.config.Env;

/**
 * JWT authentication settings: the {@code auth} section of the YAML file and the {@code SIDEGATE_JWT_*}
 * environment variables (which win). Auth is on when exactly one key source is configured.
 *
 * @param keys               where verification keys come from
 * @param issuer             the required {@code iss}
 * @param audiences          accepted {@code aud} values (one must match)
 * @param clockSkew          tolerance for {@code exp} and {@code nbf}
 * @param claimHeaders       claim name to upstream header, in order
 * @param permissionsClaims  claims that carry permissions (arrays, or space-separated strings like {@code scope})
 * @param tierClaim          claim naming the client's rate-limit tier
 * @param forwardAuthorization whether the bearer {@code Authorization} header goes upstream
 * @param cacheSize          how many verified tokens are remembered (0: verify every request)
 * @param websocketTokens    where a WebSocket handshake without an Authorization header may carry its token
 */
public record AuthSettings(KeySource keys,
                           String issuer,
                           List<String> audiences,
                           Duration clockSkew,
                           Map<String, String> claimHeaders,
                           List<String> permissionsClaims,
                           String tierClaim,
                           boolean forwardAuthorization,
                           int cacheSize,
                           WebSocketTokens websocketTokens) {

    public static final String ENV_JWKS_URL = "SIDEGATE_JWT_JWKS_URL";
    public static final String ENV_PUBLIC_KEY = "SIDEGATE_JWT_PUBLIC_KEY";
    public static final String ENV_HMAC_SECRET = "SIDEGATE_JWT_HMAC_SECRET";
    public static final String ENV_ISSUER = "SIDEGATE_JWT_ISSUER";
    public static final String ENV_AUDIENCE = "SIDEGATE_JWT_AUDIENCE";

    /** Identity headers a client may never set itself, whatever the mapping says. */
    public static final List<String> ALWAYS_STRIPPED = List.of("X-User-ID", "X-Org-ID", "X-Roles");
    static final Map<String, String> DEFAULT_CLAIM_HEADERS = defaults();

    public AuthSettings {
        audiences = List.copyOf(audiences);
        claimHeaders = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(claimHeaders));
        permissionsClaims = List.copyOf(permissionsClaims);
    }

    /**
     * Browsers cannot set headers on a WebSocket handshake: these carry its token instead, both off by default. Only a
     * handshake (on a route with {@code websocket: true}) with no Authorization header reads them, so an ordinary
     * request is never authenticated by a cookie (no cross-site request forgery through it).
     *
     * @param cookie         a cookie whose value is the bearer token
     * @param protocolPrefix a {@code Sec-WebSocket-Protocol} entry that starts with this carries the token after it
     */
    public record WebSocketTokens(Optional<String> cookie, Optional<String> protocolPrefix) {
        public static final WebSocketTokens NONE = new WebSocketTokens(Optional.empty(), Optional.empty());
    }

    /** Where verification keys come from. */
    public sealed interface KeySource permits Jwks, PublicKeyFile, HmacSecret {
    }

    /**
     * A JWKS endpoint, fetched before readiness, cached, refreshed ahead of expiry and on an unknown {@code kid}
     * (at most twice per {@code refreshMinInterval}), and served from the cache while the endpoint is down.
     */
    public record Jwks(URI url, Duration cacheTtl, Duration refreshMinInterval) implements KeySource {
    }

    /** One RSA or EC public key in a PEM file (SubjectPublicKeyInfo). */
    public record PublicKeyFile(Path file) implements KeySource {
    }

    /** A shared HS256 secret, for development only. */
    public record HmacSecret(String secret) implements KeySource {
        @Override
        public String toString() {
            return "HmacSecret[<redacted>]";
        }
    }

    /** Header names the identity stage removes from every client request. */
    public List<String> strippedHeaders() {
        return strippedHeaders(Optional.of(this));
    }

    public static List<String> strippedHeaders(Optional<AuthSettings> auth) {
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
        ALWAYS_STRIPPED.forEach(n -> names.add(n.toLowerCase(Locale.ROOT)));
        auth.ifPresent(a -> a.claimHeaders().values().forEach(n -> names.add(n.toLowerCase(Locale.ROOT))));
        return List.copyOf(names);
    }

    /** Parses the {@code auth} section; empty when no key source is configured. */
    public static Optional<AuthSettings> parse(ConfigView auth, Env env) {
        Optional<URI> jwksUrl = env.over(ENV_JWKS_URL, v -> jwksUrl(ENV_JWKS_URL, v), () -> auth.string("jwks_url")
                .map(v -> jwksUrl(auth.get("jwks_url").key(), v)));
        Optional<Path> publicKey = env.over(ENV_PUBLIC_KEY, Path::of, () -> auth.string("public_key").map(Path::of));
        Optional<String> hmac = env.over(ENV_HMAC_SECRET, v -> v, () -> auth.string("hmac_secret"));
        Optional<String> issuer = env.over(ENV_ISSUER, v -> v, () -> auth.string("issuer"));
        Optional<List<String>> audiences = env.over(ENV_AUDIENCE, v -> List.of(v.split("\\s*,\\s*")),
                                                    () -> Optional.of(auth.strings("audience")).filter(l -> !l.isEmpty()));
        Duration skew = auth.duration("clock_skew").orElse(Duration.ofSeconds(60));
        if (skew.compareTo(Duration.ofMinutes(10)) > 0) {
            throw auth.get("clock_skew").invalid("must be at most 10m, got " + Durations.format(skew));
        }
        ConfigView jwks = auth.get("jwks");
        Duration cacheTtl = jwks.positiveDuration("cache_ttl").orElse(Duration.ofMinutes(5));
        if (cacheTtl.compareTo(Duration.ofSeconds(1)) < 0) {
            throw jwks.get("cache_ttl").invalid("must be at least 1s, got " + Durations.format(cacheTtl));
        }
        Duration refreshMin = jwks.positiveDuration("refresh_min_interval")
                .orElse(cacheTtl.compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofSeconds(30) : cacheTtl.dividedBy(2));
        if (refreshMin.compareTo(cacheTtl) >= 0) {
            throw jwks.get("refresh_min_interval").invalid("must be shorter than auth.jwks.cache_ttl ("
                    + Durations.format(cacheTtl) + "), got " + Durations.format(refreshMin));
        }
        boolean insecureJwks = auth.bool("allow_insecure_jwks_url").orElse(false);
        Map<String, String> claimHeaders = claimHeaders(auth.get("claims"));
        List<String> permissionsClaims = auth.strings("permissions_claims");
        String tierClaim = auth.string("tier_claim").orElse("tier");
        boolean forward = auth.bool("forward_authorization").orElse(false);
        int cacheSize = (int) auth.integer("verified_token_cache", 0, 1_000_000).orElse(10_000L).longValue();
        ConfigView ws = auth.get("websocket_token");
        Optional<String> cookie = ws.string("cookie");
        if (cookie.isPresent() && !dev.sidegate.config.HeaderFieldNames.valid(cookie.get())) {
            throw ws.get("cookie").invalid("not a cookie name: '" + cookie.get() + "'");
        }
        Optional<String> prefix = ws.string("protocol_prefix");
        if (prefix.isPresent() && (!dev.sidegate.config.HeaderFieldNames.valid(prefix.get()) || prefix.get().length() < 4)) {
            throw ws.get("protocol_prefix").invalid("expected a sub-protocol prefix of at least 4 token characters, such as "
                    + "'bearer.', got '" + prefix.get() + "'");
        }

        int sources = (jwksUrl.isPresent() ? 1 : 0) + (publicKey.isPresent() ? 1 : 0) + (hmac.isPresent() ? 1 : 0);
        if (sources == 0) {
            if (issuer.isPresent() || audiences.isPresent()) {
                throw new ConfigException(issuer.isPresent() ? keyOr(env, ENV_ISSUER, auth, "issuer") : keyOr(env, ENV_AUDIENCE, auth, "audience"),
                        "auth needs a key source: set " + ENV_JWKS_URL + ", " + ENV_PUBLIC_KEY + " or " + ENV_HMAC_SECRET);
            }
            return Optional.empty();
        }
        if (sources > 1) {
            throw new ConfigException(jwksUrl.isPresent() ? keyOr(env, ENV_JWKS_URL, auth, "jwks_url") : keyOr(env, ENV_PUBLIC_KEY, auth, "public_key"),
                    "set exactly one of " + ENV_JWKS_URL + ", " + ENV_PUBLIC_KEY + " and " + ENV_HMAC_SECRET);
        }
        String issuerKey = keyOr(env, ENV_ISSUER, auth, "issuer");
        String audienceKey = keyOr(env, ENV_AUDIENCE, auth, "audience");
        String requiredIssuer = issuer.orElseThrow(() -> new ConfigException(issuerKey,
                "required when auth is on (tokens from any issuer would be accepted)"));
        List<String> requiredAudiences = audiences.orElseThrow(() -> new ConfigException(audienceKey,
                "required when auth is on (tokens for any audience would be accepted)"));

        KeySource keys;
        if (jwksUrl.isPresent()) {
            URI url = jwksUrl.get();
            if (url.getScheme().equals("http") && !insecureJwks && !loopback(url.getHost())) {
                throw new ConfigException(keyOr(env, ENV_JWKS_URL, auth, "jwks_url"), "must be https:// (keys fetched over "
                        + "plain HTTP can be forged on the way); set auth.allow_insecure_jwks_url: true to accept " + url);
            }
            keys = new Jwks(url, cacheTtl, refreshMin);
        } else if (publicKey.isPresent()) {
            Path file = publicKey.get();
            String key = keyOr(env, ENV_PUBLIC_KEY, auth, "public_key");
            if (!Files.isReadable(file) || Files.isDirectory(file)) {
                throw new ConfigException(key, "cannot read '" + file + "'");
            }
            PemPublicKeys.read(key, file); // validated once here; read again when the verifier is built
            keys = new PublicKeyFile(file);
        } else {
            String secret = hmac.get();
            if (secret.getBytes(StandardCharsets.UTF_8).length < 32) {
                throw new ConfigException(keyOr(env, ENV_HMAC_SECRET, auth, "hmac_secret"),
                                          "must be at least 32 bytes for HS256");
            }
            keys = new HmacSecret(secret);
        }
        return Optional.of(new AuthSettings(keys, requiredIssuer, requiredAudiences, skew, claimHeaders,
                                            permissionsClaims.isEmpty() ? List.of("permissions", "scope") : permissionsClaims,
                                            tierClaim, forward, cacheSize, new WebSocketTokens(cookie, prefix)));
    }

    private static Map<String, String> claimHeaders(ConfigView claims) {
        if (!claims.exists()) {
            return DEFAULT_CLAIM_HEADERS;
        }
        Map<String, String> mapping = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigView> e : claims.children().entrySet()) {
            String header = e.getValue().string().orElseThrow(() -> e.getValue().invalid("must name a header"));
            if (!dev.sidegate.config.HeaderFieldNames.valid(header)) {
                throw e.getValue().invalid("not a valid header name: '" + header + "'");
            }
            mapping.put(e.getKey(), header);
        }
        return mapping;
    }

    private static String keyOr(Env env, String variable, ConfigView auth, String yamlKey) {
        return env.get(variable).isPresent() ? variable : auth.get(yamlKey).key();
    }

    private static URI jwksUrl(String key, String text) {
        try {
            URI uri = new URI(text.trim());
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
                throw new ConfigException(key, "expected an https:// URL, got '" + text + "'");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ConfigException(key, "malformed URL '" + text + "': " + e.getReason());
        }
    }

    private static boolean loopback(String host) {
        return host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]") || host.equals("::1");
    }

    private static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("sub", "X-User-ID");
        m.put("org_id", "X-Org-ID");
        m.put("roles", "X-Roles");
        return java.util.Collections.unmodifiableMap(m);
    }
}
