"""PNG files that carry their prompt, seed and settings, so any image can be traced and rendered again."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, PngImagePlugin

from core.files import atomic_write
from core.image.engine import RenderedImage

# zlib's fastest level: encoding a 1024x1024 render takes a fraction of the default level 6's time for files a
# little larger (bench/results/README.md, "the user's path")
COMPRESS_LEVEL = 1


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
    info = PngImagePlugin.PngInfo()
    for key, value in png_metadata(rendered).items():
        info.add_itxt(key, value)
    return atomic_write(Path(path), lambda handle: rendered.image.save(handle, format="PNG", pnginfo=info,
                                                                               compress_level=COMPRESS_LEVEL))


def read_png_metadata(path: Path) -> dict[str, str]:
    """The text chunks of a PNG written by save_png."""
    with Image.open(path) as image:
        image.load()
        return dict(image.text)
