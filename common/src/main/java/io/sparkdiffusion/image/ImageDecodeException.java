package io.sparkdiffusion.image;

/** An input picture that cannot be used; the message says why (for the errors table). */
public class ImageDecodeException extends Exception {
    private static final long serialVersionUID = 1L;

    public ImageDecodeException(String message) {
        super(message);
    }

    public ImageDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
