/** The CLIP tokenizer (DJL's HuggingFace tokenizers, kept offline). Engine internals. */
package io.sparkdiffusion.text;
