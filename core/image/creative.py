"""Finished creatives: a headline, a call-to-action button and the logo laid over an image, in the brand kit's colours
and font, at a channel's real size. Text stays inside the format's safe area (it shrinks, then wraps, then is cut
with an ellipsis, never overflows) and is always readable: where its WCAG contrast against the picture under it is
below 4.5:1, a scrim goes behind it."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

from core.errors import SettingsError
from core.image.brand_assets import load_font

MIN_CONTRAST = 4.5  # WCAG AA for normal text


@dataclass(frozen=True)
class CreativeFormat:
    """A channel's image size, the SDXL size that matches its shape, and the margins text and logo keep clear of."""

    name: str
    width: int
    height: int
    sdxl: tuple[int, int]
    safe: tuple[int, int, int, int]  # left, top, right, bottom: where the channel's own interface covers the image

    @property
    def safe_box(self) -> tuple[int, int, int, int]:
        left, top, right, bottom = self.safe
        return left, top, self.width - right, self.height - bottom


FORMATS = {f.name: f for f in (
    CreativeFormat("instagram_square", 1080, 1080, (1024, 1024), (64, 64, 64, 64)),
    CreativeFormat("instagram_portrait", 1080, 1350, (896, 1152), (64, 64, 64, 64)),
    # Stories and Reels: the top band holds the profile and the bottom band the reply box and captions
    CreativeFormat("story", 1080, 1920, (768, 1344), (64, 250, 64, 340)),
    CreativeFormat("linkedin", 1200, 628, (1344, 768), (48, 40, 48, 40)),
    CreativeFormat("x", 1200, 675, (1344, 768), (48, 40, 48, 40)),
    CreativeFormat("email_header", 1200, 600, (1344, 768), (48, 36, 48, 36)),
)}
TEMPLATES = ("bottom", "top", "center")


@dataclass(frozen=True)
class Creative:
    """A composed creative and what was measured on it."""

    image: Image.Image
    format: CreativeFormat
    text_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # each drawn line's glyph box
    contrast: float = 0.0  # the headline's worst WCAG ratio against what is behind it, scrim included
    cta_contrast: float = 0.0
    scrim: bool = False
    font_size: int = 0
    cut: bool = False  # the headline had to be cut with an ellipsis at the smallest size


