"""SDXL base + refiner as an ensemble of expert denoisers, with seeds, sizes, progress and memory policies."""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from core.devices import generator_kept_through_capture, graph_trees_in_this_thread, image_dtype
from core.downloads import DownloadStatus, fetch
from core.errors import GenerationError, ModelLoadError, SettingsError
from core.files import model_label
from core.image.editing import Edit, EditKind, keep_outside
from core.image.encodings import GraphedEncoder, RememberedEncodings
from core.image.placement import MemoryPolicy, choose_memory_policy
from core.image.engine import ImageEngine, RenderedImage
from core.image.settings import SDXL_SIZES, SEED_MAX, ImageSettings, check_prompts
from core.memory import retry_on_oom
from core.messages import Message

log = logging.getLogger(__name__)
# The shape compiled modules are warmed up for: (width, height, classifier-free guidance on). Guidance above 1
# doubles the UNet batch, which is a different shape to a compiled module.
WARM_SHAPE = (1024, 1024, True)
# Every size with guidance, in the order compile_size() builds their graphs beside the lane once the warm shape
# serves; a size a teammate renders before its turn is moved up front.
COMPILED_SHAPES = (WARM_SHAPE, *((w, h, True) for w, h in SDXL_SIZES if (w, h, True) != WARM_SHAPE))
# the steps of the lane's short render that records a size's CUDA graphs: the refiner gets 3 (its first call
# warms up, the second records, the third replays)
RECORDING_STEPS = 15
FAST_ADAPTER = "fast"  # the few-step LoRA's adapter name in the base UNet


@dataclass(frozen=True)
class ImageModelSpec:
    """Where the SDXL base, refiner and optional VAE come from."""

    base: str
    refiner: str | None
    vae: str | None = None  # e.g. an fp16-safe VAE; None keeps the pipeline's own
    inpaint: str | None = None  # an SDXL inpainting checkpoint whose UNet repaints regions; None: the base's
    fast_lora: str | None = None  # hub id or folder of the fast mode's few-step LoRA; None: no fast mode
    fast_lora_file: str | None = None  # its weights file in there (None: diffusers' default name)
    test_weights: bool = False  # random weights: every image is labelled as a test image

    @property
    def names(self) -> list[str]:
        return [name for name in (self.base, self.refiner, self.vae, self.inpaint) if name]


def load_image_model(spec: ImageModelSpec, device: str, policy: MemoryPolicy | str | None = None,
                     token: str | None = None) -> "ImageModel":
    """Load base and refiner, sharing the second text encoder and the VAE, and place them by memory policy."""
    from diffusers import AutoencoderKL, StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline

    dtype = image_dtype(device)
    chosen = choose_memory_policy(device, policy)
    # resident weights are read from their files straight into GPU memory (half the start-up's copying); the
    # offloading policies keep them in CPU memory, where their hooks move them from
    onto = {"device_map": device} if device.startswith("cuda") and chosen is MemoryPolicy.GPU else {}
    try:
        extra = {"vae": AutoencoderKL.from_pretrained(spec.vae, dtype=dtype, token=token, **onto)} if spec.vae else {}
        inpaint_unet = _inpaint_unet(spec.inpaint, dtype, token, onto) if spec.inpaint else None
        base = StableDiffusionXLPipeline.from_pretrained(spec.base, dtype=dtype, use_safetensors=True,
                                                         variant=_variant(spec.base), token=token, **extra, **onto)
        refiner = None
        if spec.refiner:
            refiner = StableDiffusionXLImg2ImgPipeline.from_pretrained(
                spec.refiner, text_encoder_2=base.text_encoder_2, vae=base.vae, dtype=dtype, use_safetensors=True,
                variant=_variant(spec.refiner), token=token, **onto)
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelLoadError(model=", ".join(spec.names), detail=f"{type(error).__name__}: {str(error)[:300]}") from error
    model = ImageModel(base, refiner, spec, device, chosen, inpaint_unet, token)
    model.place(chosen)
    return model


