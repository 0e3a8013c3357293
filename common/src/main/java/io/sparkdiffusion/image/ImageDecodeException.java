package io.sparkdiffusion.image;

/** An input picture that cannot be used; the message says why (for the errors table). */
public class ImageDecodeException extends Exception {
    public ImageDecodeException(String message) {
        super(message);
    }

    public ImageDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
