package dev.sidegate.proxy;

import java.io.IOException;
import java.io.UncheckedIOException;

/** Reading the request body from the client failed (the client went away or sent a broken body). */
final class ClientBodyException extends UncheckedIOException {
    ClientBodyException(Exception cause) {
        super("reading the request body from the client failed",
              cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause));
    }
}
