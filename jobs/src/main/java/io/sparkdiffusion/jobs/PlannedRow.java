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
    private Double strength;
    /** The init image: a path or URI, or "bytes:" when the bytes travel in {@link #imageBytes}. */
    private String imageRef;

    private byte[] imageBytes;
    private String maskRef;
    private byte[] maskBytes;
    private Integer numFrames;
    private int fps;
    private int motionBucketId;
    private double noiseAugStrength;
    /** The prompt template's slot values as a JSON object ({@link PromptTemplates}); null without a template. */
    private String templateSlots;

    /** The classifier's expected label from the {@code quality.expected_label} column; null: from the prompt. */
    private String expectedLabel;

    public PlannedRow() {}

    static PlannedRow accepted(
            String id,
            String inputId,
            String prompt,
            String negativePrompt,
            long seed,
            int steps,
            double guidance,
            int width,
            int height,
            String scheduler) {
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
        PlannedRow r =
                accepted(newId, inputId, prompt, negativePrompt, newSeed, steps, newGuidance, width, height, scheduler);
        r.strength = strength;
        r.imageRef = imageRef;
        r.imageBytes = imageBytes;
        r.maskRef = maskRef;
        r.maskBytes = maskBytes;
        r.numFrames = numFrames;
        r.fps = fps;
        r.motionBucketId = motionBucketId;
        r.noiseAugStrength = noiseAugStrength;
        return r;
    }

    /** Rows that can share one engine batch have equal keys (init images: the decoded size is added later). */
    String batchKey() {
        return steps + "|" + guidanceScale + "|" + width + "x" + height + "|" + scheduler + "|" + strength + "|"
                + numFrames + "|" + fps + "|" + motionBucketId + "|" + noiseAugStrength;
    }

    public String getTemplateSlots() {
        return templateSlots;
    }

    public void setTemplateSlots(String templateSlots) {
        this.templateSlots = templateSlots;
    }

    public Integer getNumFrames() {
        return numFrames;
    }

    public void setNumFrames(Integer numFrames) {
        this.numFrames = numFrames;
    }

    public int getFps() {
        return fps;
    }

    public void setFps(int fps) {
        this.fps = fps;
    }

    public int getMotionBucketId() {
        return motionBucketId;
    }

    public void setMotionBucketId(int motionBucketId) {
        this.motionBucketId = motionBucketId;
    }

    public double getNoiseAugStrength() {
        return noiseAugStrength;
    }

    public void setNoiseAugStrength(double noiseAugStrength) {
        this.noiseAugStrength = noiseAugStrength;
    }

    public Double getStrength() {
        return strength;
    }

    public void setStrength(Double strength) {
        this.strength = strength;
    }

    public String getImageRef() {
        return imageRef;
    }

    public void setImageRef(String imageRef) {
        this.imageRef = imageRef;
    }

    public byte[] getImageBytes() {
        return imageBytes;
    }

    public void setImageBytes(byte[] imageBytes) {
        this.imageBytes = imageBytes;
    }

    public String getMaskRef() {
        return maskRef;
    }

    public void setMaskRef(String maskRef) {
        this.maskRef = maskRef;
    }

    public byte[] getMaskBytes() {
        return maskBytes;
    }

    public void setMaskBytes(byte[] maskBytes) {
        this.maskBytes = maskBytes;
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

    public String getExpectedLabel() {
        return expectedLabel;
    }

    public void setExpectedLabel(String expectedLabel) {
        this.expectedLabel = expectedLabel;
    }
}
