"""Out-of-memory recovery: free what can be freed, retry once more frugally, else fail with a clear message."""
from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

import torch

from core.errors import GenerationError

T = TypeVar("T")


def free_gpu_memory() -> None:
    """Return cached blocks to the driver after a failed allocation."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def retry_on_oom(run: Callable[[], T], make_room: Callable[[], str | None], what: str) -> T:
    """run(); on a CUDA out-of-memory error, free memory, call make_room() (which returns a description of what
    it changed, or None when nothing more can be done) and run once more."""
    try:
        return run()
    except torch.OutOfMemoryError:
        free_gpu_memory()
    change = make_room()
    if change is None:
        raise GenerationError("out_of_memory", action=what)
    try:
        return run()
    except torch.OutOfMemoryError:
        free_gpu_memory()
        raise GenerationError("out_of_memory_after", action=what, change=change) from None
