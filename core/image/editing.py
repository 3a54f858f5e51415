"""Edits of an existing image — a variation, a repainted region, an extension to another format — described as data,
with the masks and canvases they need. Plain PIL: the SDXL pipelines that carry them out live in core.image.sdxl."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from PIL import Image, ImageFilter, ImageOps

from core.errors import SettingsError
from core.image.settings import SDXL_SIZES, Bound, ImageSettings, size_list

STRENGTH = Bound(0.1, 0.9, "how much of the image a variation may change: 0.1 a touch, 0.9 nearly all of it",
                 step=0.05)
DEFAULT_STRENGTH = 0.5
MASK_THRESHOLD = 128  # mask pixels at or above this are repainted
FEATHER_PX = 8  # the new area of an extension starts from the stretched edge, blurred by this much


class EditKind(str, Enum):
    """What an edit does to its source image."""

    VARIATION = "variation"  # the whole image redrawn, keeping its composition as strength says
    INPAINT = "inpaint"  # only the masked region redrawn; every other pixel kept
    EXTEND = "extend"  # the image placed in a larger format, the new area painted to match


# Channel formats an image can be extended to, for the one-click buttons: name -> SDXL size
FORMATS = {"square": (1024, 1024), "story": (768, 1344), "feed_4_5": (896, 1152), "banner": (1344, 768),
           "landscape": (1152, 896)}


@dataclass(frozen=True)
class Edit:
    """One edit of a source image: its kind, and what that kind needs (a strength, a mask, a target size)."""

    kind: EditKind
    source: Image.Image
    strength: float = DEFAULT_STRENGTH  # variations only
    mask: Image.Image | None = None  # inpainting: white is repainted, black kept
    target: tuple[int, int] | None = None  # extensions: the SDXL size to reach

    def __post_init__(self):
        object.__setattr__(self, "kind", _kind(self.kind))
        object.__setattr__(self, "source", self.source.convert("RGB"))
        if self.kind is EditKind.VARIATION:
            _check_strength(self.strength)
        if self.kind is EditKind.INPAINT:
            object.__setattr__(self, "mask", checked_mask(self.mask, self.source.size))
        if self.kind is EditKind.EXTEND:
            if self.target not in SDXL_SIZES:
                shown = "x".join(map(str, self.target)) if isinstance(self.target, tuple) else self.target
                raise SettingsError("size", shown, "not_sdxl_size", allowed=size_list())
            if tuple(self.target) == self.source.size:
                raise SettingsError("size", "x".join(map(str, self.target)), "extend_same_size")

    def canvas(self) -> tuple[Image.Image, Image.Image]:
        """The image the pipeline starts from and the mask of what it may repaint (white), at the output size."""
        if self.kind is EditKind.VARIATION:
            return self.source, Image.new("L", self.source.size, 255)
        if self.kind is EditKind.INPAINT:
            return self.source, self.mask
        return extension_canvas(self.source, self.target)

    def settings_for(self, settings: ImageSettings) -> ImageSettings:
        """The render settings at this edit's output size, one image."""
        width, height = self.target if self.kind is EditKind.EXTEND else self.source.size
        return dataclasses.replace(settings, width=width, height=height, candidates=1)

    def describe(self, parent: int | None) -> dict[str, str]:
        """What the edit was, for the PNG's metadata."""
        info = {"edit": self.kind.value, "parent_version": str(parent or "")}
        if self.kind is EditKind.VARIATION:
            info["strength"] = f"{self.strength:g}"
        return info


def edit_settings(source: ImageSettings) -> ImageSettings:
    """An edit's settings from its source version's: the same size, steps, guidance and refiner, one image, a new
    seed. A fast render is edited in the standard mode at its defaults, since the few-step LoRA does not edit."""
    if source.quality == "fast":
        return ImageSettings(width=source.width, height=source.height)
    return dataclasses.replace(source, seed=None, candidates=1)


def checked_mask(mask: Image.Image | None, size: tuple[int, int]) -> Image.Image:
    """The mask as black and white at the image's size, or a SettingsError: missing, another size, or empty."""
    if mask is None:
        raise SettingsError("mask", None, "empty")
    if mask.size != size:
        raise SettingsError("mask", f"{mask.width}x{mask.height}", "mask_wrong_size", size=f"{size[0]}x{size[1]}")
    binary = mask.convert("L").point(lambda value: 255 if value >= MASK_THRESHOLD else 0)
    if binary.getbbox() is None:
        raise SettingsError("mask", "", "mask_empty")
    return binary


