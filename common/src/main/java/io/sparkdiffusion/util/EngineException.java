package io.sparkdiffusion.util;

/**
 * The engine cannot work, whatever the request: a model folder, component or file that is missing or broken, a
 * session that fails, a device that cannot start. A caller generating many rows stops on it (every further row would
 * fail the same way) instead of recording a row error; compare {@link InvalidRequestException}, the row's fault.
 */
public class EngineException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
