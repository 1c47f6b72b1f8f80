package dev.sidegate.telemetry;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import dev.sidegate.proxy.Problem;

/**
 * The last problems Sidegate answered, newest first, for the admin page: what an on-call engineer asks first
 * ("what is it refusing, and why?"). Bounded; holds the problem's own fields (status, type, detail) and ids, never a
 * header or a token.
 */
public final class RecentProblems {
    public static final int CAPACITY = 50;

    /** One answered problem. {@code route} is null for requests refused before routing. */
    public record Answered(Instant time, String method, String path, String route, int status, String type,
                           String detail, String traceId, String requestId) {
    }

    private final Answered[] ring = new Answered[CAPACITY];
    private int next;
    private long total;

    synchronized void record(Answered answered) {
        ring[next] = answered;
        next = (next + 1) % CAPACITY;
        total++;
    }

    /** Newest first. */
    public synchronized List<Answered> newestFirst() {
        List<Answered> all = new ArrayList<>(CAPACITY);
        for (int i = 1; i <= CAPACITY; i++) {
            Answered a = ring[(next - i + CAPACITY) % CAPACITY];
            if (a != null) {
                all.add(a);
            }
        }
        return all;
    }

    /** How many were answered since start, including those the ring no longer holds. */
    public synchronized long total() {
        return total;
    }

    static Answered of(Instant time, String method, String path, String route, Problem problem, String traceId,
                       String requestId) {
        return new Answered(time, method, path, route, problem.status(), problem.type(), problem.detail(), traceId, requestId);
    }
}