def _inpaint_unet(source: str, dtype, token: str | None, onto: dict):
    """The UNet of an SDXL inpainting checkpoint (nine input channels: latents, mask, masked image), from the
    checkpoint's unet folder (onto: where to read it to); everything else is shared with the loaded base."""
    from diffusers import UNet2DConditionModel
    unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", dtype=dtype, use_safetensors=True,
                                                variant=_variant(source), token=token, **onto)
    if unet.config.in_channels != 9:
        raise ValueError(f"{model_label(source)} is not an SDXL inpainting checkpoint: its UNet takes "
                         f"{unet.config.in_channels} channels, an inpainting UNet 9")
    return unet


class StepCounter:
    """diffusers' callback_on_step_end for a job's pipeline calls: counts their steps for on_step(done, total)."""

    def __init__(self, total: int, on_step: Callable[[int, int], None] | None):
        self.total, self.on_step, self.done = total, on_step, 0

    def __call__(self, pipe, step, timestep, callback_kwargs):
        self.done += 1
        if self.on_step:
            self.on_step(min(self.done, self.total), self.total)
        return callback_kwargs


class ImageModel(ImageEngine):
    """The SDXL pipelines of one profile. Shared across sessions; only place() changes it, between jobs."""

    def __init__(self, base, refiner, spec: ImageModelSpec, device: str, policy: MemoryPolicy, inpaint_unet=None,
                 token: str | None = None):
        self.base = base
        self.refiner = refiner
        self.inpaint_unet = inpaint_unet  # a dedicated inpainting checkpoint's UNet, or None
        self.spec = spec
        self.device = device
        self.policy = policy
        # (module owner, attribute) -> (eager module, compiled module), swapped in for warmed-up shapes only
        self._swaps: dict[tuple, tuple] = {}
        self.warm_shapes: set[tuple[int, int, bool]] = set()  # (width, height, classifier-free guidance)
        # compiled modules planned by accelerate(later=True), warmed off the lane by compile_planned(), with the
        # pipelines of their own that warm them; None once published or dropped
        self._planned: dict[tuple, tuple] | None = None
        self._warm_pipes: tuple | None = None  # kept until every size is compiled
        self._to_compile: list[tuple[int, int, bool]] = []  # the sizes compile_size() has still to build, in order
        self._publishing = threading.Lock()  # publishing compiled modules against place() dropping them
        self._editors: dict[str, tuple] = {}  # "img2img" | "inpaint" -> (base, refiner) sharing the loaded weights
        self._fast_scheduler = None  # the fast mode's scheduler, once its LoRA is loaded
        self._token = token
        for pipe in self.pipelines:
            pipe.set_progress_bar_config(disable=True)
            executes_on(pipe, device)
        # a prompt rendered again (a new seed, the next candidate) skips the text encoders; a new one replays them
        self.encodings = [RememberedEncodings.of(pipe) for pipe in self.pipelines]
        encoders = {id(e): e for pipe in self.pipelines for e in (pipe.text_encoder, pipe.text_encoder_2) if e}
        self.graphed_encoders = [GraphedEncoder.of(encoder) for encoder in encoders.values()]

    @property
    def name(self) -> str:
        return ", ".join(self.spec.names)

    def needs_gpu_room(self) -> bool:
        """Offloaded to CPU memory between steps: a small GPU, where a resident text model should step aside."""
        return self.device.startswith("cuda") and self.policy is not MemoryPolicy.GPU

    def render_reliably(self, prompt: str, negative_prompt: str, settings: ImageSettings,
                        on_step: Callable[[int, int], None] | None = None) -> list[RenderedImage]:
        """render(), retried once under a more frugal memory policy if the GPU runs out of memory."""
        return render_with_fallback(self, prompt, negative_prompt, settings, on_step)

    @property
    def pipelines(self) -> list:
        return [p for p in (self.base, self.refiner) if p is not None]

    def place(self, policy: MemoryPolicy) -> None:
        """Move the weights as the policy says: all on the GPU, offloaded per model, or per layer."""
        self.policy = policy
        if policy is not MemoryPolicy.GPU:  # compiled modules and their CUDA graphs assume resident weights
            self._drop_compiled()
        self._graph_encoders(False)  # while the weights move
        if self.inpaint_unet is not None:  # resident under the GPU policy; else offloaded with its edit pipeline
            resident = policy is MemoryPolicy.GPU or not self.device.startswith("cuda")
            self.inpaint_unet.to(self.device if resident else "cpu")
        if not self.device.startswith("cuda"):
            for pipe in self.pipelines:
                pipe.to(self.device)
            return
        for pipe in self.pipelines:
            pipe.remove_all_hooks()
            if policy is MemoryPolicy.GPU:
                pipe.to(self.device)
            elif policy is MemoryPolicy.MODEL_OFFLOAD:
                pipe.enable_model_cpu_offload(device=self.device)
            else:
                pipe.enable_sequential_cpu_offload(device=self.device)
        self._graph_encoders(policy is MemoryPolicy.GPU)

    def accelerate(self, compile_unets: bool = True, warm_up: bool = True, later: bool = False) -> list[str]:
        """Speed-ups that leave the settings and the output function alone; returns what was applied.

        Fused attention projections and channels-last memory help every GPU. Where compile_unets, the UNets
        are compiled and replayed as CUDA graphs and the VAE decoder is compiled, then warmed up at 1024x1024
        with guidance so no user pays the minutes of compile time. Those compiled modules serve only the
        warmed-up shape; other sizes render with the eager modules rather than stalling for a recompile. A
        failed compile falls back to the eager modules. With later, the compiling is only planned: the model
        serves with its eager modules at once, and compile_planned() (run beside the lane) swaps the compiled
        ones in once they are warm, then compile_size() adds every other size, one at a time.
        """
        if not self.device.startswith("cuda") or self.policy is not MemoryPolicy.GPU:
            return []
        applied = []
        for pipe in self.pipelines:
            pipe.fuse_qkv_projections()
            pipe.unet.to(memory_format=torch.channels_last)
        self._graph_encoders(True)
        applied += ["fused_qkv", "channels_last"]
        if compile_unets:
            try:
                recipe = self._compile_recipe()
                if later:
                    self._plan(recipe)
                    return applied + ["compile_planned"]
                self._swaps.update(_compile(recipe))
                self.warm_shapes.add(WARM_SHAPE)
                if warm_up:  # compiles here, where a failure falls back to the eager modules
                    with generator_kept_through_capture(self.device):
                        self.render("warm-up", "", ImageSettings(steps=RECORDING_STEPS, seed=0))
                applied += ["compiled_unets_cuda_graphs", "compiled_vae_decoder"]
            except Exception as error:  # keep serving with the eager modules
                self._drop_compiled()
                applied.append(f"compile_failed: {type(error).__name__}")
        return applied

    def _compile_recipe(self) -> dict[tuple, tuple]:
        """(module owner, attribute) -> (eager module, the function that compiles it): the UNets replayed as CUDA
        graphs, the VAE decoder compiled."""
        recipe = {(pipe, "unet"): (pipe.unet, _compile_unet) for pipe in self.pipelines}
        vae = self.base.vae
        recipe[(vae, "decoder")] = (vae.decoder, _compile_decoder)
        return recipe

    def _plan(self, recipe: dict[tuple, tuple], shapes: tuple[tuple[int, int, bool], ...] = COMPILED_SHAPES) -> None:
        """Keep the recipe for compile_planned() (the first of shapes) and compile_size() (the others), with
        pipelines of their own that share every weight (built here, on the lane: from_pipe touches the shared
        modules) and a scheduler each, so warming them never touches what the lane's renders use. Nothing is
        compiled here, nor the compiler imported (a second or more)."""
        dtype = self.base.unet.dtype
        pipes = []
        for pipe in self.pipelines:
            scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
            warm = type(pipe).from_pipe(pipe, scheduler=scheduler, dtype=dtype)
            warm.set_progress_bar_config(disable=True)
            pipes.append(warm)
        self._planned, self._warm_pipes = recipe, tuple(pipes)
        self._to_compile = [shape for shape in shapes if shape != WARM_SHAPE]

    @property
    def compile_pending(self) -> bool:
        """Whether compiled modules are planned and not yet published (or dropped)."""
        return self._planned is not None

    def compile_planned(self, warming: Callable[[], AbstractContextManager] = nullcontext) -> bool:
        """Off the lane, beside the renders it serves meanwhile: compile the planned modules by running each once at
        the warm shape through the pipelines of their own (the minutes, inside warming()), then publish them, so
        the lane's next render at that shape uses them (recording their CUDA graphs on its first steps, unless
        record_graphs() ran first). Returns whether they were published: not where compiling failed or place()
        dropped them meanwhile. The other sizes follow, one compile_size() each."""
        planned, pipes = self._planned, self._warm_pipes
        if planned is None:
            return False
        try:
            with warming(), torch.inference_mode():
                compiled = _compile(planned)
                self._run_compiled(compiled, pipes, WARM_SHAPE)
        except Exception as error:  # noqa: BLE001 - the eager modules go on serving
            log.warning("compiling SDXL beside the lane failed: %s: %s", type(error).__name__, error, exc_info=True)
            with self._publishing:
                if self._planned is planned:
                    self._planned = self._warm_pipes = None
                    self._to_compile = []
            return False
        with self._publishing:
            if self._planned is not planned:  # place() dropped them meanwhile
                return False
            self._swaps = compiled  # one assignment: the lane reads the old dict or the new one
            self.warm_shapes = {WARM_SHAPE}
            self._planned = None
        return True

    def next_size(self) -> tuple[int, int, bool] | None:
        """The size compile_size() should build next (taken out of line: a failed one is not tried again), or None
        once every size is built, or the compiled modules were dropped."""
        with self._publishing:
            if self._swaps and self._to_compile:
                return self._to_compile.pop(0)
            self._to_compile, self._warm_pipes = [], None  # nothing left to warm: their schedulers and latents go
            return None

    def compile_size(self, shape: tuple[int, int, bool],
                     warming: Callable[[], AbstractContextManager] = nullcontext) -> bool:
        """Off the lane, once compile_planned() published: compile the published modules for one more size (static
        graphs of their own, the minutes inside warming()) through the pipelines of their own, then let the lane
        use them at that size. Returns whether it was published (not where compiling failed or place() dropped
        the compiled modules meanwhile); a failed size keeps its eager modules."""
        with self._publishing:
            swaps, pipes = self._swaps, self._warm_pipes
        if not swaps or pipes is None:
            return False
        try:
            with warming(), torch.inference_mode():
                self._run_compiled(swaps, pipes, shape)
        except Exception as error:  # noqa: BLE001 - that size goes on with the eager modules
            log.warning("compiling SDXL for %sx%s beside the lane failed: %s: %s", shape[0], shape[1],
                        type(error).__name__, error, exc_info=True)
            return False
        with self._publishing:
            if self._swaps is not swaps:
                return False
            self.warm_shapes = self.warm_shapes | {shape}  # a new set: the lane reads the old one or this one
        return True

    def _run_compiled(self, compiled: dict[tuple, tuple], pipes: tuple, shape: tuple[int, int, bool]) -> None:
        """Run every compiled module once at shape through the pipelines of their own (compiling it for that shape
        on its first call)."""
        width, height, _ = shape
        graph_trees_in_this_thread()
        for pipe, warm in zip(self.pipelines, pipes):
            warm.unet = compiled[(pipe, "unet")][1]
        common = dict(prompt="warm-up", guidance_scale=7.0, output_type="latent")
        with GraphedEncoder.eager_in_this_thread():  # this runs beside the lane, which owns the encoders' graphs
            latents = pipes[0](**common, num_inference_steps=1, width=width, height=height,
                               generator=torch.Generator("cpu").manual_seed(0)).images
            if len(pipes) > 1:  # 5 steps from 0.8: the refiner's UNet runs once
                latents = pipes[1](**common, image=latents, num_inference_steps=5, denoising_start=0.8,
                                   generator=torch.Generator("cpu").manual_seed(0)).images
        # the pipelines decode as vae.decode does: scaled latents through post_quant_conv, then the decoder
        vae = self.base.vae
        z = vae.post_quant_conv((latents / vae.config.scaling_factor).to(vae.dtype))
        compiled[(vae, "decoder")][1](z)

    def record_graphs(self, shape: tuple[int, int, bool]) -> bool:
        """On the lane, between two jobs: a short render at a compiled size records its CUDA graphs, which the first
        teammate's render at that size would otherwise pay for (seconds). A size whose recording fails goes back
        to the eager modules. Returns whether the graphs were recorded."""
        if shape not in self.warm_shapes:
            return False
        if not self.device.startswith("cuda"):  # no CUDA graphs to record
            return True
        width, height, guided = shape
        try:
            with generator_kept_through_capture(self.device):
                self.render("warm-up", "", ImageSettings(width=width, height=height, steps=RECORDING_STEPS, seed=0,
                                                         guidance=7.0 if guided else 1.0))
        except Exception as error:  # noqa: BLE001 - that size goes on with the eager modules
            log.warning("recording SDXL's graphs for %sx%s failed: %s: %s", width, height, type(error).__name__, error,
                        exc_info=True)
            with self._publishing:
                self.warm_shapes = self.warm_shapes - {shape}
            return False
        return True

    def compile_first(self, shapes: set[tuple[int, int, bool]]) -> None:
        """Put the sizes still to compile that are in shapes (an earlier start compiled them: their kernels come
        from the compile cache in seconds) ahead of the others, each group in the order it had."""
        with self._publishing:
            self._to_compile.sort(key=lambda shape: shape not in shapes)

    def _wanted(self, shape: tuple[int, int, bool]) -> None:
        """A teammate rendered at a size still waiting for its compile: it is built next."""
        with self._publishing:
            if shape in self._to_compile[1:]:
                self._to_compile.remove(shape)
                self._to_compile.insert(0, shape)

    def _use_compiled(self, on: bool) -> None:
        for (owner, name), (eager, compiled) in self._swaps.items():
            setattr(owner, name, compiled if on else eager)

    def _drop_compiled(self) -> None:
        """Put the eager modules back for good, planned compiled ones included."""
        with self._publishing:
            self._use_compiled(False)
            self._swaps = {}
            self.warm_shapes = set()
            self._planned = self._warm_pipes = None
            self._to_compile = []

    def _denoise(self, common: dict, settings: ImageSettings, use_refiner: bool) -> Image.Image:
        shape = (settings.width, settings.height, settings.guidance > 1)
        compiled = shape in self.warm_shapes
        if compiled:
            graph_trees_in_this_thread()
        else:
            self._wanted(shape)
        self._use_compiled(compiled)
        with torch.inference_mode():
            # 3. base denoises the first part of the schedule (all of it without the refiner)
            if not use_refiner:
                return to_pil(self.base(**common, width=settings.width, height=settings.height,
                                        output_type="pt").images)
            latents = self.base(**common, width=settings.width, height=settings.height,
                                denoising_end=settings.refiner_switch, output_type="latent").images
            # 4. refiner takes the latents over where the base stopped
            return to_pil(self.refiner(**common, image=latents, denoising_start=settings.refiner_switch,
                                       output_type="pt").images)

    def render(self, prompt: str, negative_prompt: str, settings: ImageSettings,
               on_step: Callable[[int, int], None] | None = None) -> list[RenderedImage]:
        """Render settings.candidates images, seeds seed, seed+1, ...; on_step(done, total) after each step."""
        # 1. check inputs; the fast mode's LoRA loaded on its first use
        check_prompts(prompt, negative_prompt)
        settings = settings.with_seed()
        fast = settings.quality == "fast"
        if fast:
            self.prepare_fast()
        use_refiner = settings.use_refiner and self.refiner is not None and not fast
        model_names = [model_label(n) for n in (*self.spec.names, *([self.spec.fast_lora] if fast else []))]
        total = settings.steps * settings.candidates
        step_end = StepCounter(total, on_step)

        results = []
        for index in range(settings.candidates):
            seed = (settings.seed + index) % (SEED_MAX + 1)
            # 2. a CPU generator gives the same image for a seed on any device
            generator = torch.Generator("cpu").manual_seed(seed)
            common = dict(prompt=prompt, negative_prompt=negative_prompt or None, num_inference_steps=settings.steps,
                          guidance_scale=settings.guidance, generator=generator, callback_on_step_end=step_end)
            try:
                with self._fast_mode(fast):
                    image = self._denoise(common, settings, use_refiner)
            except torch.OutOfMemoryError:
                raise
            except (RuntimeError, ValueError) as error:
                raise GenerationError(action="image generation", detail=f"{type(error).__name__}: {error}") from error
            step_end.done = (index + 1) * settings.steps  # the refiner may stop short of the count
            if self.spec.test_weights:
                image = label_test_image(image)
            results.append(RenderedImage(image=image, seed=seed, prompt=prompt, negative_prompt=negative_prompt,
                                         settings=settings, model_names=model_names,
                                         test_weights=self.spec.test_weights))
        if on_step:
            on_step(total, total)
        return results

    # -- the fast mode: a few-step LoRA on the base ------------------------------------------------------------
    def fast_unavailable(self) -> Message | None:
        """Why the fast mode cannot run on this model, or None. Compiled UNets keep the standard mode's speed only
        while their modules stay as compiled, and a LoRA adapter changes them, so they go without it."""
        if not self.spec.fast_lora:
            return Message("fast_no_lora")
        if self._swaps or self._planned is not None:
            return Message("fast_compiled")
        return None

    def prepare_fast(self, on_download: Callable[[DownloadStatus], None] | None = None) -> None:
        """Fetch the few-step LoRA (on_download hears how far) and load it as an adapter of the base UNet, off
        until a fast render turns it on; once per model."""
        if self._fast_scheduler is not None:
            return
        if (reason := self.fast_unavailable()) is not None:
            raise SettingsError("quality", "fast", "fast_unavailable", reason=reason)
        source, weights = self.spec.fast_lora, self.spec.fast_lora_file
        fetch(source, ([weights or "*.safetensors"], []), self._token, on_download)
        try:
            self.base.load_lora_weights(source, weight_name=weights, adapter_name=FAST_ADAPTER, token=self._token)
        except (OSError, ValueError, RuntimeError, KeyError) as error:
            raise ModelLoadError.from_error(source, error) from error
        with torch.inference_mode():
            self.base.disable_lora()
        self._graph_encoders(self.policy is MemoryPolicy.GPU)  # the adapter's layers are in the encoders now
        from diffusers import EulerDiscreteScheduler
        # few-step LoRAs are distilled on timesteps spread to the schedule's very end ("trailing")
        self._fast_scheduler = EulerDiscreteScheduler.from_config(self.base.scheduler.config,
                                                                  timestep_spacing="trailing")

    @contextmanager
    def _fast_mode(self, on: bool):
        """The LoRA and its scheduler in place for one render, and the base exactly as it was afterwards."""
        if not on:
            yield
            return
        standard = self.base.scheduler
        # offload hooks move weights inside inference mode, making them inference tensors, whose requires_grad
        # flag (which peft sets when it switches adapters) may only be touched in inference mode
        with torch.inference_mode():
            self.base.enable_lora()
        self._forget_encodings()  # a LoRA may change the text encoders too
        self._graph_encoders(False)
        self.base.scheduler = self._fast_scheduler
        try:
            yield
        finally:
            with torch.inference_mode():
                self.base.disable_lora()
            self._forget_encodings()
            self._graph_encoders(self.policy is MemoryPolicy.GPU)
            self.base.scheduler = standard

    def _forget_encodings(self) -> None:
        for encodings in self.encodings:
            encodings.forget()

    def _graph_encoders(self, on: bool) -> None:
        """Replay the text encoders from CUDA graphs (while on, with resident weights on a GPU), recorded afresh:
        whatever changed before this call, the weights' place or modules, a graph recorded earlier would miss."""
        for encoder in self.graphed_encoders:
            encoder.on = on and self.device.startswith("cuda")
            encoder.forget()

    # -- edits of an existing image ------------------------------------------------------------------------
    def edit_reliably(self, edit: Edit, prompt: str, negative_prompt: str, settings: ImageSettings,
                      on_step: Callable[[int, int], None] | None = None,
                      parent: int | None = None) -> list[RenderedImage]:
        """edit(), retried once under a more frugal memory policy if the GPU runs out of memory."""
        return edit_with_fallback(self, edit, prompt, negative_prompt, settings, on_step, parent)

    def edit(self, edit: Edit, prompt: str, negative_prompt: str, settings: ImageSettings,
             on_step: Callable[[int, int], None] | None = None, parent: int | None = None) -> list[RenderedImage]:
        """One edited image: the source redrawn keeping its composition (variation), one region repainted
        (inpaint), or the image extended to another format (extend). Every pixel the edit keeps is the source's,
        exactly. The refiner takes over where the base stops, as in render()."""
        # 1. check inputs; the output size and seed
        check_prompts(prompt, negative_prompt)
        if settings.quality == "fast":
            raise SettingsError("quality", "fast", "fast_unavailable", reason=Message("fast_edits"))
        settings = edit.settings_for(settings).with_seed()
        start, mask = edit.canvas()
        use_refiner = settings.use_refiner and self.refiner is not None
        variation = edit.kind is EditKind.VARIATION
        total = max(1, round(settings.steps * (edit.strength if variation else 1.0)))
        step_end = StepCounter(total, on_step)

        common = dict(prompt=prompt, negative_prompt=negative_prompt or None, num_inference_steps=settings.steps,
                      guidance_scale=settings.guidance, generator=torch.Generator("cpu").manual_seed(settings.seed),
                      callback_on_step_end=step_end)
        size = dict(width=settings.width, height=settings.height)
        # a variation runs steps x strength of the schedule (at least one step); a region or a new area is
        # painted from noise (strength 1), the kept pixels being put back afterwards
        task = dict(image=start, strength=edit.strength) if variation else \
            dict(image=start, mask_image=mask, strength=1.0, **size)
        if variation:
            common["num_inference_steps"] = max(settings.steps, math.ceil(1 / edit.strength))
        # 2. pipelines made from the loaded ones, sharing their weights (eager modules: the compiled graphs
        # serve text-to-image at the warmed-up size only)
        self._use_compiled(False)
        base, refiner = self._edit_pipelines("img2img" if variation else "inpaint")
        try:
            with torch.inference_mode(), self._placed_for_edit(base, refiner):
                if not use_refiner:
                    image = base(**common, **task).images[0]
                else:
                    latents = base(**common, **task, denoising_end=settings.refiner_switch,
                                   output_type="latent").images
                    refine = dict(image=latents, denoising_start=settings.refiner_switch)
                    if not variation:
                        refine.update(mask_image=mask, **size)
                    image = refiner(**common, **refine).images[0]
        except torch.OutOfMemoryError:
            raise
        except (RuntimeError, ValueError) as error:
            raise GenerationError(action="image editing", detail=f"{type(error).__name__}: {error}") from error
        # 3. what the edit keeps is the source's own pixels, not their VAE round trip
        if not variation:
            image = keep_outside(image, start, mask)
        if self.spec.test_weights:
            image = label_test_image(image)
        if on_step:
            on_step(total, total)
        return [RenderedImage(image=image, seed=settings.seed, prompt=prompt, negative_prompt=negative_prompt,
                              settings=settings, model_names=[model_label(n) for n in self.spec.names],
                              test_weights=self.spec.test_weights, metadata=edit.describe(parent))]

    def _edit_pipelines(self, task: str) -> tuple:
        """The image-to-image or inpainting pipelines, built once with from_pipe: the same modules as the loaded
        base and refiner, so no second copy of any weight."""
        if task not in self._editors:
            from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline
            kind = StableDiffusionXLImg2ImgPipeline if task == "img2img" else StableDiffusionXLInpaintPipeline
            # from_pipe casts every module it is given to its dtype (float32 unless told): the shared weights must
            # keep theirs, or the text-to-image pipelines would silently run in float32 afterwards
            dtype = self.base.unet.dtype
            dedicated = {"unet": self.inpaint_unet} if task == "inpaint" and self.inpaint_unet is not None else {}
            base = kind.from_pipe(self.base, dtype=dtype, **dedicated)
            refiner = self.refiner if task == "img2img" or self.refiner is None else \
                StableDiffusionXLInpaintPipeline.from_pipe(self.refiner, dtype=dtype)
            for pipe in (base, refiner):
                if pipe is not None:
                    pipe.set_progress_bar_config(disable=True)
            self._editors[task] = (base, refiner)
        return self._editors[task]

    @contextmanager
    def _placed_for_edit(self, *pipes):
        """Under an offloading policy, hand the offload hooks to the edit's pipelines for the edit, then back."""
        if not self.device.startswith("cuda") or self.policy is MemoryPolicy.GPU:
            yield
            return
        for pipe in self.pipelines:
            pipe.remove_all_hooks()
        try:
            for pipe in filter(None, pipes):
                if self.policy is MemoryPolicy.MODEL_OFFLOAD:
                    pipe.enable_model_cpu_offload(device=self.device)
                else:
                    pipe.enable_sequential_cpu_offload(device=self.device)
            yield
        finally:
            for pipe in filter(None, pipes):
                pipe.remove_all_hooks()
            self.place(self.policy)


