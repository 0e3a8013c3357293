/** Scorers of generated pictures: the bundled digits classifier. */
package io.sparkdiffusion.quality;
