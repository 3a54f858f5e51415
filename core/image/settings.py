"""Render settings: each knob's bound, default and help text on its field, read by every face."""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field

from core.content.visual_prompt import MAX_PROMPT_CHARS
from core.errors import SettingsError

SDXL_SIZES = ((1024, 1024), (896, 1152), (1152, 896), (768, 1344), (1344, 768))
SEED_MAX = 2**32 - 1
# "standard": base + refiner at the chosen steps and guidance; "fast": a few-step distilled LoRA (SDXL-Lightning by
# default) on the base alone, without classifier-free guidance: about a tenth of the work, less detail
QUALITIES = ("standard", "fast")
FAST_STEPS = 4  # the default LoRA's own step count
FAST_MAX_STEPS = 8  # a few-step LoRA loses the picture with more steps than it was distilled for


@dataclass(frozen=True)
class Bound:
    """A numeric setting's range and what it means, for validation, sliders and --help alike."""

    low: float
    high: float
    help: str
    step: float = 1

    @property
    def range(self) -> tuple[float, float]:
        return self.low, self.high


def _knob(default, low, high, help: str, step: float = 1):
    return field(default=default, metadata={"bound": Bound(low, high, help, step)})


@dataclass(frozen=True)
class ImageSettings:
    """One render request's knobs, validated against their bounds."""

    width: int = 1024
    height: int = 1024
    steps: int = _knob(40, 1, 80, "denoising steps")
    guidance: float = _knob(7.0, 0.0, 20.0, "classifier-free guidance: how closely the image follows the prompt",
                            step=0.5)
    seed: int | None = None  # None: a random seed, reported back
    use_refiner: bool = True
    # fraction of the schedule the base model denoises before the refiner takes over
    refiner_switch: float = _knob(0.8, 0.5, 0.95, "share of the steps the base model takes before the refiner",
                                  step=0.05)
    candidates: int = _knob(1, 1, 4, "images to render, with seeds seed, seed+1, ...")
    quality: str = "standard"  # one of QUALITIES

    def __post_init__(self):
        if (self.width, self.height) not in SDXL_SIZES:
            raise SettingsError("size", f"{self.width}x{self.height}", "not_sdxl_size", allowed=size_list())
        for name in ("steps", "guidance", "refiner_switch", "candidates"):
            _bounded(name, getattr(self, name), self.bound(name), int if name in ("steps", "candidates") else
                     (int, float))
        if self.seed is not None:
            _bounded("seed", self.seed, Bound(0, SEED_MAX, "seed"), int)
        if self.quality not in QUALITIES:
            raise SettingsError("quality", self.quality, "not_one_of", allowed=", ".join(QUALITIES))
        if self.quality == "fast" and self.steps > FAST_MAX_STEPS:
            raise SettingsError("steps", self.steps, "fast_steps", limit=FAST_MAX_STEPS)

    def fast(self, steps: int = FAST_STEPS) -> "ImageSettings":
        """These settings in the fast mode: the few-step LoRA's steps, no guidance, no refiner."""
        return dataclasses.replace(self, quality="fast", steps=steps, guidance=0.0, use_refiner=False)

    @staticmethod
    def bound(name: str) -> Bound:
        """The range and help text of a numeric setting."""
        return next(f.metadata["bound"] for f in dataclasses.fields(ImageSettings) if f.name == name)

    @staticmethod
    def default(name: str):
        """The default value of a setting."""
        return next(f.default for f in dataclasses.fields(ImageSettings) if f.name == name)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def with_seed(self) -> "ImageSettings":
        """These settings with a concrete seed, drawn at random when none was given."""
        if self.seed is not None:
            return self
        return dataclasses.replace(self, seed=random.randint(0, SEED_MAX))

    def to_dict(self) -> dict:
        """The settings as JSON-ready values, the one way they are written into records and manifests."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ImageSettings":
        """Settings from to_dict() output; missing keys take their defaults, unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


def size_list() -> str:
    return ", ".join(f"{w}x{h}" for w, h in SDXL_SIZES)


def parse_size(text: str) -> tuple[int, int]:
    """(width, height) from text such as '1024x1024', or a SettingsError naming the accepted sizes."""
    try:
        width, height = (int(part) for part in str(text).lower().split("x"))
    except ValueError:
        width, height = 0, 0
    if (width, height) not in SDXL_SIZES:
        raise SettingsError("size", text, "not_sdxl_size", allowed=size_list())
    return width, height


def check_prompts(prompt: str, negative_prompt: str) -> None:
    """A SettingsError unless the prompt is non-empty text and both fit MAX_PROMPT_CHARS."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise SettingsError("prompt", prompt, "empty")
    for name, text in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        if not isinstance(text, str):
            raise SettingsError(name, text, "not_text")
        if len(text) > MAX_PROMPT_CHARS:
            raise SettingsError(name, text, "too_long_field", limit=MAX_PROMPT_CHARS, length=len(text))


def _bounded(name: str, value, bound: Bound, kinds) -> None:
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise SettingsError(name, value, "not_a_number", low=bound.low, high=bound.high)
    if not bound.low <= value <= bound.high:
        raise SettingsError(name, value, "out_of_range", low=bound.low, high=bound.high)
