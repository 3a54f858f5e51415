"""Compiled kernels kept beside the studio's data, so a restart, or a fresh Colab machine whose data folder is on
Drive, loads what an earlier start compiled instead of compiling for minutes again."""
from __future__ import annotations

import json
import logging
import platform
import re
import threading
from collections import defaultdict
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


# The file: MAGIC, then the names of what it holds (JSON), then blobs of torch.compiler.save_cache_artifacts, each
# part after its 8-byte length: this process's blob, and the earlier blobs holding what this process has not used
# (sizes a restart has not reached yet). Files of the first form (OLD_MAGIC, blobs alone) still load.
MAGIC = b"STUDIO-COMPILE-CACHE-2\n"
OLD_MAGIC = b"STUDIO-COMPILE-CACHE-1\n"


class CompileCache:
    """torch.compile's artifacts (graphs, kernels, autotuning) of this process, saved as one file in folder and
    loaded back before the next start compiles: one file, since a synced Drive folder is slow with thousands."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.restored: int = 0  # artifacts loaded from the file at start
        self.holds: set[str] = set()  # the names saves gave (e.g. "images 896x1152"), of this start and earlier ones
        self._restoring = threading.Lock()
        self._restore_tried = False
        self._earlier: list[tuple[bytes, set]] = []  # the blobs the file gave at start, with their artifacts' keys

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
            names, blobs = _parts(data)
            self.holds |= names
            for blob in blobs:
                try:
                    info = _load(blob)
                except Exception as error:  # noqa: BLE001 - a damaged or foreign file costs a compile, nothing more
                    log.warning("ignoring part of the compile cache %s: %s: %s", self.file, type(error).__name__,
                                error)
                    continue
                keys = _keys(info)
                self._earlier.append((blob, keys))
                self.restored += len(keys)
            return self.restored

    def save(self, name: str | None = None) -> int:
        """Write every artifact this process compiled or used so far, with what the file gave at start that this
        process has not used again, replacing the file atomically; how many bytes, 0 when nothing was written.
        name says what the latest compile was, so a restart knows what the file holds. A full or read-only disk
        costs the next start a compile, never this one."""
        saved = torch.compiler.save_cache_artifacts()
        if saved is None or not saved[0]:
            return 0
        holds = self.holds | ({name} if name else set())
        blob, info = saved
        used = _keys(info)
        # what this process has used again is in its own blob; the rest of the file's is kept (never used again
        # here once covered, so no longer held in memory either)
        self._earlier = [(earlier, keys) for earlier, keys in self._earlier if not keys <= used]
        blobs = [earlier for earlier, _ in self._earlier] + [blob]
        names = json.dumps(sorted(holds)).encode()
        try:
            atomic_write(self.file, lambda handle: _write(handle, [names, *blobs]))
        except OSError as error:
            log.warning("could not save the compile cache %s: %s", self.file, error)
            return 0
        self.holds = holds
        return len(MAGIC) + sum(8 + len(part) for part in [names, *blobs])


def _load(blob: bytes):
    """Load every artifact of one torch blob into torch's caches; their CacheInfo. A process that saves more than
    once (the studio saves after each size) makes a blob of one batch per save, and torch's own
    load_cache_artifacts keeps only the last batch of each kind: a restart after five sizes got the fifth back
    alone. The batches are read here with torch's own readers and loaded together."""
    try:
        from torch.compiler._cache import CacheArtifactManager, _deserialize_single_cache
        from torch.utils._appending_byte_serializer import AppendingByteSerializer
        register = CacheArtifactManager._ensure_cache_artifacts_registered
        populate = CacheArtifactManager.populate_caches
    except (ImportError, AttributeError):  # a torch whose readers moved: its own loading, the last batches at least
        return torch.compiler.load_cache_artifacts(blob)
    register()
    batches = defaultdict(list)
    for kind, artifacts in AppendingByteSerializer.to_list(blob, deserialize_fn=_deserialize_single_cache):
        batches[kind].extend(artifacts)
    return populate(batches)


def _parts(data: bytes) -> tuple[set[str], list[bytes]]:
    """The names and the torch blobs a cache file holds; a file of the first form has no names, and a file of one
    bare blob (as the studio wrote before either) is that blob."""
    magic = next((m for m in (MAGIC, OLD_MAGIC) if data.startswith(m)), None)
    if magic is None:
        return set(), [data]
    parts, at = [], len(magic)
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 8], "little")
        part = data[at + 8:at + 8 + size]
        if len(part) < size:  # cut short: the parts before still load
            break
        parts.append(part)
        at += 8 + size
    if magic == OLD_MAGIC:
        return set(), parts
    try:
        names = {str(name) for name in json.loads(parts[0])} if parts else set()
    except (ValueError, TypeError):  # damaged names cost the order of a restart's compiles, nothing more
        names = set()
    return names, parts[1:]


def _write(handle, parts: list[bytes]) -> None:
    handle.write(MAGIC)
    for part in parts:
        handle.write(len(part).to_bytes(8, "little"))
        handle.write(part)


def _keys(info) -> set:
    """The (kind, key) of every artifact a CacheInfo lists."""
    return set() if info is None else {(kind, key) for kind, keys in info.artifacts.items() for key in keys}
