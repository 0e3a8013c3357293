package bench;

import com.oracle.labs.mlrg.sd4j.SD4J;
import com.oracle.labs.mlrg.sd4j.Schedulers;
import java.util.logging.Level;
import java.util.logging.Logger;

/** oracle/sd4j through its API (SD4J.factory, generateImage); its working folder holds text_tokenizer/ and libortextensions.so. */
public final class Sd4jEngine implements Engine {
    private final SD4J sd;
    private final int px;
    private final String prompt;

    public Sd4jEngine(String model, int px, String prompt) {
        Logger.getLogger("com.oracle.labs.mlrg.sd4j").setLevel(Level.WARNING);
        Logger.getLogger("").setLevel(Level.WARNING);
        this.sd = SD4J.factory(model, false);
        // sd4j hard-codes a VAE factor of 8: ask for 8x the latent size (sd-tiny's VAE scales by 2)
        this.px = px;
        this.prompt = prompt;
    }

    @Override
    public void generate(String scheduler, int batch, int steps, double guidance, long seed) {
        Schedulers s = scheduler.equals("lms") ? Schedulers.LMS : Schedulers.EULER_ANCESTRAL;
        sd.generateImage(new SD4J.Request(prompt, "", steps, (float) guidance, (int) seed, new SD4J.ImageSize(px), s, batch));
    }

    @Override
    public long runNanos() {
        return -1;
    }

    @Override
    public String calls() {
        return "";
    }

    @Override
    public void close() {
        sd.close();
    }
}
