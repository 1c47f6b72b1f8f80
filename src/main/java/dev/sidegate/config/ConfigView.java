package dev.sidegate.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import io.helidon.config.Config;

/**
 * A read-only view of one node of the YAML file, with typed getters whose errors name the full key.
 *
 * <p>Every getter records the key it read. After all features have read their sections,
 * {@link #rejectUnread()} reports the first key that nobody read: that is how a misspelt or unsupported key
 * fails the load instead of being silently ignored, without a central list of allowed keys.
 */
public final class ConfigView {
    private final Config node;
    private final String displayKey;
    private final Set<String> read;

    private ConfigView(Config node, String displayKey, Set<String> read) {
        this.node = node;
        this.displayKey = displayKey;
        this.read = read;
    }

    /** A view of a parsed document root. */
    public static ConfigView root(Config root) {
        return new ConfigView(root, "", new HashSet<>());
    }

    /** The key as shown in error messages, e.g. {@code routes[2].timeout}. */
    public String key() {
        return displayKey;
    }

    public boolean exists() {
        return node.exists();
    }

    /** Whether this key holds a single value (as opposed to a section or a list). */
    public boolean isValue() {
        return node.exists() && node.type() == Config.Type.VALUE;
    }

    public ConfigView get(String name) {
        String child = displayKey.isEmpty() ? name : displayKey + "." + name;
        return new ConfigView(node.get(Config.Key.escapeName(name)), child, read);
    }

    /** Fails the load with a reason about this key. */
    public ConfigException invalid(String reason) {
        return new ConfigException(displayKey, reason);
    }

    /** Marks this whole subtree as read, for a section that is accepted and ignored on purpose. */
    public void markRead() {
        read.add(node.key().toString());
    }

    public Optional<String> string() {
        if (!node.exists()) {
            return Optional.empty();
        }
        markRead();
        if (node.type() != Config.Type.VALUE) {
            throw invalid("expected a single value, got a " + describe(node.type()));
        }
        return node.asString().asOptional().map(String::trim).filter(s -> !s.isEmpty());
    }

    public Optional<String> string(String name) {
        return get(name).string();
    }

    public Optional<Duration> duration(String name) {
        ConfigView v = get(name);
        return v.string().map(s -> Durations.parse(v.key(), s));
    }

    /** A duration that must be strictly positive. */
    public Optional<Duration> positiveDuration(String name) {
        ConfigView v = get(name);
        Optional<Duration> d = v.string().map(s -> Durations.parse(v.key(), s));
        if (d.isPresent() && (d.get().isZero() || d.get().isNegative())) {
            throw v.invalid("must be greater than zero, got '" + v.string().orElse("") + "'");
        }
        return d;
    }

    public Optional<Long> integer(String name, long min, long max) {
        ConfigView v = get(name);
        return v.string().map(s -> parseInteger(v.key(), s, min, max));
    }

    public Optional<Boolean> bool(String name) {
        ConfigView v = get(name);
        return v.string().map(s -> parseBoolean(v.key(), s));
    }

    public Optional<URI> httpUrl(String name) {
        ConfigView v = get(name);
        return v.string().map(s -> parseHttpUrl(v.key(), s));
    }

    /** A list of values; a single value is accepted as a list of one. */
    public List<String> strings(String name) {
        ConfigView v = get(name);
        if (!v.node.exists()) {
            return List.of();
        }
        if (v.node.type() == Config.Type.VALUE) {
            return v.string().map(List::of).orElse(List.of());
        }
        if (v.node.type() != Config.Type.LIST) {
            v.markRead();
            throw v.invalid("expected a list of values, got a " + describe(v.node.type()));
        }
        List<String> values = new ArrayList<>();
        List<Config> items = v.node.asNodeList().get();
        if (items.isEmpty()) {
            v.markRead();
        }
        for (int i = 0; i < items.size(); i++) {
            ConfigView item = new ConfigView(items.get(i), v.displayKey + "[" + i + "]", read);
            values.add(item.string().orElseThrow(() -> item.invalid("must not be empty")));
        }
        return values;
    }

