package io.sparkdiffusion.jobs;

import java.io.Serializable;

/**
 * One image to generate, or one rejected input row ({@code accepted == false}, with the field and reason). A Java
 * bean so Spark's bean encoder can carry it between planning and generation.
 */
public class PlannedRow implements Serializable {
    private static final long serialVersionUID = 1L;

    private boolean accepted;
    private String id;
    private String inputId;
    private String imageFile;
    private String prompt;
    private String negativePrompt;
    private long seed;
    private int steps;
    private double guidanceScale;
    private int width;
    private int height;
    private String scheduler;
    private String errorField;
    private String errorReason;
    private String inputRow;

    public PlannedRow() {
    }

    static PlannedRow accepted(String id, String inputId, String prompt, String negativePrompt, long seed, int steps,
                               double guidance, int width, int height, String scheduler) {
        PlannedRow r = new PlannedRow();
        r.accepted = true;
        r.id = id;
        r.inputId = inputId;
        r.prompt = prompt;
        r.negativePrompt = negativePrompt;
        r.seed = seed;
        r.steps = steps;
        r.guidanceScale = guidance;
        r.width = width;
        r.height = height;
        r.scheduler = scheduler;
        return r;
    }

    static PlannedRow rejected(String id, String field, String reason, String inputRow) {
        PlannedRow r = new PlannedRow();
        r.accepted = false;
        r.id = id;
        r.inputId = id;
        r.errorField = field;
        r.errorReason = reason;
        r.inputRow = inputRow;
        return r;
    }

    /** A copy with another id, seed and guidance (num_images_per_prompt and grid expansion). */
    PlannedRow variant(String newId, long newSeed, double newGuidance) {
        PlannedRow r = accepted(newId, inputId, prompt, negativePrompt, newSeed, steps, newGuidance, width, height, scheduler);
        return r;
    }

    /** Rows that can share one engine batch have equal keys. */
    String batchKey() {
        return steps + "|" + guidanceScale + "|" + width + "x" + height + "|" + scheduler;
    }

    public boolean isAccepted() {
        return accepted;
    }

    public void setAccepted(boolean accepted) {
        this.accepted = accepted;
    }

    public String getId() {
        return id;
    }

    public void setId(String id) {
        this.id = id;
    }

    public String getInputId() {
        return inputId;
    }

    public void setInputId(String inputId) {
        this.inputId = inputId;
    }

    public String getImageFile() {
        return imageFile;
    }

    public void setImageFile(String imageFile) {
        this.imageFile = imageFile;
    }

    public String getPrompt() {
        return prompt;
    }

    public void setPrompt(String prompt) {
        this.prompt = prompt;
    }

    public String getNegativePrompt() {
        return negativePrompt;
    }

    public void setNegativePrompt(String negativePrompt) {
        this.negativePrompt = negativePrompt;
    }

    public long getSeed() {
        return seed;
    }

    public void setSeed(long seed) {
        this.seed = seed;
    }

    public int getSteps() {
        return steps;
    }

    public void setSteps(int steps) {
        this.steps = steps;
    }

    public double getGuidanceScale() {
        return guidanceScale;
    }

    public void setGuidanceScale(double guidanceScale) {
        this.guidanceScale = guidanceScale;
    }

    public int getWidth() {
        return width;
    }

    public void setWidth(int width) {
        this.width = width;
    }

    public int getHeight() {
        return height;
    }

    public void setHeight(int height) {
        this.height = height;
    }

    public String getScheduler() {
        return scheduler;
    }

    public void setScheduler(String scheduler) {
        this.scheduler = scheduler;
    }

    public String getErrorField() {
        return errorField;
    }

    public void setErrorField(String errorField) {
        this.errorField = errorField;
    }

    public String getErrorReason() {
        return errorReason;
    }

    public void setErrorReason(String errorReason) {
        this.errorReason = errorReason;
    }

    public String getInputRow() {
        return inputRow;
    }

    public void setInputRow(String inputRow) {
        this.inputRow = inputRow;
    }
}
