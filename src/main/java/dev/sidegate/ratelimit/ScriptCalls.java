package dev.sidegate.ratelimit;

import java.util.List;

/**
 * Runs the token-bucket script on Redis: EVALSHA, then EVAL when Redis answers NOSCRIPT (a restart flushed its
 * script cache). {@link RespConnections} does it for a standalone Redis on the caller's own thread;
 * {@link RedisConnector} through Lettuce for Sentinel and Cluster.
 */
interface ScriptCalls extends dev.sidegate.proxy.Resources.Part {

    /**
     * @return the script's reply, an array of integers
     * @throws CallFailed when Redis did not answer in time, could not be reached, or answered an error
     */
    List<Object> run(String script, String sha, String[] keys, String[] args);

    /** Why a call failed, in one line without secrets. */
    final class CallFailed extends RuntimeException {
        CallFailed(String reason) {
            super(reason, null, false, false);
        }
    }
}