def executes_on(pipe, device: str) -> None:
    """Make the pipeline name device as the one it executes on, without diffusers' search: every call of its
    _execution_device checks each submodule of each component for offloading hooks, then asks a model for its
    device (about 12 ms for SDXL's base, 4,900 submodules, spent before the GPU's first work of a render). Under
    every memory policy the studio places the pipelines with, they execute on the model's device."""
    if getattr(type(pipe), "studio_device", None) == device:
        return
    kind = getattr(type(pipe), "studio_kind", type(pipe))  # diffusers' own class, also under an earlier device
    pipe.__class__ = type(kind.__name__, (kind,), {"studio_kind": kind, "studio_device": device,
                                                   "_execution_device": property(lambda _: torch.device(device))})


def to_pil(images: torch.Tensor) -> Image.Image:
    """The first of a pipeline's images as it returns them with output_type="pt" (channels first, 0 to 1), made
    a PIL image with the pixels of the pipeline's own "pil" output: float32 times 255, rounded half to even (as
    numpy rounds). Converted where the tensor is, so from a GPU a byte image comes back (3 MB at 1024x1024)
    instead of a float one converted on the host, which took 28 ms on an H100's host."""
    pixels = (images[0].float() * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).contiguous().cpu().numpy())


def _compile(recipe: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """A compile recipe (see ImageModel._compile_recipe) made into swaps: key -> (eager module, compiled module)."""
    _room_for_every_size()
    return {key: (eager, make(eager)) for key, (eager, make) in recipe.items()}


def _compile_unet(unet):
    import torch._inductor.config as inductor
    inductor.conv_1x1_as_mm = True
    # default inductor mode: max-autotune found faster kernels but spent over 8 minutes compiling
    return torch.compile(unet, mode="reduce-overhead", fullgraph=True, dynamic=False)


def _compile_decoder(decoder):
    return torch.compile(decoder, fullgraph=True, dynamic=False)


def _room_for_every_size() -> None:
    """Let dynamo keep a graph per size and UNet: base and refiner run the same forward code, which dynamo's
    default of 8 graphs per code would cut short at the fifth size (falling back to eager there)."""
    import torch._dynamo.config as dynamo
    dynamo.recompile_limit = max(dynamo.recompile_limit, 2 * len(COMPILED_SHAPES) + 2)


def render_with_fallback(model: ImageModel, prompt: str, negative_prompt: str, settings: ImageSettings,
                         on_step: Callable[[int, int], None] | None = None) -> list[RenderedImage]:
    """render(), retried once under the next more frugal memory policy if the GPU runs out of memory."""
    return retry_on_oom(lambda: model.render(prompt, negative_prompt, settings, on_step),
                        lambda: _more_frugal(model), "image generation")


def edit_with_fallback(model: ImageModel, edit: Edit, prompt: str, negative_prompt: str, settings: ImageSettings,
                       on_step: Callable[[int, int], None] | None = None,
                       parent: int | None = None) -> list[RenderedImage]:
    """edit(), retried once under the next more frugal memory policy if the GPU runs out of memory."""
    return retry_on_oom(lambda: model.edit(edit, prompt, negative_prompt, settings, on_step, parent),
                        lambda: _more_frugal(model), "image editing")


def _more_frugal(model: ImageModel) -> str | None:
    frugal = model.policy.more_frugal()
    if frugal is None:
        return None
    model.place(frugal)
    return f"switching to the {frugal.value} memory policy"


def label_test_image(image: Image.Image) -> Image.Image:
    """The image with a banner saying it comes from random test weights, so nobody mistakes it for a real render."""
    labelled = image.convert("RGB")
    draw = ImageDraw.Draw(labelled)
    band = max(24, labelled.height // 20)
    draw.rectangle([0, labelled.height - band, labelled.width, labelled.height], fill=(20, 20, 20))
    draw.text((10, labelled.height - band + band // 4), "TEST IMAGE - random weights, not a real render",
              fill=(255, 210, 0), font_size=band // 2)
    return labelled


def _variant(source: str) -> str | None:
    """'fp16' where the weights come in that variant: hub repos of SDXL, or local folders holding such files."""
    folder = Path(source)
    if folder.is_dir():
        return "fp16" if any(".fp16." in p.name for p in folder.rglob("*.safetensors")) else None
    return "fp16"
