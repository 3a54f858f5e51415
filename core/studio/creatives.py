"""A draft's finished creatives and storyboard: its chosen image with the headline, CTA and the kit's logo, colours
and font, at each channel's size; and a video script's scenes, one image each, as a PDF contact sheet."""
from __future__ import annotations

import io
import re

from PIL import Image, ImageDraw

from core.content.brief import ContentType
from core.content.channels import HASHTAG, parts_of
from core.image.brand_assets import SHIPPED_FONT_REGULAR, load_font
from core.image.creative import FORMATS, compose
from core.studio.history import HistoryStore
from core.studio.records import CreativeVersion, Draft
from core.studio.storage import HistoryError

MAX_HEADLINE = 90
# The creative format each channel is published in first; the faces offer every format
CHANNEL_FORMAT = {ContentType.INSTAGRAM: "instagram_square", ContentType.LINKEDIN: "linkedin", ContentType.X: "x",
                  ContentType.EMAIL: "email_header", ContentType.PRODUCT_DESCRIPTION: "instagram_square",
                  ContentType.VIDEO_SCRIPT: "story"}
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200d]")


def headline_of(draft: Draft) -> str:
    """A headline taken from the draft's copy: an email's subject, else the copy's first sentence without hashtags
    or emoji (which the shipped font cannot draw), cut at a word to MAX_HEADLINE characters."""
    parts = parts_of(draft.copy.text, draft.brief.content_type)
    text = parts.subject or (parts.scenes[0].text if parts.scenes else parts.body)
    text = _EMOJI.sub("", HASHTAG.sub("", text)).strip()
    first = re.split(r"(?<=[.!?…])\s|\n", text, maxsplit=1)[0].strip() or draft.brief.product
    if len(first) > MAX_HEADLINE:
        first = first[:MAX_HEADLINE].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
    return first


def source_for(draft: Draft, format_name: str) -> int:
    """The image version a creative in format_name starts from: of the versions at the format's SDXL shape (an
    extension to it, or a render at that size), the favourite, else the newest; with none, the favourite, else
    the newest version (cropped to the format around its subject)."""
    wanted = FORMATS[format_name].sdxl if format_name in FORMATS else None
    for versions in ([v for v in draft.image_versions if (v.settings.width, v.settings.height) == wanted],
                     list(draft.image_versions)):
        if versions:
            favourite = next((v for v in versions if v.n == draft.favorite), None)
            return (favourite or versions[-1]).n
    raise HistoryError("no_image_version", value=1)


def make_creative(store: HistoryStore, draft_id: str, image_version: int | None, format_name: str, headline: str,
                  cta: str, author: str, template: str = "bottom") -> CreativeVersion:
    """Compose image version image_version of the draft (None: source_for the format) into format_name under the
    draft's brand kit (its logo, colours and font as they were when the draft was written) and save it as the
    draft's next creative version."""
    draft = store.get(draft_id)
    if image_version is None:
        image_version = source_for(draft, format_name)
    version, image = store.source_image(draft_id, image_version)
    kit = draft.brief.kit
    creative = compose(image, format_name, headline, cta, kit.colors if kit else (),
                       store.kits.logo(kit) if kit else None, store.kits.font_path(kit), template,
                       store.cut_out(version))
    return store.add_creative(draft_id, creative, image_version, headline, cta, template, author)


def creative_file(store: HistoryStore, version: CreativeVersion, file_format: str = "PNG") -> bytes:
    """A creative's file for download: its PNG, or a JPEG (quality 92) for channels that want one."""
    path = store.image_path(version.file)
    if file_format.upper() != "JPEG":
        return path.read_bytes()
    with Image.open(path) as image:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=92, optimize=True)
    return buffer.getvalue()


def storyboard_pdf(store: HistoryStore, draft_ids: list[str], frame: int = 360) -> bytes:
    """A PDF contact sheet: for each draft, its scenes' newest images in a row of frames with the scene's text
    under each (up to four frames a row), one page per draft."""
    pages = []
    font = load_font(SHIPPED_FONT_REGULAR, max(12, frame // 18))
    for draft_id in draft_ids:
        draft = store.get(draft_id)
        frames = list(_scene_frames(store, draft))
        columns = max(1, min(4, len(frames)))
        height = frame * 16 // 9
        caption = frame // 2
        rows = max(1, -(-len(frames) // columns))
        page = Image.new("RGB", (columns * (frame + 24) + 24, rows * (height + caption + 24) + 80), "white")
        draw = ImageDraw.Draw(page)
        draw.text((24, 24), draft.brief.product, font=load_font(None, 32), fill="black")
        for index, (text, image) in enumerate(frames):
            x = 24 + (index % columns) * (frame + 24)
            y = 80 + (index // columns) * (height + caption + 24)
            if image is not None:
                page.paste(image.resize((frame, height)), (x, y))
            else:
                draw.rectangle((x, y, x + frame, y + height), outline="grey")
            draw.multiline_text((x, y + height + 6), _wrap(draw, text, font, frame), font=font, fill="black")
        pages.append(page)
    buffer = io.BytesIO()
    if pages:
        pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return buffer.getvalue()


def _scene_frames(store: HistoryStore, draft: Draft):
    """(scene n: its text, its image or None) for each scene of a script; a plain draft is one scene."""
    parts = parts_of(draft.copy.text, draft.brief.content_type)
    scenes = parts.scenes or []
    images = {}
    for version in draft.image_versions:
        images[version.scene or 0] = version
    if not scenes:
        yield draft.copy.text[:200], _image(store, images.get(0))
        return
    for scene in scenes:
        yield f"{scene.number}. {scene.text}", _image(store, images.get(scene.number))


def _image(store: HistoryStore, version) -> Image.Image | None:
    if version is None or not store.image_path(version.file).exists():
        return None
    with Image.open(store.image_path(version.file)) as image:
        return image.convert("RGB")


def _wrap(draw, text: str, font, width: int, max_lines: int = 5) -> str:
    lines, line = [], ""
    for word in text.split():
        if draw.textlength(f"{line} {word}".strip(), font=font) <= width:
            line = f"{line} {word}".strip()
        else:
            lines.append(line)
            line = word
    lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += " …"
    return "\n".join(lines)
