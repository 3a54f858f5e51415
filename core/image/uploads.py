"""A photo or sketch the team brings in, read safely and fitted to an SDXL size so it can be edited like a rendered
image: the type, the bytes and the pixel count are checked before anything is decoded, the EXIF orientation is
applied, and no metadata survives (a phone photo's GPS position never reaches the history or an export)."""
from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import SettingsError
from core.image.settings import SDXL_SIZES

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000  # 8000x5000; decoded as RGBA that is 160 MB of memory
UPLOAD_FORMATS = ("PNG", "JPEG", "WEBP")
OPAQUE = 128  # alpha at or above this is part of a cut-out product


@dataclass(frozen=True)
class Upload:
    """An uploaded image at an SDXL size, on white where it was transparent, and its cut-out if it had one."""

    image: Image.Image  # RGB
    product: Image.Image | None  # L: white where the upload was opaque; None for an image without transparency
    name: str


def read_image(data: bytes, field: str, name: str = "", max_bytes: int = MAX_UPLOAD_BYTES,
               max_pixels: int = MAX_UPLOAD_PIXELS) -> Image.Image:
    """The image in data as RGBA with its EXIF orientation applied and no metadata, or a SettingsError naming field:
    too many bytes, not a PNG, JPEG or WebP, damaged, or too many pixels (checked from the header, before the
    pixels are decoded, so a decompression bomb never expands)."""
    shown = name or field
    if len(data) > max_bytes:
        raise SettingsError(field, shown, "upload_too_large", size=megabytes(len(data)), limit=megabytes(max_bytes))
    not_an_image = SettingsError(field, shown, "not_an_image", allowed=", ".join(UPLOAD_FORMATS))
    too_many = dict(code="upload_too_many_pixels", limit=f"{max_pixels / 1e6:g}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(UPLOAD_FORMATS)) as image:
                size = image.size
                if size[0] * size[1] <= max_pixels:
                    image.seek(0)  # an animated WebP or PNG: its first frame
                    rgba = ImageOps.exif_transpose(image).convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as bomb:  # refused by Pillow at open
        pixels = re.search(r"\((\d+) pixels\)", str(bomb))
        raise SettingsError(field, shown, size=pixels.group(1) if pixels else "?", **too_many) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise not_an_image from None
    if size[0] * size[1] > max_pixels:  # found in the header: nothing was decoded
        raise SettingsError(field, shown, size=f"{size[0]}x{size[1]}", **too_many)
    # the pixels alone, into a new image: no EXIF, XMP, ICC profile or text chunk is carried along
    return Image.frombytes("RGBA", rgba.size, rgba.tobytes())


def nearest_sdxl_size(size: tuple[int, int]) -> tuple[int, int]:
    """The SDXL size whose shape is closest to size's."""
    ratio = math.log(size[0] / size[1])
    return min(SDXL_SIZES, key=lambda sdxl: abs(math.log(sdxl[0] / sdxl[1]) - ratio))


def read_upload(data: bytes, name: str, field: str = "upload") -> Upload:
    """An uploaded file as an Upload: checked by read_image, scaled and centre-cropped to the nearest SDXL shape,
    transparency flattened on white and kept as the product's cut-out."""
    rgba = read_image(data, field, name)
    fitted = ImageOps.fit(rgba, nearest_sdxl_size(rgba.size), Image.Resampling.LANCZOS)
    alpha = fitted.getchannel("A")
    image = Image.new("RGB", fitted.size, (255, 255, 255))
    image.paste(fitted, mask=alpha)
    product = alpha.point(lambda value: 255 if value >= OPAQUE else 0)
    transparent = alpha.getextrema()[0] < OPAQUE
    if transparent and product.getbbox() is None:
        raise SettingsError(field, name or field, "upload_all_transparent")
    return Upload(image=image, product=product if transparent else None, name=name)


def megabytes(count: int) -> str:
    return f"{count / 1024 / 1024:.1f}"
