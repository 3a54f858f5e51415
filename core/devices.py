"""Device, dtype and free-memory facts, resolved in one place."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def default_device() -> str:
    """'cuda' when a CUDA GPU is visible, else 'cpu'."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def compute_dtype(device: str) -> torch.dtype:
    """bf16 on GPUs with native bf16 (Ampere and newer), fp16 on older ones such as the T4, fp32 on CPU."""
    if not device.startswith("cuda"):
        return torch.float32
    major, _ = torch.cuda.get_device_capability(torch.device(device))
    return torch.bfloat16 if major >= 8 else torch.float16


def image_dtype(device: str) -> torch.dtype:
    """SDXL runs in fp16 on CUDA and fp32 on CPU, where fp16 kernels are slow or missing."""
    return torch.float16 if device.startswith("cuda") else torch.float32


def free_vram_gib(device: str) -> float | None:
    """Free memory on a CUDA device in GiB, or None on CPU."""
    if not device.startswith("cuda"):
        return None
    free, _ = torch.cuda.mem_get_info(torch.device(device))
    return free / 2**30


def vram_in_use_gib(device: str) -> float | None:
    """Memory this process holds on a CUDA device in GiB, or None on CPU."""
    if not device.startswith("cuda"):
        return None
    return torch.cuda.memory_allocated(torch.device(device)) / 2**30


@contextmanager
def generator_kept_through_capture(device: str | torch.device) -> Iterator[None]:
    """Put back the device's default random generator if CUDA-graph capture inside fails: a failed capture leaves
    it marked as capturing, and every later random draw in the process fails."""
    device = torch.device(device)
    if device.type != "cuda":
        yield
        return
    generator = torch.cuda.default_generators[device.index if device.index is not None else 0]
    saved = generator.clone_state()
    try:
        yield
    except Exception:
        generator.graphsafe_set_state(saved)
        raise
