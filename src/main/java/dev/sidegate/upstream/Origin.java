package dev.sidegate.upstream;

import java.net.URI;

/**
 * Where an upstream listens: scheme, host and port of its base URL.
 *
 * @param secure whether connections use TLS ({@code https})
 * @param host   host name or IP literal, without the brackets an IPv6 literal has in a URL
 * @param port   TCP port
 */
public record Origin(boolean secure, String host, int port) {

    public static Origin of(URI url) {
        String host = url.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        boolean secure = url.getScheme().equalsIgnoreCase("https");
        int port = url.getPort() != -1 ? url.getPort() : (secure ? 443 : 80);
        return new Origin(secure, host, port);
    }

    /** The {@code Host} header value for this origin: the port only when it is not the scheme's default. */
    public String authority() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        boolean defaultPort = secure ? port == 443 : port == 80;
        return defaultPort ? h : h + ":" + port;
    }

    @Override
    public String toString() {
        return (secure ? "https://" : "http://") + authority();
    }
}
