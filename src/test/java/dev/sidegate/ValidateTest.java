package dev.sidegate;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.nimbusds.jose.jwk.JWKSet;
import dev.sidegate.testing.JwksServer;
import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.Tokens;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code sidegate validate}: start-up's checks and the pipeline, with no listener and no network. */
class ValidateTest {
    private static final String CONFIG = """
            routes:
              - path: /api/v1/orders
                methods: [POST]
                transform:
                  request:
                    body: '{order: .}'
              - path: /public
                public: true
            rate_limits:
              default: {requests: 100, window: 60s}
              routes:
                /api/v1/orders: {requests: 5, window: 1m}
            """;

    private record Run(int status, String out, String err) {
    }

    private static Run validate(Map<String, String> env, String file) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Validate.run(env, file, new PrintStream(out, true, StandardCharsets.UTF_8),
                                  new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aValidConfigurationPrintsRoutesWithTheirStagesAndTouchesNoNetwork() throws Exception {
        try (JwksServer jwks = new JwksServer(new JWKSet(Tokens.rsa("k")));
             ServerSocket noRedis = new ServerSocket(0)) {
            Map<String, String> env = new HashMap<>(Tokens.env(jwks.url()));
            env.put("SIDEGATE_UPSTREAM", "http://127.0.0.1:1");
            env.put("SIDEGATE_REDIS_URL", "redis://127.0.0.1:" + noRedis.getLocalPort());
            Path file = SidegateFixture.writeTemp(CONFIG);
            Run run = validate(env, file.toString());
            assertEquals(0, run.status(), run.err());
            assertTrue(run.out().startsWith("sidegate: configuration valid: " + file), run.out());
            assertTrue(run.out().contains("  /api/v1/orders  [POST] -> default\n      identity-headers > authenticate > "
                                                  + "rate-limit > authorize > transform > resilience > trace-upstream > upstream\n"),
                       run.out());
            assertTrue(run.out().contains("  /public  [any method] -> default\n"), run.out());
            assertTrue(run.out().contains("rate limits: Redis redis://127.0.0.1:" + noRedis.getLocalPort()
                                                  + "; tiers default 100/1m; routes /api/v1/orders 5/1m"), run.out());
            assertTrue(run.out().contains("auth: JWKS " + jwks.url()), run.out());
            assertEquals(0, jwks.hits(), "no JWKS fetch");
            noRedis.setSoTimeout(200);
            assertEquals("no connection", acceptOrNone(noRedis), "no Redis connection");
        }
    }

    private static String acceptOrNone(ServerSocket socket) {
        try (var s = socket.accept()) {
            return "connected from " + s.getRemoteSocketAddress();
        } catch (java.net.SocketTimeoutException e) {
            return "no connection";
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Test
    void anInvalidOneExitsTwoWithStartupsOneLine() throws Exception {
        Path bad = SidegateFixture.writeTemp("routes:\n  - path: /api\n    transform:\n      request:\n        body: '{unclosed'\n");
        Run run = validate(Map.of(), bad.toString());
        assertEquals(2, run.status());
        assertEquals("", run.out());
        assertTrue(run.err().startsWith("sidegate: configuration error: routes[0].transform.request.body: "), run.err());
        assertEquals(1, run.err().strip().lines().count(), run.err());

        Run unknownKey = validate(Map.of(), SidegateFixture.writeTemp("server:\n  prot: 80\n").toString());
        assertEquals(2, unknownKey.status());
        assertTrue(unknownKey.err().contains("server.prot"), unknownKey.err());
    }

    @Test
    void theRealCommandExitsWithTheStatusAndChecksTheEnvironmentToo() throws Exception {
        Path ok = SidegateFixture.writeTemp("routes:\n  - path: /api\n");
        assertEquals(0, command(Map.of(), "validate", ok.toString()));
        assertEquals(2, command(Map.of("SIDEGATE_PORT", "eighty"), "validate", ok.toString()), "the environment counts");
        assertEquals(0, command(Map.of("SIDEGATE_CONFIG", ok.toString()), "validate"), "the file SIDEGATE_CONFIG names");
    }

    private static int command(Map<String, String> env, String... args) throws Exception {
        String javaCommand = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(javaCommand, "-cp", System.getProperty("java.class.path"),
                                                          Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder b = new ProcessBuilder(cmd).redirectErrorStream(true);
        b.environment().keySet().removeIf(k -> k.startsWith("SIDEGATE_"));
        b.environment().putAll(env);
        Process p = b.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), output);
        return p.exitValue();
    }
}
