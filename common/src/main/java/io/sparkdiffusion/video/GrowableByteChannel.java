package io.sparkdiffusion.video;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.Arrays;
import org.jcodec.common.io.SeekableByteChannel;

/**
 * An in-memory, growable, seekable channel for JCodec's MP4 muxer, which seeks back to patch box sizes and so
 * cannot write straight to an {@link OutputStream}. (JCodec's own {@code ByteBufferSeekableByteChannel} has a fixed
 * capacity.) It holds only the encoded bitstream, never raw frames. {@link #close()} keeps the contents readable.
 */
final class GrowableByteChannel implements SeekableByteChannel {
    private byte[] buf;
    private int size;
    private int position;
    private boolean open = true;

    GrowableByteChannel(int initialCapacity) {
        buf = new byte[Math.max(64, initialCapacity)];
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        ensureOpen();
        if (position >= size) {
            return -1;
        }
        int n = Math.min(dst.remaining(), size - position);
        dst.put(buf, position, n);
        position += n;
        return n;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        ensureOpen();
        int n = src.remaining();
        long end = (long) position + n;
        if (end > Integer.MAX_VALUE - 8) {
            throw new IOException("in-memory video larger than 2 GB: write it to a file instead");
        }
        if (end > buf.length) {
            buf = Arrays.copyOf(buf, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(end, 2L * buf.length)));
        }
        if (position > size) {
            Arrays.fill(buf, size, position, (byte) 0);
        }
        src.get(buf, position, n);
        position += n;
        size = Math.max(size, position);
        return n;
    }

    @Override
    public long position() {
        return position;
    }

    @Override
    public SeekableByteChannel setPosition(long newPosition) throws IOException {
        if (newPosition < 0 || newPosition > Integer.MAX_VALUE - 8) {
            throw new IOException("bad position " + newPosition);
        }
        position = (int) newPosition;
        return this;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public SeekableByteChannel truncate(long newSize) throws IOException {
        if (newSize < 0) {
            throw new IOException("negative size " + newSize);
        }
        if (newSize < size) {
            size = (int) newSize;
        }
        position = Math.min(position, size);
        return this;
    }

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() {
        open = false;
    }

    void writeTo(OutputStream out) throws IOException {
        out.write(buf, 0, size);
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, size);
    }

    private void ensureOpen() throws IOException {
        if (!open) {
            throw new ClosedChannelException();
        }
    }
}
