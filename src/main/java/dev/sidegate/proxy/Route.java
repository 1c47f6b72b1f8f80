package dev.sidegate.proxy;

import dev.sidegate.config.RouteSettings;

/**
 * A route as the pipeline uses it.
 *
 * @param id       the route's path prefix, used as its name in logs, metrics and problems
 * @param settings the validated settings
 */
public record Route(String id, RouteSettings settings) {
}
