"""A brand kit's logo and font, checked before they are kept: a logo is a PNG with transparency, a font a TrueType or
OpenType file that renders Portuguese and Spanish text. Without a font of its own a kit uses Source Sans Pro, shipped
with the studio under the SIL Open Font License (the font-source-sans-pro package)."""
from __future__ import annotations

import io
from pathlib import Path

import font_source_sans_pro
from PIL import Image, ImageFont

from core.errors import SettingsError
from core.image.png import PNG_SIGNATURE
from core.image.uploads import OPAQUE, megabytes, read_image

MAX_LOGO_BYTES = 5 * 1024 * 1024
MAX_LOGO_PIXELS = 16_000_000
MAX_FONT_BYTES = 10 * 1024 * 1024
FONT_SIGNATURES = {b"\x00\x01\x00\x00": ".ttf", b"true": ".ttf", b"OTTO": ".otf"}
# The characters a font must draw for the studio's languages; a font lacking them would print boxes on a creative
SAMPLE_TEXT = "AaÁáÂâÃãÇçÉéÊêÍíÓóÔôÕõÚúÑñ¿¡"
SHIPPED_FONT = Path(font_source_sans_pro.font_directory) / "SourceSansPro-Bold.ttf"
SHIPPED_FONT_REGULAR = Path(font_source_sans_pro.font_directory) / "SourceSansPro-Regular.ttf"


def read_logo(data: bytes, name: str = "") -> Image.Image:
    """The logo in data as RGBA, or a SettingsError naming the logo: not a PNG, too big, no transparent background
    (a logo on a white box would print as a white box), or nothing opaque at all."""
    shown = name or "logo"
    if not data.startswith(PNG_SIGNATURE):
        raise SettingsError("logo", shown, "logo_not_png")
    logo = read_image(data, "logo", name, max_bytes=MAX_LOGO_BYTES, max_pixels=MAX_LOGO_PIXELS)
    low, high = logo.getchannel("A").getextrema()
    if high < OPAQUE:
        raise SettingsError("logo", shown, "upload_all_transparent")
    if low == 255:
        raise SettingsError("logo", shown, "logo_opaque")
    return logo


def read_font(data: bytes, name: str = "") -> str:
    """The file extension (.ttf or .otf) of the font in data, once it is known to load and to draw every accented
    letter of the studio's languages; else a SettingsError naming the font."""
    shown = name or "font"
    if len(data) > MAX_FONT_BYTES:
        raise SettingsError("font", shown, "upload_too_large", size=megabytes(len(data)),
                            limit=megabytes(MAX_FONT_BYTES))
    extension = FONT_SIGNATURES.get(data[:4])
    if extension is None:
        raise SettingsError("font", shown, "not_a_font")
    try:
        font = ImageFont.truetype(io.BytesIO(data), 32)
        missing = [char for char in SAMPLE_TEXT if _draws_nothing(font, char)]
    except (OSError, ValueError):
        raise SettingsError("font", shown, "not_a_font") from None
    if missing:
        raise SettingsError("font", shown, "font_lacks_letters", letters="".join(missing))
    return extension


def _draws_nothing(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether the font lacks char: it draws nothing, or the same box it draws for a character no font has."""
    mask = font.getmask(char)
    return mask.getbbox() is None or bytes(mask) == bytes(font.getmask("\U000F0000"))


def load_font(path: Path | str | None, size: int) -> ImageFont.FreeTypeFont:
    """The font at path (the shipped one where path is None) at size pixels."""
    return ImageFont.truetype(str(path or SHIPPED_FONT), size)
