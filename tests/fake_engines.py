"""Engines that fail as real GPUs do: subclasses of the real engines, around the tiny models' real weights."""
import torch

from core.image.placement import MemoryPolicy
from core.image.sdxl import ImageModel
from core.text.engine import SamplingSettings, TextEngine
from core.text.local import TextModel

OOM = "CUDA out of memory. Tried to allocate 2.00 GiB"


class OutOfMemoryOnGPUPolicy(ImageModel):
    """The real tiny pipelines, except that denoising under the all-on-GPU policy runs out of memory,
    as SDXL does on a small card."""

    def _denoise(self, common, settings, use_refiner):
        if self.policy is MemoryPolicy.GPU:
            raise torch.OutOfMemoryError(OOM)
        return super()._denoise(common, settings, use_refiner)


class AlwaysOutOfMemory(ImageModel):
    def _denoise(self, common, settings, use_refiner):
        raise torch.OutOfMemoryError(OOM)


class OutOfMemoryOnce(TextModel):
    """The real tiny Llama, except that its first answer runs out of memory, as a T4 does after an image job."""

    failed = False

    def stream(self, *args, **kwargs):
        if not self.failed:
            self.failed = True
            raise torch.OutOfMemoryError(OOM)
        yield from super().stream(*args, **kwargs)


def copy_of(model: ImageModel, kind) -> ImageModel:
    """The same loaded pipelines behind another ImageModel class, placed on the GPU policy."""
    return kind(model.base, model.refiner, model.spec, model.device, MemoryPolicy.GPU)


class ScriptedEngine(TextEngine):
    """A text engine that answers from a script, in order, and keeps every chat it was sent: for the flows around
    the model (repair, fallbacks), where what the model says must be chosen, not sampled."""

    name = "scripted"

    def __init__(self, *answers: str):
        self.answers = list(answers)
        self.chats: list[list[dict]] = []

    def stream(self, messages, max_new_tokens, sampling=SamplingSettings(), prefill=""):
        self.chats.append(messages)
        answer = self.answers.pop(0)
        for start in range(0, len(prefill + answer), 16):  # streamed in pieces, as a model streams
            yield (prefill + answer)[start:start + 16]
