package io.sparkdiffusion.jobs;

import java.io.Serializable;

/** The outcome of one planned image: written (with its metadata) or failed in the engine (with the reason). */
public class GeneratedRow implements Serializable {
    private static final long serialVersionUID = 1L;

    private boolean written;
    private String id;
    private String inputId;
    private String prompt;
    private String negativePrompt;
    private long seed;
    private int numInferenceSteps;
    private double guidanceScale;
    private String scheduler;
    private int width;
    private int height;
    private String modelName;
    private String modelFingerprint;
    private String imagePath;
    private String imageSha256;
    private long generationMs;
    private java.sql.Timestamp generatedAt;
    private String runId;
    private String errorReason;
    private String errorField;
    private String notes;
    private String inputImage;
    private String inputMask;
    private Double strength;
    private Integer numFrames;
    private Integer fps;
    private Double durationSeconds;
    private String videoPath;
    private String imageKey;
    private String recordFile;
    private long mediaBytes;
    private String thumbnail;

    public GeneratedRow() {}

    static GeneratedRow of(PlannedRow p, String runId, String modelName, String fingerprint) {
        GeneratedRow g = new GeneratedRow();
        g.id = p.getId();
        g.inputId = p.getInputId();
        g.prompt = p.getPrompt();
        g.negativePrompt = p.getNegativePrompt();
        g.seed = p.getSeed();
        g.numInferenceSteps = p.getSteps();
        g.guidanceScale = p.getGuidanceScale();
        g.scheduler = p.getScheduler();
        g.width = p.getWidth();
        g.height = p.getHeight();
        g.modelName = modelName;
        g.modelFingerprint = fingerprint;
        g.runId = runId;
        g.imageKey = p.getImageFile().replaceAll("\\.png$", "");
        g.generatedAt = new java.sql.Timestamp(System.currentTimeMillis());
        g.strength = p.getStrength();
        g.inputImage = p.getImageBytes() != null
                ? "<" + p.getImageBytes().length + " bytes in the input row>"
                : Redaction.uri(p.getImageRef());
        g.inputMask = p.getMaskBytes() != null
                ? "<" + p.getMaskBytes().length + " bytes in the input row>"
                : Redaction.uri(p.getMaskRef());
        return g;
    }

    /** The row's key in the output: its file name without extension ({@code cat-0}, {@code dir/photo}). */
    public String getImageKey() {
        return imageKey;
    }

    public void setImageKey(String imageKey) {
        this.imageKey = imageKey;
    }

    /** The record fragment this row was read from (set when reading fragments; not part of the metadata table). */
    public String getRecordFile() {
        return recordFile;
    }

    public void setRecordFile(String recordFile) {
        this.recordFile = recordFile;
    }

    /** Bytes of the picture or video this row's record carries (formats with the media in the dataset). */
    public long getMediaBytes() {
        return mediaBytes;
    }

    public void setMediaBytes(long mediaBytes) {
        this.mediaBytes = mediaBytes;
    }

    /** A small PNG of the picture, base64, for the contact sheet of formats without picture files; else null. */
    public String getThumbnail() {
        return thumbnail;
    }

    public void setThumbnail(String thumbnail) {
        this.thumbnail = thumbnail;
    }

    public boolean isWritten() {
        return written;
    }

    public void setWritten(boolean written) {
        this.written = written;
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

    public int getNumInferenceSteps() {
        return numInferenceSteps;
    }

    public void setNumInferenceSteps(int numInferenceSteps) {
        this.numInferenceSteps = numInferenceSteps;
    }

    public double getGuidanceScale() {
        return guidanceScale;
    }

    public void setGuidanceScale(double guidanceScale) {
        this.guidanceScale = guidanceScale;
    }

    public String getScheduler() {
        return scheduler;
    }

    public void setScheduler(String scheduler) {
        this.scheduler = scheduler;
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

    public String getModelName() {
        return modelName;
    }

    public void setModelName(String modelName) {
        this.modelName = modelName;
    }

    public String getModelFingerprint() {
        return modelFingerprint;
    }

    public void setModelFingerprint(String modelFingerprint) {
        this.modelFingerprint = modelFingerprint;
    }

    public String getImagePath() {
        return imagePath;
    }

    public void setImagePath(String imagePath) {
        this.imagePath = imagePath;
    }

    public String getImageSha256() {
        return imageSha256;
    }

    public void setImageSha256(String imageSha256) {
        this.imageSha256 = imageSha256;
    }

    public long getGenerationMs() {
        return generationMs;
    }

    public void setGenerationMs(long generationMs) {
        this.generationMs = generationMs;
    }

    public java.sql.Timestamp getGeneratedAt() {
        return generatedAt;
    }

    public void setGeneratedAt(java.sql.Timestamp generatedAt) {
        this.generatedAt = generatedAt;
    }

    public String getRunId() {
        return runId;
    }

    public void setRunId(String runId) {
        this.runId = runId;
    }

    public Integer getNumFrames() {
        return numFrames;
    }

    public void setNumFrames(Integer numFrames) {
        this.numFrames = numFrames;
    }

    public Integer getFps() {
        return fps;
    }

    public void setFps(Integer fps) {
        this.fps = fps;
    }

    public Double getDurationSeconds() {
        return durationSeconds;
    }

    public void setDurationSeconds(Double durationSeconds) {
        this.durationSeconds = durationSeconds;
    }

    public String getVideoPath() {
        return videoPath;
    }

    public void setVideoPath(String videoPath) {
        this.videoPath = videoPath;
    }

    public String getErrorField() {
        return errorField;
    }

    public void setErrorField(String errorField) {
        this.errorField = errorField;
    }

    public String getNotes() {
        return notes;
    }

    public void setNotes(String notes) {
        this.notes = notes;
    }

    public String getInputImage() {
        return inputImage;
    }

    public void setInputImage(String inputImage) {
        this.inputImage = inputImage;
    }

    public String getInputMask() {
        return inputMask;
    }

    public void setInputMask(String inputMask) {
        this.inputMask = inputMask;
    }

    public Double getStrength() {
        return strength;
    }

    public void setStrength(Double strength) {
        this.strength = strength;
    }

    public String getErrorReason() {
        return errorReason;
    }

    public void setErrorReason(String errorReason) {
        this.errorReason = errorReason;
    }
}
