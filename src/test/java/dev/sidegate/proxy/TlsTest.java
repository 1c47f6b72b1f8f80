package dev.sidegate.proxy;

import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Map;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;

import dev.sidegate.testing.SidegateFixture;
import dev.sidegate.testing.TestUpstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** SIDEGATE_TLS_CERT / SIDEGATE_TLS_KEY serve the proxy port over TLS with PEM files. */
class TlsTest {

    @Test
    void theProxyPortServesTlsFromPemFiles() throws Exception {
        try (TestUpstream upstream = TestUpstream.start();
             SidegateFixture sidegate = SidegateFixture.start(null, Map.of(
                     "SIDEGATE_UPSTREAM", upstream.url(),
                     "SIDEGATE_TLS_CERT", resource("tls/cert.pem").toString(),
                     "SIDEGATE_TLS_KEY", resource("tls/key.pem").toString()))) {
            HttpClient client = HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .sslContext(trusting(resource("tls/cert.pem")))
                    .build();
            URI uri = URI.create("https://localhost:" + sidegate.port() + "/secure?x=1");
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            assertEquals("https", upstream.last().header("X-Forwarded-Proto").orElseThrow());
            assertEquals("/secure", upstream.last().rawPath());

            HttpClient untrusting = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            assertThrows(SSLHandshakeException.class,
                         () -> untrusting.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.discarding()),
                         "a client that does not trust the certificate must fail the handshake");
        }
    }

    @Test
    void httpsUpstreamsAreVerifiedAgainstTheirCaFileAndTheirHostName() throws Exception {
        try (TestUpstream app = TestUpstream.start();
             SidegateFixture tlsUpstream = SidegateFixture.start(null, Map.of(
                     "SIDEGATE_UPSTREAM", app.url(),
                     "SIDEGATE_TLS_CERT", resource("tls/cert.pem").toString(),
                     "SIDEGATE_TLS_KEY", resource("tls/key.pem").toString()));
             SidegateFixture sidegate = SidegateFixture.start("""
                     upstreams:
                       trusted:
                         url: https://localhost:%1$d
                         tls:
                           ca_file: %2$s
                       untrusted:
                         url: https://localhost:%1$d
                       wrong-name:
                         url: https://127.0.0.2:%1$d
                         tls:
                           ca_file: %2$s
                     routes:
                       - {path: /trusted, upstream: trusted}
                       - {path: /untrusted, upstream: untrusted}
                       - {path: /wrong-name, upstream: wrong-name}
                     """.formatted(tlsUpstream.port(), resource("tls/cert.pem")), Map.of())) {
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> ok = sidegate.get("/trusted/" + i);
                assertEquals(200, ok.statusCode(), ok.body());
            }
            assertEquals("/trusted/2", app.last().rawPath());
            assertEquals("https", app.last().header("X-Forwarded-Proto").orElseThrow(), "the hop in between was TLS");
            for (String path : new String[] {"/untrusted", "/wrong-name"}) {
                HttpResponse<String> refused = sidegate.get(path);
                assertEquals(502, refused.statusCode(), path);
                assertEquals(true, refused.body().contains("urn:sidegate:problem:upstream-tls-failed"), refused.body());
            }
            assertEquals("/trusted/2", app.last().rawPath(), "nothing was sent over an unverified connection");
        }
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(TlsTest.class.getClassLoader().getResource(name).toURI());
    }

    private static SSLContext trusting(Path certFile) throws Exception {
        X509Certificate cert;
        try (InputStream in = java.nio.file.Files.newInputStream(certFile)) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        trust.setCertificateEntry("sidegate", cert);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }
}
