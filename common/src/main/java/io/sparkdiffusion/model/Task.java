package io.sparkdiffusion.model;

/** What a job asks of a model folder; one folder (e.g. an SD export) serves several tasks, as in diffusers. */
public enum Task {
    /** Text-to-image, or unconditional generation for prompt-free models. */
    TEXT_TO_IMAGE,
    /** Image-to-image (SD, SDXL-Turbo), Kandinsky 2.2 sketch-to-image. */
    IMAGE_TO_IMAGE,
    /** Inpainting: 9-channel inpainting UNets, or plain 4-channel UNets by latent blending. */
    INPAINT,
    /** Video: text-to-video (ModelScope, zeroscope) or image-to-video (Stable Video Diffusion): a {@code VideoPipeline}. */
    VIDEO
}
