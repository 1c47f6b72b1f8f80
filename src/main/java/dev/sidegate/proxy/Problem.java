package dev.sidegate.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;

/**
 * An error that Sidegate itself answers, rendered as RFC 9457 {@code application/problem+json}:
 * {@code type}, {@code title}, {@code status}, {@code detail} and the request's {@code trace_id}.
 * The detail says what was wrong in the request's terms; it never carries a stack trace, a token or a secret.
 *
 * @param status  HTTP status
 * @param type    problem type URI ({@link #type(String)} for Sidegate's own)
 * @param title   short, fixed summary of the type
 * @param detail  what went wrong with this request
 * @param headers extra response headers (Retry-After, WWW-Authenticate, Allow, ...)
 */
public record Problem(int status, String type, String title, String detail, Headers headers) {
    public static final String CONTENT_TYPE = "application/problem+json";
    private static final JsonFactory JSON = Json.FACTORY;

    public static Problem of(int status, String slug, String title, String detail) {
        return new Problem(status, type(slug), title, detail, Headers.empty());
    }

    /** Sidegate's problem type URIs, one per slug, listed in README. */
    public static String type(String slug) {
        return "urn:sidegate:problem:" + slug;
    }

    public Problem withDetail(String newDetail) {
        return new Problem(status, type, title, newDetail, headers);
    }

    public Problem withHeader(String name, String value) {
        return new Problem(status, type, title, detail, headers.toBuilder().add(name, value).build());
    }

    /** The problem body; {@code requestId} is left out when null (the admin port's problems have none). */
    public byte[] toJson(String traceId, String requestId) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator json = JSON.createGenerator(out)) {
            json.writeStartObject();
            json.writeStringField("type", type);
            json.writeStringField("title", title);
            json.writeNumberField("status", status);
            json.writeStringField("detail", detail);
            json.writeStringField("trace_id", traceId);
            if (requestId != null) {
                json.writeStringField("request_id", requestId);
            }
            json.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    public ProxyResponse toResponse(String traceId, String requestId) {
        byte[] body = toJson(traceId, requestId);
        Headers h = headers.toBuilder()
                .set("Content-Type", CONTENT_TYPE)
                .set("Cache-Control", "no-store")
                .build();
        return new ProxyResponse(status, h, ResponseBody.of(body), this);
    }
}
