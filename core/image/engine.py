"""The image engine interface: what the post flow asks of any renderer, local pipelines or, later, a server."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from core.errors import GenerationError, SettingsError
from core.image.settings import ImageSettings
from core.messages import Message


@dataclass
class RenderedImage:
    """One finished image and everything needed to render it again."""

    image: Image.Image
    seed: int
    prompt: str
    negative_prompt: str
    settings: ImageSettings
    model_names: list[str]
    test_weights: bool
    metadata: dict = field(default_factory=dict)


class ImageEngine(ABC):
    """Renders a prompt pair with settings into images. The local SDXL pipelines are one (core.image.sdxl)."""

    name: str = "image engine"

    @abstractmethod
    def render(self, prompt: str, negative_prompt: str, settings: ImageSettings,
               on_step: Callable[[int, int], None] | None = None) -> list[RenderedImage]:
        """settings.candidates images, seeds seed, seed+1, ...; on_step(done, total) after each step."""

    def render_reliably(self, prompt: str, negative_prompt: str, settings: ImageSettings,
                        on_step: Callable[[int, int], None] | None = None) -> list[RenderedImage]:
        """render(), with whatever recovery the engine has from a passing failure (out of memory, say)."""
        return self.render(prompt, negative_prompt, settings, on_step)

    def edit_reliably(self, edit, prompt: str, negative_prompt: str, settings: ImageSettings,
                      on_step: Callable[[int, int], None] | None = None,
                      parent: int | None = None) -> list[RenderedImage]:
        """One edited image (core.image.editing.Edit); engines that cannot edit say so."""
        raise GenerationError(action="image editing", detail=f"{self.name} cannot edit images")

    def prepare_fast(self, on_download=None) -> None:
        """Get the fast mode ready (its LoRA fetched and loaded); engines without one say so."""
        raise SettingsError("quality", "fast", "fast_unavailable", reason=Message("fast_no_lora"))

    def needs_gpu_room(self) -> bool:
        """Whether a text model on the same GPU should be parked while this engine renders."""
        return False
