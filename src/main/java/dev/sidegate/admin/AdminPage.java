package dev.sidegate.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

import dev.sidegate.proxy.Digests;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.webserver.http.ServerResponse;

/**
 * The admin page: one HTML file in the jar with its style and script inline, no external assets. Its Content-Security-
 * Policy allows exactly that inline script and style (by hash), and requests to this origin only: the page can read
 * {@code /admin/status} and nothing else, and a value it shows cannot become markup or script.
 */
final class AdminPage {
    private static final String RESOURCE = "/sidegate/admin.html";
    private final byte[] html;
    private final String policy;

    private AdminPage(byte[] html, String policy) {
        this.html = html;
        this.policy = policy;
    }

    static AdminPage load() {
        try (InputStream in = AdminPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the admin page is missing from the build: " + RESOURCE);
            }
            byte[] bytes = in.readAllBytes();
            String text = new String(bytes, StandardCharsets.UTF_8);
            String policy = "default-src 'none'; script-src '" + hash(inner(text, "script")) + "'; style-src '"
                    + hash(inner(text, "style")) + "'; connect-src 'self'; img-src data:; base-uri 'none'; "
                    + "form-action 'none'; frame-ancestors 'none'";
            return new AdminPage(bytes, policy);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String inner(String html, String tag) {
        int open = html.indexOf("<" + tag + ">");
        int close = html.indexOf("</" + tag + ">", open);
        if (open < 0 || close < 0) {
            throw new IllegalStateException("the admin page has no inline <" + tag + ">");
        }
        return html.substring(open + tag.length() + 2, close);
    }

    private static String hash(String content) {
        // CSP hashes are standard base64 with padding, over the element's text exactly as served.
        return "sha256-" + java.util.Base64.getEncoder().encodeToString(Digests.sha256(content.getBytes(StandardCharsets.UTF_8)));
    }

    void send(ServerResponse res) {
        res.header(HeaderValues.create(HeaderNames.CONTENT_TYPE, "text/html; charset=utf-8"));
        res.header(HeaderValues.create(HeaderNames.CACHE_CONTROL, "no-store"));
        res.header(HeaderValues.create(HeaderNames.create("Content-Security-Policy"), policy));
        res.header(HeaderValues.create(HeaderNames.create("X-Content-Type-Options"), "nosniff"));
        res.header(HeaderValues.create(HeaderNames.create("Referrer-Policy"), "no-referrer"));
        res.send(html);
    }
}