    /** A list of sections, such as {@code routes}. */
    public List<ConfigView> sections(String name) {
        ConfigView v = get(name);
        if (!v.node.exists()) {
            return List.of();
        }
        if (v.node.type() != Config.Type.LIST) {
            throw v.invalid("expected a list, got a " + describe(v.node.type()));
        }
        List<Config> items = v.node.asNodeList().get();
        if (items.isEmpty()) {
            v.markRead(); // each item's keys are checked on their own; an empty list has none
        }
        List<ConfigView> result = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            ConfigView item = new ConfigView(items.get(i), v.displayKey + "[" + i + "]", read);
            if (item.node.type() != Config.Type.OBJECT) {
                throw item.invalid("expected a section with keys, got a " + describe(item.node.type()));
            }
            result.add(item);
        }
        return result;
    }

    /** The named children of a section, in file order, such as the tiers under {@code rate_limits}. */
    public Map<String, ConfigView> children() {
        Map<String, ConfigView> result = new LinkedHashMap<>();
        if (!node.exists()) {
            return result;
        }
        if (node.type() != Config.Type.OBJECT) {
            throw invalid("expected a section with keys, got a " + describe(node.type()));
        }
        for (Config child : node.asNodeList().get()) {
            String name = child.name();
            String childKey = displayKey.isEmpty() ? name : displayKey + "." + name;
            result.put(name, new ConfigView(child, childKey, read));
        }
        return result;
    }

    /** A section of name: value pairs, in file order (values must be single values). */
    public Map<String, String> stringMap(String name) {
        Map<String, String> result = new LinkedHashMap<>();
        for (Map.Entry<String, ConfigView> e : get(name).children().entrySet()) {
            ConfigView v = e.getValue();
            result.put(e.getKey(), v.string().orElseThrow(() -> v.invalid("must not be empty")));
        }
        return result;
    }

    /**
     * This node as plain Java values (Map, List, String), for blocks that another component validates, such as a
     * plugin's config; every key in it counts as read.
     */
    public Object tree() {
        if (!node.exists()) {
            return null;
        }
        markRead();
        return switch (node.type()) {
            case VALUE -> node.asString().orElse("");
            case LIST -> node.asNodeList().get().stream().map(c -> new ConfigView(c, displayKey, read).tree()).toList();
            case OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (Config c : node.asNodeList().get()) {
                    m.put(c.name(), new ConfigView(c, displayKey + "." + c.name(), read).tree());
                }
                yield m;
            }
            case MISSING -> null;
        };
    }

    /** Fails with the first key in the document that no getter read. Call on the root after all sections. */
    public void rejectUnread() {
        node.traverse()
                .filter(n -> n.type() == Config.Type.VALUE || n.asNodeList().map(List::isEmpty).orElse(false))
                .filter(n -> !readItselfOrAncestor(n.key()))
                .findFirst()
                .ifPresent(n -> {
                    throw new ConfigException(displayKeyOf(n.key()), "unknown key");
                });
    }

    private boolean readItselfOrAncestor(Config.Key key) {
        for (Config.Key k = key; k != null && !k.isRoot(); k = k.parent()) {
            if (read.contains(k.toString())) {
                return true;
            }
        }
        return false;
    }

    private static String displayKeyOf(Config.Key key) {
        List<String> parts = new ArrayList<>();
        for (Config.Key k = key; k != null && !k.isRoot(); k = k.parent()) {
            parts.add(0, k.name());
        }
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            if (part.chars().allMatch(Character::isDigit) && !sb.isEmpty()) {
                sb.append('[').append(part).append(']');
            } else {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(part);
            }
        }
        return sb.toString();
    }

    private static String describe(Config.Type type) {
        return switch (type) {
            case OBJECT -> "section";
            case LIST -> "list";
            case VALUE -> "single value";
            case MISSING -> "missing value";
        };
    }

    public static long parseInteger(String key, String text, long min, long max) {
        long value;
        try {
            value = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "expected a whole number, got '" + text + "'");
        }
        if (value < min || value > max) {
            throw new ConfigException(key, "must be between " + min + " and " + max + ", got " + value);
        }
        return value;
    }

    public static boolean parseBoolean(String key, String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new ConfigException(key, "expected true or false, got '" + text + "'");
        };
    }

    /** An absolute http or https URL with a host, and no path beyond "/", query, fragment or user info. */
    public static URI parseHttpUrl(String key, String text) {
        URI uri;
        try {
            uri = new URI(text.trim());
        } catch (URISyntaxException e) {
            throw new ConfigException(key, "malformed URL '" + text + "': " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new ConfigException(key, "expected an http:// or https:// URL, got '" + text + "'");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new ConfigException(key, "URL has no host: '" + text + "'");
        }
        if (uri.getRawUserInfo() != null) {
            throw new ConfigException(key, "URL must not carry user info: '" + Messages.redactUserInfo(text) + "'");
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
            throw new ConfigException(key, "URL must not have a path (requests keep their own path), got '" + text + "'");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new ConfigException(key, "URL must not have a query or fragment, got '" + text + "'");
        }
        int port = uri.getPort() != -1 ? uri.getPort() : (scheme.equals("https") ? 443 : 80);
        return URI.create(scheme + "://" + hostForUri(uri.getHost()) + ":" + port);
    }

    private static String hostForUri(String host) {
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }
}
