package dev.sidegate.proxy;

import io.helidon.http.Headers;
import io.helidon.http.encoding.ContentDecoder;
import io.helidon.http.encoding.ContentEncoder;
import io.helidon.http.encoding.ContentEncodingContext;
import io.helidon.http.encoding.ContentEncodingContextConfig;

/**
 * Content coding for the proxy listener: bodies pass through exactly as sent. Request bodies with any
 * {@code Content-Encoding} are accepted and forwarded still encoded (Helidon would otherwise refuse them when it
 * has no decoder), and responses are never compressed by Sidegate.
 */
public final class PassThroughEncoding implements ContentEncodingContext {
    private static final ContentEncodingContextConfig CONFIG = ContentEncodingContextConfig.builder()
            .contentEncodingsDiscoverServices(false)
            .buildPrototype();

    @Override
    public boolean contentEncodingEnabled() {
        return false;
    }

    @Override
    public boolean contentDecodingEnabled() {
        return true;
    }

    @Override
    public boolean contentEncodingSupported(String encodingId) {
        return false;
    }

    @Override
    public boolean contentDecodingSupported(String encodingId) {
        return true;
    }

    @Override
    public ContentEncoder encoder(String encodingId) {
        return ContentEncoder.NO_OP;
    }

    @Override
    public ContentDecoder decoder(String encodingId) {
        return ContentDecoder.NO_OP;
    }

    @Override
    public ContentEncoder encoder(Headers headers) {
        return ContentEncoder.NO_OP;
    }

    @Override
    public ContentEncodingContextConfig prototype() {
        return CONFIG;
    }
}
