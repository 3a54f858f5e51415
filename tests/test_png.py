"""The studio's PNG files: every pixel and every metadata field read back by an independent decoder (Pillow)."""
import io
import zlib

import numpy as np
import pytest
from PIL import Image

from core.image.engine import RenderedImage
from core.image.png import encode_png, png_metadata, read_png_metadata, save_png
from core.image.settings import ImageSettings


@pytest.mark.parametrize("mode, shape", [("RGB", (1024, 1024, 3)), ("RGB", (3, 5, 3)), ("RGBA", (896, 1152, 4)),
                                         ("L", (1, 7)), ("L", (97, 1))])
def test_every_pixel_is_read_back_as_written(mode, shape):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    pixels[: shape[0] // 2] //= 16  # a smooth half, where the filter and compression matter, beside noise
    data = encode_png(Image.fromarray(pixels, mode), {})
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.mode == mode and np.array_equal(np.asarray(decoded), pixels)


def test_a_render_keeps_its_prompt_and_settings_with_accents(tmp_path):
    image = Image.new("RGB", (1152, 896), (200, 120, 40))
    rendered = RenderedImage(image=image, seed=7, prompt="café on a wooden table, soft light",
                             negative_prompt="blurry", settings=ImageSettings(width=1152, height=896, seed=7),
                             model_names=["base", "refiner"], test_weights=False,
                             metadata={"upload_name": "pão de queijo ñ.png"})
    path = save_png(rendered, tmp_path / "render.png")
    assert read_png_metadata(path) == png_metadata(rendered)
    with Image.open(path) as decoded:
        assert decoded.size == (1152, 896) and decoded.getpixel((1151, 895)) == (200, 120, 40)


def test_a_flat_image_is_compressed_and_other_modes_still_save():
    flat = encode_png(Image.new("RGB", (1024, 1024), (10, 20, 30)), {})
    assert len(flat) < 50_000  # 3 MB of pixels: the filter and zlib did their work across every strip
    stream = flat[flat.index(b"IDAT") + 4:]
    assert zlib.decompressobj().decompress(stream)[:1] == b"\x01"  # one well-formed zlib stream, rows filtered
    palette = Image.new("P", (16, 16), 3)
    with Image.open(io.BytesIO(encode_png(palette, {"k": "v"}))) as decoded:
        assert decoded.mode == "P" and decoded.text == {"k": "v"}
