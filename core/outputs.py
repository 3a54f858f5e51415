"""Writes a finished post to disk: the copy, PNGs carrying their prompt metadata, and a JSON record."""
from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image, PngImagePlugin

from core.image_generation import RenderedImage


def png_metadata(rendered: RenderedImage) -> dict[str, str]:
    """The text chunks a PNG carries so the image can be traced and rendered again."""
    s = rendered.settings
    return {
        "prompt": rendered.prompt,
        "negative_prompt": rendered.negative_prompt,
        "seed": str(rendered.seed),
        "size": f"{s.width}x{s.height}",
        "steps": str(s.steps),
        "guidance": str(s.guidance),
        "refiner": f"on, switch {s.refiner_switch}" if s.use_refiner else "off",
        "models": ", ".join(rendered.model_names),
        "test_weights": "yes: random weights, not a real render" if rendered.test_weights else "no",
        **rendered.metadata,
    }


def save_png(rendered: RenderedImage, path: Path) -> Path:
    """Save the image with its metadata, atomically: a crash never leaves half a PNG at path."""
    info = PngImagePlugin.PngInfo()
    for key, value in png_metadata(rendered).items():
        info.add_itxt(key, value)
    return _atomic_write(Path(path), lambda handle: rendered.image.save(handle, format="PNG", pnginfo=info))


def read_png_metadata(path: Path) -> dict[str, str]:
    """The text chunks of a PNG written by save_png."""
    with Image.open(path) as image:
        image.load()
        return dict(image.text)


def write_json(data: dict, path: Path) -> Path:
    """Write data as UTF-8 JSON, atomically."""
    payload = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return _atomic_write(Path(path), lambda handle: handle.write(payload))


def write_text(text: str, path: Path) -> Path:
    """Write text as UTF-8, atomically."""
    return _atomic_write(Path(path), lambda handle: handle.write(text.encode("utf-8")))


def new_id() -> str:
    """A sortable unique id for file names: never derived from user text."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def _atomic_write(path: Path, write) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
