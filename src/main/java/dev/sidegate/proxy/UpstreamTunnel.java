package dev.sidegate.proxy;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * An upstream connection that switched protocols (101) for a request that asked to: from here on its bytes are the
 * new protocol's, relayed as they are. Closing it closes the connection; safe from any thread, more than once.
 */
public interface UpstreamTunnel extends AutoCloseable {
    InputStream fromUpstream();

    OutputStream toUpstream();

    @Override
    void close();
}
