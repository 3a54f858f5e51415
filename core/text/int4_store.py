"""4-bit weights kept on disk beside the models, so a restart reads the int4 codes (about a quarter of the bytes)
instead of reading, fusing and quantizing the bf16 weights again.

A file is named by a fingerprint of the weights it came from (the model's configuration, the storage format, and
three rows of every decoder linear layer), so a new model or a new revision of one never meets an old file. The
codes are plain tensors that do not depend on torch's version or the GPU; the kernel's tiled copy is made again
at each load. The newest files are kept; a damaged or foreign one is quantized over, never used.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from core.files import TEMP_SUFFIX, atomic_write
from core.text.fused_projections import fuse_projections
from core.text.int4_weights import GROUP_SIZE, layer_tensors, quantize_to_int4, tile_for_kernel

log = logging.getLogger(__name__)

FOLDER = "int4-weights"  # inside the model cache
FORMAT = "1"  # bump when what a file holds, or the layers' names, change
KEEP = 2  # files kept: a team switching between two text models reads both back
STRAY_AFTER_S = 3600  # a temp file this old was left by a writer that was killed; a live one takes seconds
ROOM_FACTOR = 1.5  # free space asked for beyond a file's size before writing it


def fingerprint(model, fused: bool) -> str:
    """What a stored file must match: the configuration, the format, whether projections are fused, and the
    first, middle and last rows of every decoder linear's weight (a fine-tune or another revision changes them)."""
    digest = hashlib.sha256()
    config = {k: v for k, v in model.config.to_dict().items()
              if not k.startswith("_") and k not in ("transformers_version", "dtype", "torch_dtype")}
    digest.update(json.dumps([FORMAT, GROUP_SIZE, fused, config], sort_keys=True, default=str).encode())
    for name, module in model.model.layers.named_modules():
        if type(module) is nn.Linear:
            weight = module.weight.detach()
            digest.update(f"{name}:{tuple(weight.shape)}:{weight.dtype}".encode())
            for row in {0, weight.shape[0] // 2, weight.shape[0] - 1}:
                digest.update(weight[row].contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


class Int4Store:
    """A folder of int4 weight files, one per fingerprint (safetensors, written atomically)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def file(self, key: str) -> Path:
        return self.folder / f"{key}.safetensors"

    def load(self, key: str, device: str | torch.device) -> dict[str, torch.Tensor] | None:
        """The stored tensors for key, read onto device; None with no file or a damaged or foreign one (which is
        removed, to be written again)."""
        path = self.file(key)
        if not path.exists():
            return None
        try:
            tensors = load_file(path, device=str(torch.device(device)))
        except (OSError, SafetensorError, RuntimeError, ValueError) as error:
            log.warning("ignoring the stored int4 weights %s: %s: %s", path, type(error).__name__, error)
            path.unlink(missing_ok=True)
            return None
        os.utime(path)  # the newest files are the ones kept
        return tensors

    def save(self, key: str, tensors: dict[str, torch.Tensor]) -> int:
        """Write tensors for key; the bytes written, 0 when the disk is full, read-only or short of room (the next
        start quantizes again, nothing worse). Older files beyond KEEP and killed writers' leftovers go. Tensors on
        a GPU are copied out on a stream of their own, so the lane's work meanwhile does not queue behind them."""
        size = sum(t.numel() * t.element_size() for t in tensors.values())
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(self.folder).free
            if free < size * ROOM_FACTOR:
                log.warning("not storing the int4 weights in %s: %.1f GB free, %.1f GB needed", self.folder,
                            free / 1e9, size * ROOM_FACTOR / 1e9)
                return 0
            on_cpu = _to_cpu(tensors)
            # safetensors writes to a path; the atomic writer's temp file is that path, synced and renamed after
            atomic_write(self.file(key), lambda handle: save_file(on_cpu, handle.name, {"format": FORMAT, "key": key}))
        except OSError as error:
            log.warning("could not store the int4 weights in %s: %s", self.folder, error)
            return 0
        self._tidy(keep=self.file(key))
        return size

    def _tidy(self, keep: Path) -> None:
        files = sorted((p for p in self.folder.glob("*.safetensors") if p != keep),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        stray = [p for p in self.folder.glob(f".*{TEMP_SUFFIX}") if time.time() - p.stat().st_mtime > STRAY_AFTER_S]
        for path in files[KEEP - 1:] + stray:
            path.unlink(missing_ok=True)


class StoredWeightsMismatch(ValueError):
    """A stored file's layers do not fit the model being loaded (its file is removed)."""


def make_int4(model, device: str | torch.device, fuse: bool,
              store: Int4Store | None) -> Callable[[], threading.Thread] | None:
    """Turn model's decoder linears (bf16, on the CPU as loaded) into int4 layers on device, fusing the
    projections first where asked: from store where it holds them, else quantized. Returns what stores the
    quantized ones for the next start (called once, it writes them in a thread, which it returns), or None when
    there is nothing to store. A stored file whose layers do not fit raises StoredWeightsMismatch after removing
    the file (the model's bf16 weights are gone by then: the caller loads again); layers the int4 format cannot
    hold raise ValueError."""
    key = fingerprint(model, fuse) if store is not None else None
    stored = store.load(key, device) if store is not None else None
    if stored is not None:  # the bf16 weights are never read: fusing only rebuilds the modules
        _forget_block_weights(model)
    if fuse:
        fuse_projections(model)
    try:
        quantize_to_int4(model, device, stored)
    except ValueError as error:
        if stored is None:
            raise
        store.file(key).unlink(missing_ok=True)
        raise StoredWeightsMismatch(str(error)) from error
    tile_for_kernel(model)
    if store is None or stored is not None:
        return None
    tensors = layer_tensors(model)

    def start() -> threading.Thread:
        # not a daemon: a process that ends right after loading (the command line) finishes the file first
        writer = threading.Thread(target=store.save, args=(key, tensors), name="int4-store")
        writer.start()
        return writer
    return start


def _to_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    devices = {t.device for t in tensors.values() if t.is_cuda}
    if not devices:
        return {name: t.contiguous() for name, t in tensors.items()}
    side = torch.cuda.Stream(next(iter(devices)))
    side.wait_stream(torch.cuda.current_stream(side.device))  # whatever made them has finished
    with torch.cuda.stream(side):
        return {name: t.to("cpu").contiguous() for name, t in tensors.items()}


def _forget_block_weights(model) -> None:
    for module in model.model.layers.modules():
        if type(module) is nn.Linear:
            module.weight = nn.Parameter(torch.empty_like(module.weight, device="meta"), requires_grad=False)
