package bench;

/** One engine under test, loaded in its own class loader; ONNX Runtime is shared from the parent loader. */
public interface Engine extends AutoCloseable {
    /** Generates {@code batch} images of {@code latent*vae} px; returns nothing, the harness times the call. */
    void generate(String scheduler, int batch, int steps, double guidance, long seed) throws Exception;

    /** Summed ONNX Runtime run() nanoseconds so far, or -1 when the engine does not say. */
    long runNanos();

    /** Session runs so far, per component ("" when unknown). */
    String calls();

    @Override
    void close() throws Exception;
}
