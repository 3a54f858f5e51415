"""Prompt encodings made cheap: a pipeline's remembered, so rendering a prompt again runs no text encoder, and a
new prompt's replayed from a CUDA graph."""
from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from core.devices import GraphCapture

log = logging.getLogger(__name__)

_eager_here = threading.local()  # see GraphedEncoder.eager_in_this_thread

EMBEDDINGS = ("prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds")


class RememberedEncodings:
    """Put in place of an SDXL pipeline's encode_prompt: the last `keep` prompts' encodings answered from memory.

    A new seed, a second candidate or a teammate's re-render of the same visual prompt then skips both text
    encoders (on a small GPU, also moving them in and out of GPU memory). The encodings are the same tensors the
    encoders gave, and the pipelines only read them, so the image is exactly the one a fresh encoding gives.
    forget() must be called whenever the encoders' weights change (a LoRA turned on or off)."""

    def __init__(self, encode, keep: int = 4):
        self._encode = encode
        self._keep = keep
        self._memory: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, pipe) -> "RememberedEncodings":
        """The pipeline's memory, put in place on its first use: one per pipeline, however many models wrap it."""
        if not isinstance(pipe.encode_prompt, cls):
            pipe.encode_prompt = cls(pipe.encode_prompt)  # on the instance: __call__ reaches it as self.encode_prompt
        return pipe.encode_prompt

    def __call__(self, *args, **kwargs):
        key = None if args else _key(kwargs)
        if key is None:  # positional arguments, given embeddings or unhashable prompts: encoded as asked
            return self._encode(*args, **kwargs)
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        encodings = self._encode(**kwargs)
        with self._lock:
            self._memory[key] = encodings
            while len(self._memory) > self._keep:
                self._memory.popitem(last=False)
        return encodings

    def __len__(self) -> int:
        return len(self._memory)

    def forget(self) -> None:
        with self._lock:
            self._memory.clear()


def _key(kwargs: dict) -> tuple | None:
    """The call's arguments as a key, or None where they cannot be one (embeddings given, unhashable values)."""
    if any(kwargs.get(name) is not None for name in EMBEDDINGS):
        return None
    items = []
    for name, value in sorted(kwargs.items()):
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, torch.device):
            value = str(value)
        elif value is not None and not isinstance(value, (str, int, float, bool, tuple)):
            return None
        items.append((name, value))
    key = tuple(items)
    try:
        hash(key)
    except TypeError:  # a tuple holding something unhashable
        return None
    return key


class GraphedEncoder:
    """Put in place of a text encoder's forward on a GPU with resident weights: one prompt's token ids (SDXL pads
    every prompt to 77) encoded by replaying a CUDA graph recorded on the first such call, instead of launching
    each layer's kernels from Python. SDXL's two encoders, for the prompt and its negative, spent 78 ms of an H100
    host's time on those launches, ahead of every new prompt's first denoising step.

    The graph reads the weights where they were when it was recorded, so it runs only while `on` and is
    forgotten whenever the weights may move or change (another memory policy, a LoRA adapter); any other call
    runs the encoder as it is. The encoding is the same computation, and each call gets tensors of its own."""

    def __init__(self, forward):
        functools.update_wrapper(self, forward)  # its signature, for whoever inspects the encoder's forward
        self._forward = forward
        self.on = False
        self._lock = threading.Lock()
        self._recorded: tuple | None = None  # (key, graph, its token ids, its output)
        self._forgotten = 0  # forget() calls: a recording that one overlapped is not kept
        self._failed = False  # a capture failed once: this encoder stays eager

    @classmethod
    def of(cls, encoder) -> "GraphedEncoder":
        """The encoder's graphed forward, put in place on its first use: one per encoder, however many pipelines
        share it."""
        if not isinstance(encoder.forward, cls):
            encoder.forward = cls(encoder.forward)  # on the instance: nn.Module.__call__ reaches it as self.forward
        return encoder.forward

    def __call__(self, input_ids=None, *args, **kwargs):
        key = self._key(input_ids, args, kwargs)
        if key is None or not self._lock.acquire(blocking=False):  # one replay at a time; another runs eagerly
            return self._forward(input_ids, *args, **kwargs)
        try:
            if self._recorded is None or self._recorded[0] != key:
                self._recorded = None
                self._record(key, input_ids, kwargs)
                if self._recorded is None:
                    return self._forward(input_ids, **kwargs)
            _, graph, ids, output = self._recorded
            ids.copy_(input_ids)
            graph.replay()
            return _copy(output)  # the graph's own tensors are overwritten by its next replay
        finally:
            self._lock.release()

    def forget(self) -> None:
        """Record afresh on the next call."""
        self._forgotten += 1
        self._recorded = None

    @staticmethod
    @contextmanager
    def eager_in_this_thread() -> Iterator[None]:
        """Every graphed encoder runs eagerly in this thread meanwhile: for work beside the lane (a compile), which
        may pause anywhere for as long as the lane works, so its replay could come after the lane moved the
        weights the graph reads."""
        _eager_here.on = True
        try:
            yield
        finally:
            _eager_here.on = False

    def _key(self, input_ids, args: tuple, kwargs: dict) -> tuple | None:
        """What the recorded graph must match, or None where this call runs eagerly."""
        if not self.on or self._failed or args or not isinstance(input_ids, torch.Tensor) or not input_ids.is_cuda:
            return None
        if getattr(_eager_here, "on", False):
            return None
        if set(kwargs) - {"output_hidden_states"} or torch.cuda.is_current_stream_capturing():
            return None
        return tuple(input_ids.shape), input_ids.dtype, input_ids.device, bool(kwargs.get("output_hidden_states"))

    def _record(self, key: tuple, input_ids: torch.Tensor, kwargs: dict) -> None:
        forgotten = self._forgotten
        ids = input_ids.clone()
        try:
            side = torch.cuda.Stream(ids.device)
            side.wait_stream(torch.cuda.current_stream(ids.device))
            with torch.cuda.stream(side):  # a first run outside the graph sets up the libraries' handles
                self._forward(ids, **kwargs)
            torch.cuda.current_stream(ids.device).wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            # thread-local: the GPU lane's other work (a compile beside it) goes on while this records
            with GraphCapture(ids.device).graph(graph, capture_error_mode="thread_local"):
                output = self._forward(ids, **kwargs)
        except RuntimeError as error:
            log.warning("recording the text encoder as a CUDA graph failed, it runs eagerly: %s", error)
            self._failed = True
            return
        if forgotten == self._forgotten:  # else the weights may have moved meanwhile: recorded again next time
            self._recorded = (key, graph, ids, output)


def _copy(value):
    """A model output, tuple or tensor with every tensor copied."""
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, tuple):
        return tuple(_copy(item) for item in value)
    if isinstance(value, dict):  # transformers' ModelOutput, rebuilt as its own class
        return type(value)(**{name: _copy(item) for name, item in value.items()})
    return value
