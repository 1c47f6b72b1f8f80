package dev.sidegate.proxy;

/**
 * A pipeline component whose dependency must be available before Sidegate reports ready (the JWKS, Redis).
 * Stages that implement it are asked by the readiness endpoint.
 */
public interface ReadinessCheck {

    /** Current state; must be cheap (no network call on the request path). */
    Status readiness();

    /**
     * @param component short name shown in the readiness details, e.g. {@code jwks}
     * @param ready     whether this component lets Sidegate be ready
     * @param detail    one short line for the readiness details
     */
    record Status(String component, boolean ready, String detail) {
    }
}
