"""The text engine interface: what copywriting and the visual prompt ask of any model, local or served."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingSettings:
    """How the next token is picked."""

    temperature: float | None = None  # None: the engine's own default
    top_p: float = 0.9
    seed: int | None = None


class TextEngine(ABC):
    """A chat model that streams its answers. Plain Python: content code depends on this and nothing heavier."""

    name: str = "text engine"

    @abstractmethod
    def stream(self, messages: list[dict], max_new_tokens: int,
               sampling: SamplingSettings = SamplingSettings(), prefill: str = "") -> Iterator[str]:
        """Yield the answer to a chat as text pieces while it is written; prefill starts the answer (and is
        yielded first). Closing the iterator early stops generation."""

    def complete(self, messages: list[dict], max_new_tokens: int,
                 sampling: SamplingSettings = SamplingSettings(), prefill: str = "") -> str:
        """The whole answer to a chat, once it is finished."""
        return "".join(self.stream(messages, max_new_tokens, sampling, prefill))

    def check(self) -> None:
        """Raise a ModelLoadError saying what is wrong if the engine cannot serve (a server out of reach, a model
        it does not have). An engine loaded in this process is ready once it exists."""

    def store_weights(self):
        """Start writing what this load made for the next start to reuse (a local model's int4 weights); the
        writing thread, or None when an engine has nothing to write."""
        return None

    def park(self) -> bool:
        """Give the GPU up for the image models; returns whether anything moved. Engines holding no GPU
        weights have nothing to park."""
        return False
