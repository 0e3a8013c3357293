package io.sparkdiffusion.util;

/**
 * A request the engine refuses because of what it asks (this row's fault): a missing prompt, a size the model cannot
 * make, steps out of range, an init image of the wrong shape. A caller generating many rows records it against the
 * row and goes on; compare {@link EngineException}. {@link #field()} names the request field at fault, in diffusers'
 * call-argument names ({@code num_inference_steps}, {@code height}, {@code image}, ...), when one is.
 */
public class InvalidRequestException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public InvalidRequestException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The field at fault, or null when the request as a whole is. */
    public String field() {
        return field;
    }
}
