/** The CLIP tokenizer (CLIP's byte-level BPE, in Java). Engine internals. */
package io.sparkdiffusion.text;
