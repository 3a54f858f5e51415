"""PNG files that carry their prompt, seed and settings, so any image can be traced and rendered again."""
from __future__ import annotations

import io
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

from core.files import atomic_write
from core.image.engine import RenderedImage

# zlib's fastest level: files a little larger than the default level 6's for a fraction of its time
# (bench/results/README.md, "the user's path")
COMPRESS_LEVEL = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {"L": 0, "RGB": 2, "RGBA": 6}  # 8 bits per channel
SUB_FILTER = 1  # each byte minus the same channel of the pixel to its left: as small as adaptive filters at level 1
# zlib releases the GIL while it compresses, so strips of one image compress on several cores at once
_STRIPS = max(1, min(8, os.cpu_count() or 1))
_compressors = ThreadPoolExecutor(_STRIPS, thread_name_prefix="png")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _compressed_in_strips(raw: bytes, row_bytes: int, level: int) -> bytes:
    """One zlib stream made of strips compressed in parallel, as pigz does: every strip but the last ends on a
    byte boundary (a sync flush), so the raw deflate pieces join into one stream; the checksum covers it all."""
    rows = len(raw) // row_bytes
    step = -(-rows // _STRIPS) * row_bytes
    strips = [raw[start:start + step] for start in range(0, len(raw), step)]

    def compress(index: int) -> bytes:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate: the header is written once below
        last = index == len(strips) - 1
        return compressor.compress(strips[index]) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
    header = b"\x78\x01"  # deflate with a 32 KB window; the level hint does not affect decoding
    try:
        pieces = list(_compressors.map(compress, range(len(strips))))
    except RuntimeError:  # the interpreter is shutting down (a server stopped mid-save): no new pool work, so here
        pieces = [compress(index) for index in range(len(strips))]
    return header + b"".join(pieces) + struct.pack(">I", zlib.adler32(raw))


def encode_png(image: Image.Image, text: dict[str, str], level: int = COMPRESS_LEVEL) -> bytes:
    """The image as PNG bytes with text as international text chunks. Pillow's encoder runs on one core and filters
    row by row in Python's thread; this writes the same format with the filter done by numpy and zlib's compression
    spread over the cores, several times faster for a 1024x1024 render. Modes other than L, RGB and RGBA go
    through Pillow."""
    if image.mode not in COLOR_TYPES:
        info = PngImagePlugin.PngInfo()
        for key, value in text.items():
            info.add_itxt(key, value)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", pnginfo=info, compress_level=level)
        return buffer.getvalue()
    pixels = np.asarray(image, dtype=np.uint8)
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(height, width * channels)
    rows = np.empty((height, 1 + width * channels), dtype=np.uint8)
    rows[:, 0] = SUB_FILTER
    rows[:, 1:1 + channels] = flat[:, :channels]
    np.subtract(flat[:, channels:], flat[:, :-channels], out=rows[:, 1 + channels:])  # wraps modulo 256, as PNG's
    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[image.mode], 0, 0, 0)
    texts = [_chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))
             for key, value in text.items()]
    return b"".join([PNG_SIGNATURE, _chunk(b"IHDR", header), *texts,
                     _chunk(b"IDAT", _compressed_in_strips(rows.tobytes(), rows.shape[1], level)),
                     _chunk(b"IEND", b"")])


def png_metadata(rendered: RenderedImage) -> dict[str, str]:
    """The text chunks a PNG carries so the image can be traced and rendered again."""
    s = rendered.settings
    if rendered.metadata.get("edit") == "upload":  # the team's own image: nothing rendered it
        return {"size": f"{s.width}x{s.height}", **rendered.metadata}
    return {
        "prompt": rendered.prompt,
        "negative_prompt": rendered.negative_prompt,
        "seed": str(rendered.seed),
        "size": f"{s.width}x{s.height}",
        "steps": str(s.steps),
        "guidance": str(s.guidance),
        "refiner": f"on, switch {s.refiner_switch}" if s.use_refiner else "off",
        "quality": s.quality,
        "models": ", ".join(rendered.model_names),
        "test_weights": "yes: random weights, not a real render" if rendered.test_weights else "no",
        **rendered.metadata,
    }


def save_png(rendered: RenderedImage, path: Path) -> Path:
    """Save the image with its metadata, atomically: a crash never leaves half a PNG at path."""
    return write_png(path, rendered.image, png_metadata(rendered))


def write_png(path: Path, image: Image.Image, text: dict[str, str] | None = None) -> Path:
    """Write the image as a PNG, atomically: a crash never leaves half a PNG at path."""
    data = encode_png(image, text or {})
    return atomic_write(Path(path), lambda handle: handle.write(data))


def read_png_metadata(path: Path) -> dict[str, str]:
    """The text chunks of a PNG written by save_png."""
    with Image.open(path) as image:
        image.load()
        return dict(image.text)
