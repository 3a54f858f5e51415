"""Device, dtype and free-memory facts, resolved in one place."""
from __future__ import annotations

import threading
from collections import defaultdict
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


def graph_trees_in_this_thread() -> None:
    """Let this thread run modules compiled in torch.compile's "reduce-overhead" mode (replayed as CUDA graph
    trees). Before torch 2.13 the graph trees kept their per-thread state only for the thread that first imported
    them, so a compile in any other Python thread raised an empty AssertionError (pytorch#123177): the studio's
    other SDXL sizes, compiled beside the lane, all failed. This sets that state up for the calling thread, as torch
    2.13 does itself on first use; with such a torch, or without CUDA, it does nothing."""
    if not torch.cuda.is_available():
        return
    from torch._inductor import cudagraph_trees as trees
    if hasattr(trees, "_initialize_tls") or torch._C._is_key_in_tls("tree_manager_containers"):
        return
    trees.local.tree_manager_containers = {}
    trees.local.tree_manager_locks = defaultdict(threading.Lock)
    torch._C._stash_obj_in_tls("tree_manager_containers", trees.local.tree_manager_containers)
    torch._C._stash_obj_in_tls("tree_manager_locks", trees.local.tree_manager_locks)


class GraphCapture:
    """Where one owner's CUDA graphs are captured: a stream and a memory pool of their own, with cuBLAS's
    workspace made inside that pool.

    torch.cuda.graph captures every graph on one shared stream unless told otherwise, and cuBLAS keeps one
    workspace per (handle, stream): a graph captured after another reused the first one's workspace, baked its
    address in, and when the first graph was destroyed (torch then drops the workspace of that stream) the memory
    went back to the allocator while the second graph still wrote to it. On an H100 the decoding step compiled
    beside the lane was captured after the plain one it replaces; once SDXL's own graphs emptied the cache, the
    next token faulted ("unspecified launch failure") and every later job with it (pytorch/pytorch#193402).
    Dropping cuBLAS's cached workspaces just before capturing makes the capture allocate its own, in this
    owner's pool, where it lives exactly as long as the graphs that use it."""

    def __init__(self, device: str | torch.device):
        self.device = torch.device(device)
        self.stream = torch.cuda.Stream(self.device)
        self.pool = torch.cuda.graph_pool_handle()

    def graph(self, graph: "torch.cuda.CUDAGraph", capture_error_mode: str = "global"):
        """The capture context for graph, on this owner's stream and pool."""
        clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
        if clear is not None:
            clear()
        return torch.cuda.graph(graph, pool=self.pool, stream=self.stream, capture_error_mode=capture_error_mode)
