package io.sparkdiffusion.util;

/** A model folder, component or file that is missing or cannot be read; the message names the folder and file. */
public class ModelLoadException extends EngineException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