def compose(image: Image.Image, format_name: str, headline: str, cta: str = "", colors: tuple[str, ...] = (),
            logo: Image.Image | None = None, font: Path | None = None, template: str = "bottom",
            subject: Image.Image | None = None) -> Creative:
    """The creative for format_name from image: cropped to the format around the subject (white in the subject
    mask, else the busiest part of the picture), the logo in a top or bottom corner, the headline and a CTA button
    fitted inside the safe area in the kit's colours (the first the text's, the second the button's)."""
    # 1. check inputs
    if format_name not in FORMATS:
        raise SettingsError("creative_format", format_name, "not_one_of", allowed=", ".join(FORMATS))
    if template not in TEMPLATES:
        raise SettingsError("template", template, "not_one_of", allowed=", ".join(TEMPLATES))
    if not isinstance(headline, str) or not headline.strip():
        raise SettingsError("headline", headline, "empty")
    fmt = FORMATS[format_name]
    palette = [_rgb(color) for color in colors]
    # 2. the picture at the channel's size, the subject kept in frame
    canvas = cover(image.convert("RGB"), (fmt.width, fmt.height), subject).convert("RGBA")
    left, top, right, bottom = fmt.safe_box
    unit = min(fmt.width, fmt.height)
    gap = unit // 40
    # 3. the logo in a corner away from the text
    logo_box = None
    if logo is not None:
        logo = logo.copy()
        logo.thumbnail((int((right - left) * 0.22), int((bottom - top) * 0.14)), Image.Resampling.LANCZOS)
        x = right - logo.width
        y = top if template != "top" else bottom - logo.height
        canvas.alpha_composite(logo, (x, y))
        logo_box = (x, y, x + logo.width, y + logo.height)
    # 4. the zone text may use: the safe area less the logo's band
    zone_top, zone_bottom = top, bottom
    if logo_box is not None and template != "top":
        zone_top = logo_box[3] + gap
    elif logo_box is not None:
        zone_bottom = logo_box[1] - gap
    zone_height = zone_bottom - zone_top
    if template != "center":
        zone_height = int(zone_height * (0.55 if fmt.height > fmt.width else 0.75))
    # 5. the headline's size: shrink, then wrap, then cut
    draw = ImageDraw.Draw(canvas)
    cta_font = load_font(font, max(14, unit // 28))
    cta_height = _cta_size(draw, cta, cta_font)[1] if cta.strip() else 0
    room = zone_height - (cta_height + gap if cta_height else 0)
    size, lines, cut = _fit(draw, headline.strip(), font, right - left, room, unit)
    head_font = load_font(font, size)
    line_gap = size // 6
    heights = [_line_box(draw, line, head_font)[3] for line in lines]
    block = sum(heights) + line_gap * (len(lines) - 1) + (cta_height + gap if cta_height else 0)
    if template == "bottom":
        y = zone_bottom - block
    elif template == "top":
        y = zone_top
    else:
        y = zone_top + (zone_bottom - zone_top - block) // 2
    # 6. colours with enough contrast, a scrim where the picture is too busy or too close in tone
    text_box = (left, y, right, y + sum(heights) + line_gap * (len(lines) - 1))
    behind = canvas.crop(text_box).convert("RGB")
    color, contrast = _best_color(palette, behind)
    scrim = contrast < MIN_CONTRAST
    if scrim:
        canvas, contrast, color = _with_scrim(canvas, text_box, palette, gap)
        draw = ImageDraw.Draw(canvas)
    boxes = []
    for line, height in zip(lines, heights):
        draw.text((left, y), line, font=head_font, fill=color, anchor="la")
        boxes.append(draw.textbbox((left, y), line, font=head_font, anchor="la"))
        y += height + line_gap
    # 7. the CTA as a button in the accent colour, its label in whichever of black and white reads best on it
    cta_contrast = 0.0
    if cta_height:
        fill = palette[1] if len(palette) > 1 else (palette[0] if palette else (20, 20, 20))
        label_color = max(((255, 255, 255), (0, 0, 0)), key=lambda c: contrast_ratio(c, fill))
        cta_contrast = contrast_ratio(label_color, fill)
        width, height = _cta_size(draw, cta, cta_font)
        width = min(width, right - left)
        label = _ellipsized(draw, cta.strip(), cta_font, width - 2 * (cta_height // 3))
        y += gap - line_gap
        draw.rounded_rectangle((left, y, left + width, y + height), radius=height // 2, fill=fill)
        draw.text((left + width // 2, y + height // 2), label, font=cta_font, fill=label_color, anchor="mm")
        boxes.append(draw.textbbox((left + width // 2, y + height // 2), label, font=cta_font, anchor="mm"))
    return Creative(canvas.convert("RGB"), fmt, boxes, round(contrast, 2), round(cta_contrast, 2), scrim, size, cut)


def cover(image: Image.Image, size: tuple[int, int], subject: Image.Image | None = None) -> Image.Image:
    """image scaled to fill size and cropped to it, centred on the subject where a mask gives one, else on where
    the picture has most detail (the product, rarely the empty background)."""
    centre = _centre_of(subject) if subject is not None and subject.getbbox() else None
    if centre is None:
        edges = image.convert("L").resize((64, 64)).filter(ImageFilter.FIND_EDGES)
        centre = _centre_of(edges)
    x, y = centre
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS, centering=(x, y))


def _centre_of(weights: Image.Image) -> tuple[float, float] | None:
    """The weighted centre of a greyscale image, as fractions of its width and height."""
    small = weights.convert("L").resize((64, 64))
    values = list(small.get_flattened_data())
    total = sum(values)
    if not total:
        return None
    x = sum((i % 64) * v for i, v in enumerate(values)) / total / 63
    y = sum((i // 64) * v for i, v in enumerate(values)) / total / 63
    return x, y


def _fit(draw, text: str, font: Path | None, width: int, height: int, unit: int) -> tuple[int, list[str], bool]:
    """The largest font size (from a tenth of the format's short side down to a thirtieth) at which text, wrapped
    to width, fits height; at the smallest, the lines that fit with the last cut with an ellipsis."""
    largest, smallest = max(12, unit // 10), max(10, unit // 30)
    for size in range(largest, smallest - 1, -2):
        lines = _wrapped(draw, text, load_font(font, size), width)
        if _block_height(draw, lines, load_font(font, size), size) <= height:
            return size, lines, False
    head_font = load_font(font, smallest)
    lines = _wrapped(draw, text, head_font, width)
    while len(lines) > 1 and _block_height(draw, lines, head_font, smallest) > height:
        lines.pop()
    lines[-1] = _ellipsized(draw, lines[-1] + " …", head_font, width)
    return smallest, lines, True


def _block_height(draw, lines: list[str], font, size: int) -> int:
    return sum(_line_box(draw, line, font)[3] for line in lines) + size // 6 * (len(lines) - 1)


def _line_box(draw, line: str, font) -> tuple[int, int, int, int]:
    """A line's glyph box from its top, with room for the font's accents and descenders whatever the line holds."""
    ascent, descent = font.getmetrics()
    box = draw.textbbox((0, 0), line or " ", font=font, anchor="la")
    return box[0], 0, box[2], max(box[3], ascent + descent)


def _wrapped(draw, text: str, font, width: int) -> list[str]:
    """text in lines no wider than width, broken at spaces (a word wider than width at its letters)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}".strip()
            if draw.textlength(candidate, font=font) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while draw.textlength(word, font=font) > width:  # a word longer than the line: broken at letters
                cut = max(1, next(i for i in range(len(word), 0, -1)
                                  if draw.textlength(word[:i] + "-", font=font) <= width))
                lines.append(word[:cut] + "-")
                word = word[cut:]
            line = word
        lines.append(line)
    return [line for line in lines if line] or [""]


def _ellipsized(draw, text: str, font, width: int) -> str:
    """text, cut at a word with an ellipsis where it is wider than width."""
    if draw.textlength(text, font=font) <= width:
        return text
    words = text.rstrip(" …").split()
    while words and draw.textlength(" ".join(words) + "…", font=font) > width:
        if len(words) == 1:
            words[0] = words[0][:-1]
            if not words[0]:
                words.pop()
        else:
            words.pop()
    return " ".join(words) + "…"


def _cta_size(draw, cta: str, font) -> tuple[int, int]:
    ascent, descent = font.getmetrics()
    height = int((ascent + descent) * 1.8)
    return math.ceil(draw.textlength(cta.strip(), font=font)) + 2 * (height // 3), height


def _best_color(palette: list[tuple[int, int, int]], behind: Image.Image) -> tuple[tuple[int, int, int], float]:
    """Of the kit's colours (then white and black), the first that reads at 4.5:1 on the darkest and lightest
    tenths of what is behind the text; else the one that reads best."""
    dark, light = _tone_range(behind)
    candidates = palette + [(255, 255, 255), (0, 0, 0)]
    scored = [(c, min(contrast_ratio(c, dark), contrast_ratio(c, light))) for c in candidates]
    return next(((c, s) for c, s in scored if s >= MIN_CONTRAST), max(scored, key=lambda pair: pair[1]))


def _with_scrim(canvas: Image.Image, box, palette, gap: int):
    """canvas with a panel behind box in the kit's text colour's better contrast of black and white (every colour
    reaches 4.58:1 on one of them), opaque enough for 4.5:1; the text keeps the kit's colour."""
    color = palette[0] if palette else _best_color(palette, canvas.crop(box).convert("RGB"))[0]
    shade = max(((0, 0, 0), (255, 255, 255)), key=lambda candidate: contrast_ratio(color, candidate))
    left, top, right, bottom = box
    panel = (left - gap // 2, top - gap // 2, right + gap // 2, bottom + gap // 2)
    for alpha in (0.55, 0.7, 0.85, 1.0):
        layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        ImageDraw.Draw(layer).rounded_rectangle(panel, radius=gap, fill=(*shade, int(255 * alpha)))
        shaded = Image.alpha_composite(canvas, layer)
        dark, light = _tone_range(shaded.crop(box).convert("RGB"))
        contrast = min(contrast_ratio(color, dark), contrast_ratio(color, light))
        if contrast >= MIN_CONTRAST:
            break
    return shaded, contrast, color


def _tone_range(image: Image.Image) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The colours at the darkest and the lightest tenth of image's pixels, by luminance: sampled, not averaged,
    so stripes of black and white read as both, never as grey."""
    pixels = sorted(image.resize((96, 96), Image.Resampling.NEAREST).get_flattened_data(), key=relative_luminance)
    return pixels[len(pixels) // 10], pixels[-(len(pixels) // 10) - 1]


def relative_luminance(color: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
