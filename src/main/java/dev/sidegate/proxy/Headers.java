package dev.sidegate.proxy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * An immutable, ordered list of HTTP header fields. Names compare case-insensitively and keep the case they
 * arrived with; a name may repeat (one entry per field line, as {@code Set-Cookie} needs).
 */
public final class Headers {
    private static final Headers EMPTY = new Headers(new String[0], new String[0]);

    private final String[] names;
    private final String[] values;

    private Headers(String[] names, String[] values) {
        this.names = names;
        this.values = values;
    }

    public static Headers empty() {
        return EMPTY;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A field name as CGI, WSGI, Rack and PHP see it: case folded, and '_' the same as '-' (they all map both to
     * {@code HTTP_X_USER_ID}). Two names with the same normal form are the same header to such an upstream.
     */
    public static String normalName(String name) {
        return name.toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /**
     * Whether {@code name}'s normal form is {@code normal} (itself a normal form), as {@code normalName(name).equals(
     * normal)} but without making the normal form: ASCII compared in place, anything else through normalName.
     */
    public static boolean hasNormalName(String name, String normal) {
        if (name.length() != normal.length()) {
            return !isAscii(name) && normalName(name).equals(normal); // non-ASCII case folding can change the length
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 0x80) {
                return normalName(name).equals(normal);
            }
            if (c == '_') {
                c = '-';
            } else if (c >= 'A' && c <= 'Z') {
                c += 'a' - 'A';
            }
            if (c != normal.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /**
     * A list-valued field ({@code Vary}) with the names of {@code more} added that {@code existing} does not have,
     * compared without case; {@code *} stays {@code *}.
     */
    public static String mergeTokens(String existing, String more) {
        if (existing.trim().equals("*")) {
            return existing;
        }
        StringBuilder merged = new StringBuilder(existing.trim());
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String t : existing.split(",")) {
            seen.add(t.trim().toLowerCase(java.util.Locale.ROOT));
        }
        for (String t : more.split(",")) {
            String name = t.trim();
            if (!name.isEmpty() && seen.add(name.toLowerCase(java.util.Locale.ROOT))) {
                merged.append(merged.isEmpty() ? "" : ", ").append(name);
            }
        }
        return merged.toString();
    }

    public int size() {
        return names.length;
    }

    public String name(int index) {
        return names[index];
    }

    public String value(int index) {
        return values[index];
    }

    public boolean contains(String name) {
        return indexOf(java.util.Arrays.asList(names), name) >= 0;
    }

    public Optional<String> first(String name) {
        int i = indexOf(java.util.Arrays.asList(names), name);
        return i < 0 ? Optional.empty() : Optional.of(values[i]);
    }

    private static int indexOf(List<String> names, String name) {
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).equalsIgnoreCase(name)) {
                return i;
            }
        }
        return -1;
    }

    public List<String> all(String name) {
        List<String> result = new ArrayList<>(1);
        for (int i = 0; i < names.length; i++) {
            if (names[i].equalsIgnoreCase(name)) {
                result.add(values[i]);
            }
        }
        return result;
    }

    public void forEach(BiConsumer<String, String> action) {
        for (int i = 0; i < names.length; i++) {
            action.accept(names[i], values[i]);
        }
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        for (int i = 0; i < names.length; i++) {
            b.add(names[i], values[i]);
        }
        return b;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < names.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(names[i]).append(": ").append(values[i]);
        }
        return sb.append(']').toString();
    }

    /** Collects header fields; {@link #build()} may be called once or more. */
    public static final class Builder {
        private final List<String> names = new ArrayList<>();
        private final List<String> values = new ArrayList<>();

        private Builder() {
        }

        public Builder add(String name, String value) {
            names.add(name);
            values.add(value);
            return this;
        }

        /** Replaces every field of this name with one field. */
        public Builder set(String name, String value) {
            remove(name);
            return add(name, value);
        }

        public Builder remove(String name) {
            for (int i = names.size() - 1; i >= 0; i--) {
                if (names.get(i).equalsIgnoreCase(name)) {
                    names.remove(i);
                    values.remove(i);
                }
            }
            return this;
        }

        public boolean contains(String name) {
            return indexOf(names, name) >= 0;
        }

        public Optional<String> first(String name) {
            int i = indexOf(names, name);
            return i < 0 ? Optional.empty() : Optional.of(values.get(i));
        }

        public Headers build() {
            return new Headers(names.toArray(String[]::new), values.toArray(String[]::new));
        }
    }
}