def rectangle_mask(size: tuple[int, int], box: tuple[float, float, float, float]) -> Image.Image:
    """A mask repainting the rectangle box = (left, top, right, bottom), given as fractions 0..1 of the image."""
    left, top, right, bottom = (min(max(float(v), 0.0), 1.0) for v in box)
    mask = Image.new("L", size, 0)
    if right > left and bottom > top:
        mask.paste(255, (round(left * size[0]), round(top * size[1]), round(right * size[0]), round(bottom * size[1])))
    return mask


def region_preview(image: Image.Image, box: tuple[float, float, float, float], keep_region: bool = False,
                   longest: int = 512) -> Image.Image:
    """A small copy of the image with what will be repainted shaded red: the rectangle box, or, where the region is
    kept, everything around it, exactly as edit_arguments builds the mask."""
    shown = image.convert("RGB")
    shown.thumbnail((longest, longest))
    repainted = rectangle_mask(shown.size, box)
    if keep_region:
        repainted = ImageOps.invert(repainted)
    tint = Image.new("RGB", shown.size, (230, 30, 30))
    return Image.composite(Image.blend(shown, tint, 0.45), shown, repainted)


def edit_arguments(kind: str, size: tuple[int, int], strength: float | None = None,
                   across: tuple[int, int] = (0, 100), down: tuple[int, int] = (0, 100),
                   target_format: str | None = None, painted: Image.Image | None = None,
                   keep_region: bool = False) -> dict:
    """What an Edit of kind needs beyond its source, from a face's controls: a variation's strength, a format's
    size, or the mask of a region. The region is the painted mask where there is one (a brush's strokes, a cut-out
    product), scaled to the image, else the rectangle given as percent ranges across and down the image;
    keep_region turns it around, repainting everything but the region (the product kept, a new background)."""
    if kind == EditKind.VARIATION.value:
        return {"strength": strength}
    if kind == EditKind.INPAINT.value:
        if painted is not None:
            mask = scaled_mask(painted, size)
        else:
            mask = rectangle_mask(size, (across[0] / 100, down[0] / 100, across[1] / 100, down[1] / 100))
        if keep_region:
            mask = ImageOps.invert(checked_mask(mask, size))
        return {"mask": checked_mask(mask, size)}
    return {"target": FORMATS[target_format]}


def scaled_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A mask drawn over a smaller preview of the image, at the image's size; a mask of another shape is refused
    (checked_mask names both sizes)."""
    if mask.size == size:
        return mask
    if abs(mask.width / mask.height - size[0] / size[1]) > 0.02:
        return checked_mask(mask, size)  # raises: another shape than the image's
    return mask.convert("L").resize(size, Image.Resampling.NEAREST)


def placement(source_size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where the source sits, whole and centred, in the target format: (left, top, right, bottom), scaled down
    only as much as the narrower side needs."""
    scale = min(target[0] / source_size[0], target[1] / source_size[1], 1.0)
    width, height = round(source_size[0] * scale), round(source_size[1] * scale)
    left, top = (target[0] - width) // 2, (target[1] - height) // 2
    return left, top, left + width, top + height


def extension_canvas(source: Image.Image, target: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    """The source centred in the target format, the new area prefilled with its stretched, blurred edges (so the
    painter starts from matching colours), and the mask of that new area."""
    box = placement(source.size, target)
    placed = source.resize((box[2] - box[0], box[3] - box[1]), Image.Resampling.LANCZOS)
    # stretch the placed image over the whole canvas, blur it, and put the sharp original back in the middle
    background = ImageOps.fit(placed, target, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(FEATHER_PX))
    background.paste(placed, box[:2])
    mask = Image.new("L", target, 255)
    mask.paste(0, box)
    return background, mask


def keep_outside(result: Image.Image, start: Image.Image, mask: Image.Image) -> Image.Image:
    """The result where the mask is white and the starting image everywhere else, pixel for pixel: the VAE's
    round trip never blurs what the edit was told to keep."""
    return Image.composite(result.convert("RGB").resize(start.size), start.convert("RGB"), mask)


def _kind(value: object) -> EditKind:
    try:
        return EditKind(value)
    except ValueError:
        raise SettingsError("edit", value, "not_one_of", allowed=", ".join(k.value for k in EditKind)) from None


def _check_strength(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError("strength", value, "not_a_number", low=STRENGTH.low, high=STRENGTH.high)
    if not STRENGTH.low <= value <= STRENGTH.high:
        raise SettingsError("strength", value, "out_of_range", low=STRENGTH.low, high=STRENGTH.high)
