#!/usr/bin/env python3
"""Pictures that PIL and Java ImageIO decode differently, with what PIL decodes as the reference.

diffusers loads pictures with PIL (diffusers.utils.load_image: Image.open, ImageOps.exif_transpose, convert("RGB")).
For each picture this writes testdata/assets/decode/<name>.<ext> and <name>.npy: float32 (H, W, 3), the 8-bit
values PIL gives after exif_transpose and convert("RGB"). Pictures with alpha are the exception: the job composites
alpha over white (diffusers' convert("RGB") drops it), so their reference is PIL's RGBA composited over white,
round((v * a + 255 * (255 - a)) / 255). ImageDecoderPilParityTest compares the Java decoder with these files,
without Python.

Usage: /path/to/python tools/testdata/make_decode_cases.py [OUT_DIR]   (needs Pillow and numpy, and java for the
YCCK JPEG, which Pillow cannot write: tools/testdata/WriteYcckJpeg.java)
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
W, H = 40, 24  # not square, so that a wrong rotation changes the shape


def scene():
    """An RGB picture with distinct corners, gradients and hard edges (uint8, H x W x 3)."""
    y, x = np.mgrid[0:H, 0:W]
    r = (x * 255 // (W - 1)).astype(np.uint8)
    g = (y * 255 // (H - 1)).astype(np.uint8)
    b = ((x + 2 * y) * 7 % 256).astype(np.uint8)
    img = np.stack([r, g, b], axis=-1)
    img[2:8, 2:10] = (250, 20, 30)  # a red block near the top-left corner
    img[H - 7:H - 2, W - 12:W - 3] = (10, 30, 240)  # a blue block near the bottom-right corner
    return img


def png(path, samples, color_type, bit_depth):
    """A PNG of any colour type and bit depth, written by hand (PIL writes neither 16-bit RGB nor 4-bit grey)."""
    h, w = samples.shape[:2]
    if bit_depth == 16:
        rows = samples.astype(">u2").reshape(h, -1).tobytes()
        stride = len(rows) // h
    elif bit_depth == 8:
        rows = samples.astype(np.uint8).reshape(h, -1).tobytes()
        stride = len(rows) // h
    else:  # grey below 8 bits: pack the samples of each row, most significant bits first
        per_byte = 8 // bit_depth
        packed = []
        for row in samples.reshape(h, w):
            padded = list(row) + [0] * (-len(row) % per_byte)
            for i in range(0, len(padded), per_byte):
                v = 0
                for s in padded[i:i + per_byte]:
                    v = (v << bit_depth) | int(s)
                packed.append(v)
        rows = bytes(packed)
        stride = len(rows) // h
    raw = b"".join(b"\x00" + rows[i * stride:(i + 1) * stride] for i in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def reference(path):
    """What diffusers' load_image gives (alpha composited over white instead of dropped), as float32 0..255."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
        if has_alpha:
            rgba = np.asarray(im.convert("RGBA")).astype(np.float64)
            a = rgba[..., 3:4]
            out = np.floor((rgba[..., :3] * a + 255 * (255 - a)) / 255 + 0.5)
        else:
            out = np.asarray(im.convert("RGB")).astype(np.float64)
    return out.astype(np.float32)


def black_ramp():
    return np.tile(np.linspace(0, 120, W).astype(np.uint8), (H, 1))


def ycck_samples(rgb):
    """Y, Cb, Cr, K of an Adobe YCCK JPEG holding the same picture as cmyk_adobe.jpg: libjpeg turns YCCK into
    C = 255 - R(YCbCr), K as stored, and Pillow inverts that (Adobe polarity), so Y, Cb, Cr is JPEG's YCbCr of
    255 - rgb and K the inverted black ramp."""
    c = 255.0 - rgb.astype(np.float64)
    y = 0.299 * c[..., 0] + 0.587 * c[..., 1] + 0.114 * c[..., 2]
    cb = -0.168736 * c[..., 0] - 0.331264 * c[..., 1] + 0.5 * c[..., 2] + 128
    cr = 0.5 * c[..., 0] - 0.418688 * c[..., 1] - 0.081312 * c[..., 2] + 128
    k = 255 - black_ramp().astype(np.float64)
    return np.clip(np.rint(np.stack([y, cb, cr, k], axis=-1)), 0, 255).astype(np.uint8)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "testdata", "assets", "decode")
    os.makedirs(out, exist_ok=True)
    rgb = scene()
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    alpha = np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1))
    pictures = []

    def add(name):
        stem = os.path.splitext(name)[0]
        assert all(os.path.splitext(p)[0] != stem for p in pictures), f"{name}: its .npy would replace another's"
        pictures.append(name)
        return os.path.join(out, name)

    # 16 bits per sample: the low byte is set so that taking the high byte and rounding differ
    rgb16 = rgb.astype(np.uint16) * 257 + 0x7F
    rgb16 = np.minimum(rgb16, 65535)
    png(add("rgb16.png"), rgb16, 2, 16)
    png(add("rgba16.png"), np.concatenate([rgb16, (alpha.astype(np.uint16) * 257)[..., None]], axis=-1), 6, 16)
    # 16-bit grey: PIL opens it as I;16 and convert("RGB") clips at 255 (values 0..1000 here)
    png(add("grey16.png"), (grey.astype(np.uint16) * 4), 0, 16)
    png(add("grey_alpha.png"), np.stack([grey, alpha], axis=-1), 4, 8)
    png(add("grey_alpha16.png"), np.stack([grey.astype(np.uint16) * 257, alpha.astype(np.uint16) * 257], -1), 4, 16)
    png(add("grey8.png"), grey, 0, 8)
    png(add("grey4.png"), grey >> 4, 0, 4)
    Image.fromarray(rgb).quantize(16).save(add("palette.png"))
    Image.fromarray(grey).save(add("grey.jpg"), quality=92)
    Image.fromarray(rgb).save(add("rgb420.jpg"), quality=92)  # 4:2:0 chroma: libjpeg's fancy upsampling
    # CMYK: Pillow writes Adobe-style inverted CMYK and reads every 4-channel JPEG as inverted ("CMYK;I")
    cmyk = np.concatenate([255 - rgb, black_ramp()[..., None]], -1)
    Image.fromarray(cmyk, mode="CMYK").save(add("cmyk_adobe.jpg"), quality=92)
    with tempfile.TemporaryDirectory() as tmp:
        template = os.path.join(tmp, "template.jpg")
        Image.fromarray(cmyk, mode="CMYK").save(template, quality=92)
        raw = os.path.join(tmp, "ycck.raw")
        ycck_samples(rgb).tofile(raw)
        subprocess.run(["java", os.path.join(HERE, "WriteYcckJpeg.java"), template, raw, str(W), str(H),
                        add("ycck_adobe.jpg")], check=True)
    # EXIF orientation (phone photos): every orientation in a JPEG, one in a PNG's eXIf chunk
    for orientation in range(2, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(rgb).save(add(f"orientation{orientation}.jpg"), quality=92, subsampling=0, exif=exif.tobytes())
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(add("orientation6_in_png.png"), exif=exif.tobytes())  # .npy names must differ

    for name in pictures:
        ref = reference(os.path.join(out, name))
        np.save(os.path.join(out, os.path.splitext(name)[0] + ".npy"), ref)
        print(f"{name}: {ref.shape[1]}x{ref.shape[0]}")


if __name__ == "__main__":
    main()
