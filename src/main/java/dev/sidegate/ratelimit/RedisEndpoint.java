package dev.sidegate.ratelimit;

/**
 * Where a standalone Redis is and how to log in: what a {@code redis://} or {@code rediss://} URL says.
 *
 * @param username null unless the URL names an ACL user
 * @param password null when the URL has none
 */
record RedisEndpoint(String host, int port, String username, String password, int database, boolean tls) {

    /**
     * Reads {@code redis[s]://[[user]:password@]host[:port][/database]}, validated by the configuration already.
     * As in Lettuce, user info without a colon is a password.
     */
    static RedisEndpoint of(String url) {
        java.net.URI uri = java.net.URI.create(url.trim());
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        String username = null;
        String password = null;
        String info = uri.getUserInfo();
        if (info != null && !info.isEmpty()) {
            int colon = info.indexOf(':');
            if (colon < 0) {
                password = info;
            } else {
                username = colon == 0 ? null : info.substring(0, colon);
                password = info.substring(colon + 1);
            }
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        int database = path.length() > 1 ? Integer.parseInt(path.substring(1)) : 0;
        return new RedisEndpoint(host, uri.getPort() == -1 ? 6379 : uri.getPort(), username,
                                 password == null || password.isEmpty() ? null : password, database,
                                 "rediss".equalsIgnoreCase(uri.getScheme()));
    }

    /** Whether Sidegate's own client can speak to it: one server, not a Sentinel set. */
    static boolean standalone(RedisSettings settings) {
        if (settings.cluster() || settings.urls().size() != 1) {
            return false;
        }
        String url = settings.urls().get(0).toLowerCase(java.util.Locale.ROOT);
        return url.startsWith("redis://") || url.startsWith("rediss://");
    }

    @Override
    public String toString() {
        return "RedisEndpoint[" + (tls ? "rediss://" : "redis://") + host + ":" + port + "/" + database + "]";
    }
}
