import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

/**
 * Writes a YCCK JPEG (Adobe APP14 transform 2), which Pillow cannot write, for make_decode_cases.py:
 * {@code java WriteYcckJpeg.java CMYK_TEMPLATE.jpg SAMPLES.raw WIDTH HEIGHT OUT.jpg}. SAMPLES.raw holds interleaved
 * Y, Cb, Cr, K bytes; the JDK's writer stores a 4-band raster as it is and labels it YCCK when the metadata's Adobe
 * transform says so. The metadata comes from a 4-component JPEG of the same size (the template), its Adobe segment
 * set to transform 2.
 */
public final class WriteYcckJpeg {
    public static void main(String[] args) throws Exception {
        int w = Integer.parseInt(args[2]);
        int h = Integer.parseInt(args[3]);
        byte[] samples = Files.readAllBytes(Path.of(args[1]));
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int b = 0; b < 4; b++) {
                    raster.setSample(x, y, b, samples[(y * w + x) * 4 + b] & 0xff);
                }
            }
        }
        ImageReader reader = ImageIO.getImageReadersByFormatName("jpeg").next();
        IIOMetadata metadata;
        try (ImageInputStream in = ImageIO.createImageInputStream(new File(args[0]))) {
            reader.setInput(in);
            metadata = reader.getImageMetadata(0);
        }
        String format = metadata.getNativeMetadataFormatName();
        IIOMetadataNode root = (IIOMetadataNode) metadata.getAsTree(format);
        IIOMetadataNode markers = (IIOMetadataNode) root.getElementsByTagName("markerSequence").item(0);
        // one Adobe segment only: libjpeg goes by the last one, Pillow's info by the first
        IIOMetadataNode adobe = (IIOMetadataNode) root.getElementsByTagName("app14Adobe").item(0);
        if (adobe == null) {
            adobe = new IIOMetadataNode("app14Adobe");
            adobe.setAttribute("version", "101");
            adobe.setAttribute("flags0", "0");
            adobe.setAttribute("flags1", "0");
            markers.insertBefore(adobe, markers.getFirstChild());
        }
        adobe.setAttribute("transform", "2");
        metadata.setFromTree(format, root);
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(new File(args[4]))) {
            writer.setOutput(out);
            writer.write(null, new IIOImage(raster, null, metadata), writer.getDefaultWriteParam());
        }
    }
}
