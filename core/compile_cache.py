"""Compiled kernels kept beside the studio's data, so a restart, or a fresh Colab machine whose data folder is on
Drive, loads what an earlier start compiled instead of compiling for minutes again."""
from __future__ import annotations

import logging
import platform
import re
import threading
from pathlib import Path

import torch

from core.files import atomic_write

log = logging.getLogger(__name__)

FOLDER = "compile-cache"  # inside the data folder


def cache_key() -> str:
    """What compiled kernels depend on: the torch build (its CUDA and Triton), Python, and the GPU model. A start
    with another of any of these compiles afresh and writes a file of its own; a new driver keeps the file."""
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    key = f"torch-{torch.__version__}-py{platform.python_version()}-{device}"
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", key)


class CompileCache:
    """torch.compile's artifacts (graphs, kernels, autotuning) of this process, saved as one file in folder and
    loaded back before the next start compiles: one file, since a synced Drive folder is slow with thousands."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.restored: int = 0  # artifacts loaded from the file at start
        self._restoring = threading.Lock()
        self._restore_tried = False

    @property
    def file(self) -> Path:
        return self.folder / f"{cache_key()}.bin"

    def restore(self) -> int:
        """Load the saved artifacts into torch's caches, once per process; how many were loaded (0 with no file
        or an unreadable one, which is then simply compiled again)."""
        with self._restoring:
            if self._restore_tried:
                return self.restored
            self._restore_tried = True
            try:
                data = self.file.read_bytes()
            except OSError:
                return 0
            try:
                info = torch.compiler.load_cache_artifacts(data)
            except Exception as error:  # noqa: BLE001 - a damaged or foreign file costs a compile, nothing more
                log.warning("ignoring the compile cache %s: %s: %s", self.file, type(error).__name__, error)
                return 0
            self.restored = _count(info)
            return self.restored

    def save(self) -> int:
        """Write every artifact this process compiled or used so far (replacing the file atomically); how many
        bytes, 0 when nothing was written. Never with fewer artifacts than the file gave at start: a restart that
        has not yet used every restored graph (sizes compiled later) keeps the fuller file. A full or read-only
        disk costs the next start a compile, never this one."""
        saved = torch.compiler.save_cache_artifacts()
        if saved is None or not saved[0] or _count(saved[1]) < self.restored:
            return 0
        data, _ = saved
        try:
            atomic_write(self.file, lambda handle: handle.write(data))
        except OSError as error:
            log.warning("could not save the compile cache %s: %s", self.file, error)
            return 0
        return len(data)


def _count(info) -> int:
    """How many artifacts a CacheInfo lists (of every kind: graphs, kernels, autotuning results...)."""
    return 0 if info is None else sum(len(keys) for keys in info.artifacts.values())
