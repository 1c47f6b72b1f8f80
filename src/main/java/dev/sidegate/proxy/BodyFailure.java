package dev.sidegate.proxy;

/**
 * Implemented by the exception a response body throws when it fails, so that a failure before the first byte
 * reached the client is still answered with the right problem instead of a cut connection.
 */
public interface BodyFailure {

    /** The problem to answer while nothing of the response has been sent, for a request on the given route. */
    Problem problem(String routeId);
}
