"""A pipeline's prompt encodings remembered, so rendering a prompt again runs no text encoder."""
from __future__ import annotations

import threading
from collections import OrderedDict

import torch

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
