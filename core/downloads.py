"""The first start downloads about 30 GB (Llama 3 8B, SDXL base, refiner and VAE): each model's files are fetched
into the Hugging Face cache before it loads, with the bytes, speed and time left reported as they arrive.

The report comes from watching the bytes land in the model's cache folder, not from a library's progress bars, so
it works the same for any way the files arrive (the hub, a mirror, a copy)."""
from __future__ import annotations

import fnmatch
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelLoadError
from core.files import model_label

POLL_S = 0.5
SPEED_SMOOTHING = 0.3  # weight of the newest speed sample: steady figures while chunks arrive unevenly

# What each kind of model needs from its hub repository, in the shapes the loaders read; repositories also hold
# other copies of the weights (fp32 next to fp16, .bin next to .safetensors, the original .pth) never used here.
TEXT_FILES = (["*.json", "*.safetensors", "tokenizer*", "*.txt"], ["original/*"])
PIPELINE_FILES = (["*.json", "*.txt", "tokenizer*/*", "*/*.fp16.safetensors"], [])  # SDXL base and refiner, fp16
VAE_FILES = (["*.json", "*.safetensors"], [])
UNET_FILES = (["unet/*.json", "unet/*.fp16.safetensors"], [])  # an inpainting checkpoint: only its UNet is used


def hush_libraries() -> None:
    """The model libraries' own progress bars and warnings off, for a face that shows its own progress and words
    its own errors (the notebook, the CLI's --quiet): a marketer reading the notebook should not meet a red block
    about an optional kernel package. Errors still come through."""
    import diffusers
    import transformers
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    for library in (transformers, diffusers):
        library.utils.logging.disable_progress_bar()
        library.utils.logging.set_verbosity_error()
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)


@dataclass(frozen=True)
class DownloadStatus:
    """How far one model's download has come."""

    model: str  # its hub id
    done: int  # bytes in the cache (those cached before count as done)
    total: int  # bytes of every file it needs
    speed: float  # bytes per second, smoothed
    folder: str  # where the files stay for the next start

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current speed; None before the speed is known."""
        return max(self.total - self.done, 0) / self.speed if self.speed > 0 else None


class FolderWatch:
    """Reports, every POLL_S while in a with-block and once at its end, how many bytes a folder holds against an
    expected total: the progress of whatever is filling it."""

    def __init__(self, folder: Path, total: int, model: str, report: Callable[[DownloadStatus], None],
                 clock: Callable[[], float] = time.monotonic):
        self.folder, self.total, self.model, self.report, self.clock = Path(folder), total, model, report, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"download-{model_label(model)}")
        self._last: tuple[float, int] | None = None
        self._speed = 0.0

    def __enter__(self) -> "FolderWatch":
        self.poll()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def poll(self) -> DownloadStatus:
        now, done = self.clock(), folder_bytes(self.folder)
        if self._last is not None and now > self._last[0]:
            sample = max(done - self._last[1], 0) / (now - self._last[0])
            self._speed = sample if self._speed == 0 else \
                SPEED_SMOOTHING * sample + (1 - SPEED_SMOOTHING) * self._speed
        self._last = (now, done)
        status = DownloadStatus(self.model, done, max(self.total, done), self._speed, str(self.folder))
        self.report(status)
        return status


def folder_bytes(folder: Path) -> int:
    """Bytes in the files under folder, partial ones included; 0 for a folder not there yet. os.walk skips a
    folder that vanishes while it is read (a download moving its partial files), where Path.rglob raises."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                path = os.path.join(parent, name)
                if not os.path.islink(path):
                    total += os.stat(path).st_size
            except OSError:  # a partial file renamed as we looked
                continue
    return total


def wanted(name: str, files: tuple[list[str], list[str]]) -> bool:
    allow, ignore = files
    return any(fnmatch.fnmatch(name, p) for p in allow) and not any(fnmatch.fnmatch(name, p) for p in ignore)


def fetch(source: str, files: tuple[list[str], list[str]], token: str | None,
          report: Callable[[DownloadStatus], None] | None) -> None:
    """Make sure a hub model's files are in the local cache, reporting the bytes as they arrive; nothing for a
    local folder. The loaders then read them from the cache without downloading again."""
    if report is None or Path(source).is_dir():
        return
    from huggingface_hub import HfApi, constants, snapshot_download
    try:
        info = HfApi().model_info(source, files_metadata=True, token=token)
        total = sum(s.size or 0 for s in info.siblings or () if wanted(s.rfilename, files))
        repo = Path(constants.HF_HUB_CACHE) / f"models--{source.replace('/', '--')}"  # blobs; snapshots link
        with FolderWatch(repo, total, source, report):
            snapshot_download(source, allow_patterns=files[0], ignore_patterns=files[1] or None, token=token)
    except Exception as error:  # no network, a gated or missing repository, a full disk: the hub client raises
        # its HTTP library's own errors, which are not all OSErrors
        raise ModelLoadError.from_error(source, error) from error
