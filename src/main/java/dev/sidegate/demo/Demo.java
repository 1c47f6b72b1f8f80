package dev.sidegate.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Demo mode: a built-in echo upstream on loopback and the demo configuration ({@code sidecar-config/demo.yaml}
 * when run from a checkout, so edits to it show; otherwise the copy inside the jar), plus curl commands that
 * work as printed.
 */
public final class Demo implements AutoCloseable {
    static final String CHECKOUT_CONFIG = "sidecar-config/demo.yaml";
    private static final String EMBEDDED_CONFIG = "/sidegate/demo.yaml";

    private final EchoUpstream upstream;
    private final Map<String, String> environment;
    private final DemoTokens tokens;

    private Demo(EchoUpstream upstream, Map<String, String> environment, DemoTokens tokens) {
        this.upstream = upstream;
        this.environment = environment;
        this.tokens = tokens;
    }

    /**
     * Starts the echo upstream (which also plays the identity provider); the returned environment points Sidegate at
     * it, at its JWKS and at the demo config.
     */
    public static Demo start(Map<String, String> env) {
        DemoTokens tokens = DemoTokens.create();
        EchoUpstream upstream = EchoUpstream.start(tokens.jwksJson());
        Map<String, String> demoEnv = new HashMap<>(env);
        demoEnv.put("SIDEGATE_UPSTREAM", "http://127.0.0.1:" + upstream.port());
        demoEnv.put("SIDEGATE_CONFIG", demoConfig().toString());
        demoEnv.put("SIDEGATE_JWT_JWKS_URL", "http://127.0.0.1:" + upstream.port() + "/.well-known/jwks.json");
        return new Demo(upstream, Map.copyOf(demoEnv), tokens);
    }

    public Map<String, String> environment() {
        return environment;
    }

    private static Path demoConfig() {
        Path checkout = Path.of(CHECKOUT_CONFIG);
        if (Files.isRegularFile(checkout)) {
            return checkout.toAbsolutePath();
        }
        try (InputStream in = Demo.class.getResourceAsStream(EMBEDDED_CONFIG)) {
            if (in == null) {
                throw new IllegalStateException("the demo configuration is missing from the build");
            }
            Path file = Files.createTempFile("sidegate-demo", ".yaml");
            file.toFile().deleteOnExit();
            Files.copy(in, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Printed on stdout once Sidegate serves: the demo's whole user interface. */
    public void printInstructions(int port, int adminPort) {
        System.out.println(instructions(port, adminPort));
        System.out.flush();
    }

    /** The demo's instructions; every curl command in it works as printed. */
    public String instructions(int port, int adminPort) {
        String proxy = "http://localhost:" + port;
        String admin = "http://localhost:" + adminPort;
        return """

                Sidegate demo is running.
                  proxy     %1$s
                  admin     %2$s
                  page      %2$s/  (open it in a browser: routes, circuits, limits, recent problems, live)
                  upstream  http://127.0.0.1:%3$d (built-in echo: answers with what it received)
                  config    %4$s

                Try these in another terminal. First set the demo tokens (signed by the demo's identity provider,
                valid 12 hours; the user may read orders, the admin may also write them):
                  export TOKEN=%5$s
                  export ADMIN_TOKEN=%6$s

                  curl -i %1$s/api/public/hello                       # public route: no token needed; the echo shows X-Forwarded-* and the response's X-Request-Id
                  curl -i -H "Authorization: Bearer $TOKEN" %1$s/api/v1/me     # identity headers X-User-ID, X-Org-ID, X-Roles reach the echo; X-Trace-Id names the trace
                  curl -i %1$s/api/v1/me                              # no token: 401 problem+json with trace_id
                  curl -i -X POST -H "Authorization: Bearer $TOKEN" %1$s/api/v1/orders          # lacks orders:write: 403
                  curl -i -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' -d '{"customer_id": "c1", "items": [{"product_id": "p1", "qty": 2}]}' %1$s/api/v1/orders    # allowed; the echo shows the v1 body rewritten to v2 at /api/v2/orders
                  for i in 1 2 3 4; do curl -s -o /dev/null -w '%%{http_code} ' -H "Authorization: Bearer $TOKEN" %1$s/api/v1/search; done; echo   # 3 per minute: 200 200 200 429
                  curl -i -H "Authorization: Bearer $TOKEN" %1$s/api/v1/search       # RateLimit-Policy / RateLimit headers, or the 429 problem
                  for i in 1 2 3; do curl -s -o /dev/null -w '%%{http_code} ' -H "Authorization: Bearer $TOKEN" %1$s/api/v1/reports; done; echo   # shadow limit (2 a minute) and an audited permission the token lacks: 200 200 200
                  curl -s %2$s/observe/metrics | grep -E 'shadow_denied|audit_denied'   # what shadow mode and audit mode would have denied
                  curl -s %2$s/observe/metrics | grep buffered_body     # bodies the v1 -> v2 transform holds now; all together bounded by server.max_buffered_body_bytes (503 body-buffers-full beyond)
                  curl -i -X OPTIONS -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: GET' -H 'Access-Control-Request-Headers: authorization' %1$s/api/v1/me   # CORS preflight, answered by Sidegate before auth: 204 with Access-Control-Allow-*
                  curl -i %1$s/nowhere                                # no route: 404 problem+json
                  curl -i --path-as-is '%1$s/api/../../etc/passwd'    # path escapes the root: 400 problem+json
                  curl -N %1$s/events                                 # Server-Sent Events, one per second, streamed
                  curl -i -N --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' %1$s/ws/echo   # WebSocket handshake through Sidegate: 101 Switching Protocols (then any WebSocket client, ws://localhost:%7$d/ws/echo, gets an echo)
                  curl -s %2$s/observe/health/ready                   # readiness (config, upstream, JWKS)
                  curl -s %2$s/observe/metrics | head                 # Prometheus metrics
                  curl -s %2$s/admin/config                           # effective configuration

                Stop with Ctrl-C: in-flight requests drain, then Sidegate exits.
                """.formatted(proxy, admin, upstream.port(), environment.get("SIDEGATE_CONFIG"),
                              tokens.userToken(), tokens.adminToken(), port);
    }

    @Override
    public void close() {
        upstream.close();
    }
}
