"""GPU benchmark: the production architectures with random weights, run through the project's own core code,
beside the reference approach (plain `generate`, plain diffusers pipelines) measured in the same process.

Run on a CUDA machine from the repository root:  python bench/bench_gpu.py llm|sdxl [--out DIR]
Writes bench-<phase>.json into --out (default bench/results) and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.image.placement import MemoryPolicy  # noqa: E402
from core.image.sdxl import ImageModelSpec, load_image_model  # noqa: E402
from core.image.settings import ImageSettings  # noqa: E402
from core.text.local import TextModelSpec, load_text_model  # noqa: E402
from core.image.tiny_sdxl import build_sdxl  # noqa: E402
from core.text.tiny_llama import build_llama3_style_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = Path(os.environ.get("ARCHITECTURES", ROOT / "bench" / "architectures.json"))
WORK = Path(tempfile.gettempdir()) / "studio-bench"
PROMPT_TOKENS, NEW_TOKENS = 400, 256
R: dict = {}


RESULTS_FILE: Path | None = None


def log(key, value):
    R[key] = value
    print(f"{key}: {value}", flush=True)
    if RESULTS_FILE:  # written as we go, so a run cut short still leaves its numbers
        RESULTS_FILE.write_text(json.dumps(R, indent=1))


def gib(n: float) -> float:
    return round(n / 2**30, 2)


def timed(fn):
    torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    torch.cuda.synchronize()
    return result, time.perf_counter() - start


def config_of(name: str) -> dict:
    spec = json.loads(ARCHITECTURES.read_text())[name]
    return {k: v for k, v in spec.items() if k not in ("class", "hub_id", "license_note", "note")}


# -- text ------------------------------------------------------------------------------------------------
def time_decoder(decoder, ids, tag: str, attempts: int = 3) -> None:
    """Time to first token, decode rate and total time for NEW_TOKENS sampled tokens, a few times over."""
    list(decoder.generate(ids, 8, [], 0.7, 0.9))
    for attempt in range(attempts):
        torch.cuda.synchronize()
        start = time.perf_counter()
        stream = decoder.generate(ids, NEW_TOKENS, [], 0.7, 0.9)
        next(stream)
        first = time.perf_counter()
        rest = list(stream)
        end = time.perf_counter()
        log(f"{tag}_ttft_ms_{attempt}", round((first - start) * 1000, 1))
        log(f"{tag}_decode_tok_s_{attempt}", round(len(rest) / (end - first), 1))
        log(f"{tag}_256tok_s_{attempt}", round(end - start, 3))
    log(f"{tag}_tokens", len(rest) + 1)


def ensure_llama(path: Path) -> None:
    """Llama-3-8B with random weights, saved once with a Llama 3-style tokenizer and end-of-turn ids."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM
    if (path / "config.json").exists():
        return
    with torch.device("cuda"):
        model = LlamaForCausalLM(LlamaConfig(**config_of("llama3_8b_instruct"))).to(torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=128000, eos_token_id=[128001, 128009])
    model.save_pretrained(path, max_shard_size="5GB")
    build_llama3_style_tokenizer().save_pretrained(path)
    del model
    gc.collect()
    torch.cuda.empty_cache()


def kernel_table(fn, runs: int, top: int = 12) -> list:
    """The GPU kernels fn launches, by time per run: [name, launches per run, microseconds per run]."""
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(runs):
            fn()
        torch.cuda.synchronize()
    rows = [(e.key[:90], e.count / runs, e.device_time_total / runs) for e in prof.key_averages()
            if e.device_time_total > 0]
    rows.sort(key=lambda row: -row[2])
    total = sum(row[2] for row in rows)
    kernels = sum(row[1] for row in rows)
    return [["all kernels", round(kernels, 1), round(total, 1)]] + [[n, round(c, 1), round(t, 1)] for n, c, t in rows[:top]]


def time_step(decoder, ids, tag: str, replays: int = 200) -> None:
    """Pure replay time of the decode graph (forward and on-device sampling, no host work) and its kernels."""
    list(decoder.generate(ids, 2, [], 0.0, 1.0))
    _, dt = timed(lambda: [decoder.graph.replay() for _ in range(replays)])
    log(f"{tag}_graph_step_ms", round(dt / replays * 1000, 3))
    try:
        log(f"{tag}_kernels_per_step", kernel_table(decoder.graph.replay, 10))
    except Exception as error:  # the profiler is a diagnostic; its failure must not lose the timings
        log(f"{tag}_kernels_error", f"{type(error).__name__}: {error}")


def llm_phase():
    path = WORK / "llama3-8b"
    ensure_llama(path)
    ids = torch.randint(1000, 100000, (1, PROMPT_TOKENS), device="cuda")
    # 1. the reference approach, loaded through core's loading code: NF4 with double quant and bf16 compute,
    # separate projections, transformers' SDPA attention, plain generate
    from core.text.fast_decode import GraphDecoder, use_grouped_decode_attention
    from core.text.fused_projections import fuse_projections
    torch.cuda.reset_peak_memory_stats()
    spec = TextModelSpec(str(path), quantize_4bit=True, int4_kernel=False, graph_decode=False,
                         fuse_projections=False)
    text, load_s = timed(lambda: load_text_model(spec, "cuda"))
    model = text.model
    model.set_attn_implementation("sdpa")
    log("llm_nf4_load_s", round(load_s, 1))
    log("llm_nf4_weights_gib", gib(torch.cuda.memory_allocated()))

    def reference(n):
        return model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=True, temperature=0.7, top_p=0.9,
                              pad_token_id=0)

    reference(8)
    out, dt = timed(lambda: reference(NEW_TOKENS))
    log("ref_generate_tok_s", round((out.shape[1] - PROMPT_TOKENS) / dt, 1))
    _, ttft = timed(lambda: reference(1))
    log("ref_ttft_ms", round(ttft * 1000, 1))
    greedy_ref = model.generate(ids, max_new_tokens=16, do_sample=False, pad_token_id=0)[0, PROMPT_TOKENS:].tolist()

    def fast_path(tag, decoder, warm_s):
        log(f"{tag}_warmup_s", round(warm_s, 2))
        if decoder is None:
            log(f"{tag}_error", "capture failed; see the log")
            return
        time_decoder(decoder, ids, tag)
        time_step(decoder, ids, tag)
        greedy_fast = list(decoder.generate(ids, 16, [], 0.0, 1.0))
        log(f"{tag}_greedy_agreement_with_reference", sum(a == b for a, b in zip(greedy_ref, greedy_fast)))

    # 2. levers on the same NF4 weights: static cache + CUDA graph with sampling on the device; then fused
    # projections, grouped decode attention and the compiled step
    decoder, warm_s = timed(lambda: GraphDecoder.try_build(model, compile_step=False))
    fast_path("nf4_graph", decoder, warm_s)
    log("fused_layers", fuse_projections(model))
    use_grouped_decode_attention(model)
    decoder, warm_s = timed(lambda: GraphDecoder.try_build(model, compile_step=True))
    fast_path("nf4_fused_grouped_compiled", decoder, warm_s)
    del decoder, text, model
    gc.collect()
    torch.cuda.empty_cache()
    # 3. the production path on this GPU: int4 weights quantized from bf16 for torch's int4 kernel, and all the
    # levers above (warm-up here is the whole load: bf16 read into CPU memory, quantized, compiled, captured)
    before = torch.cuda.memory_allocated()
    text, load_s = timed(lambda: load_text_model(TextModelSpec(str(path), quantize_4bit=True), "cuda"))
    log("int4_weights_and_caches_gib", gib(torch.cuda.memory_allocated() - before))
    fast_path("int4_fused_grouped_compiled", text.fast, load_s)
    log("llm_peak_gib", gib(torch.cuda.max_memory_allocated()))


def graph_time_us(fn, calls: int = 50) -> float:
    """Microseconds per call of fn, replayed from a CUDA graph of `calls` calls (no launch gaps)."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        fn()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(calls):
            fn()
    return median_time(graph.replay) / calls * 1e6


def llm_kernels_phase():
    """4-bit matrix-vector kernels at batch 1 on the Llama-3-8B shapes: bitsandbytes NF4 (double quant and plain
    scales) against torch's int4 kernel as core uses it."""
    import bitsandbytes as bnb
    from bitsandbytes.functional import quantize_4bit
    from core.text.int4_weights import Int4Linear
    shapes = {"qkv": (6144, 4096), "o": (4096, 4096), "gate_up": (28672, 4096), "down": (4096, 14336),
              "lm_head": (128256, 4096)}
    for name, (n, k) in shapes.items():
        weight = torch.randn((n, k), device="cuda", dtype=torch.bfloat16) / k ** 0.5
        x = torch.randn((1, k), device="cuda", dtype=torch.bfloat16)
        exact = x.float() @ weight.float().T
        rows = {}
        packed, state = quantize_4bit(weight, quant_type="nf4", compress_statistics=True)
        rows["nf4_double_quant"] = (lambda: bnb.matmul_4bit(x, packed.t(), state), k * n / 2)
        packed2, state2 = quantize_4bit(weight, quant_type="nf4", compress_statistics=False)
        rows["nf4_plain_scales"] = (lambda: bnb.matmul_4bit(x, packed2.t(), state2), k * n / 2)
        linear = torch.nn.Linear(k, n, bias=False, device="cuda", dtype=torch.bfloat16)
        linear.weight.data.copy_(weight)
        int4 = Int4Linear.from_linear(linear, "cuda")
        rows["int4_torch_kernel_g64"] = (lambda int4=int4: int4(x), k * n / 2)
        rows["bf16"] = (lambda: x @ weight.T, k * n * 2)
        for variant, (fn, nbytes) in rows.items():
            try:
                error = ((fn().float() - exact).norm() / exact.norm()).item()
                micros = graph_time_us(fn)
                log(f"kernel_{name}_{variant}", {"us": round(micros, 1), "GB_s": round(nbytes / micros / 1e3),
                                                 "rel_error": round(error, 4)})
            except Exception as error:
                log(f"kernel_{name}_{variant}_error", f"{type(error).__name__}: {str(error)[:200]}")


# -- image -----------------------------------------------------------------------------------------------
PROMPT = "a steaming cup of coffee on a wooden table, morning light, photorealistic"
NEGATIVE = "blurry, low quality"


def ensure_sdxl() -> ImageModelSpec:
    """SDXL base + refiner with random weights, saved once; returns their spec."""
    base_dir, refiner_dir = WORK / "sdxl-base", WORK / "sdxl-refiner"
    if not (refiner_dir / "model_index.json").exists():
        # random weights scaled down so fp16 activations stay finite, as in the reference
        build_sdxl(base_dir, refiner_dir, unet=config_of("sdxl_base_unet"), refiner_unet=config_of("sdxl_refiner_unet"),
                   vae=config_of("sdxl_vae"), text_encoder=config_of("sdxl_text_encoder"),
                   text_encoder_2=config_of("sdxl_text_encoder_2"), dtype=torch.float16, device="cuda",
                   weight_scale=0.5)
        gc.collect()
        torch.cuda.empty_cache()
    return ImageModelSpec(str(base_dir), str(refiner_dir))


def ensure_fp16_vae(spec: ImageModelSpec) -> Path:
    """The base's VAE saved as its own folder marked safe for fp16 decoding, as the fp16-fix VAE the full profile
    loads is: the profile's own loading code then reads it from STUDIO_SDXL_VAE."""
    from diffusers import AutoencoderKL
    folder = WORK / "sdxl-vae-fp16"
    if not (folder / "config.json").exists():
        vae = AutoencoderKL.from_pretrained(Path(spec.base) / "vae", dtype=torch.float16)
        vae.register_to_config(force_upcast=False)
        vae.save_pretrained(folder)
    return folder


def sdxl_phase(compile_unets: bool, policies: bool = True):
    spec = ensure_sdxl()
    settings = ImageSettings(steps=40, guidance=7.0, seed=0)
    # 1. reference: plain pipelines, VAE upcast to fp32, loaded through core with no acceleration
    model = load_image_model(spec, "cuda", MemoryPolicy.GPU)
    log("sdxl_resident_gib", gib(torch.cuda.memory_allocated()))
    model.render(PROMPT, NEGATIVE, ImageSettings(steps=4, seed=0))
    torch.cuda.reset_peak_memory_stats()
    _, dt = timed(lambda: model.render(PROMPT, NEGATIVE, settings))
    log("ref_sdxl_40steps_1024_s", round(dt, 2))
    log("ref_sdxl_peak_gib", gib(torch.cuda.max_memory_allocated()))
    # 2. the project's fast path. The fp16-fix VAE the full profile loads has this architecture and
    # force_upcast=False; with random weights, switching the flag off is the same lever.
    model.base.vae.register_to_config(force_upcast=False)
    applied, accel_s = timed(lambda: model.accelerate(compile_unets=compile_unets))
    log("sdxl_levers", ["fp16_vae", *applied])
    log("sdxl_accelerate_and_warmup_s", round(accel_s, 1))
    torch.cuda.reset_peak_memory_stats()
    for attempt in range(3):
        _, dt = timed(lambda: model.render(PROMPT, NEGATIVE, settings))
        log(f"fast_sdxl_40steps_1024_s_{attempt}", round(dt, 2))
    log("fast_sdxl_peak_gib", gib(torch.cuda.max_memory_allocated()))
    # a size the compiled modules were not warmed up for renders eagerly instead of recompiling for minutes
    for attempt in range(2):  # the first pays cuDNN's choice of convolution algorithms for the new shapes
        _, dt = timed(lambda: model.render(PROMPT, NEGATIVE, ImageSettings(width=1152, height=896, steps=40, seed=0)))
        log(f"fast_sdxl_unwarmed_1152x896_s_{attempt}", round(dt, 2))
    images = model.render(PROMPT, NEGATIVE, settings)
    images[0].image.save(Path(os.environ.get("OUT", WORK)) / "random_sdxl.png")
    del model
    gc.collect()
    torch.cuda.empty_cache()
    # 3. memory policies (peak per step does not depend on the step count)
    for policy in (MemoryPolicy.MODEL_OFFLOAD, MemoryPolicy.SEQUENTIAL_OFFLOAD)[: 2 if policies else 0]:
        model = load_image_model(spec, "cuda", policy)
        model.base.vae.register_to_config(force_upcast=False)
        steps = 40 if policy is MemoryPolicy.MODEL_OFFLOAD else 5
        torch.cuda.reset_peak_memory_stats()
        _, dt = timed(lambda: model.render(PROMPT, NEGATIVE, ImageSettings(steps=steps, seed=0)))
        log(f"{policy.value}_{steps}steps_s", round(dt, 2))
        log(f"{policy.value}_peak_gib", gib(torch.cuda.max_memory_allocated()))
        del model
        gc.collect()
        torch.cuda.empty_cache()


class Fp8Linear(torch.nn.Module):
    """An experiment's linear layer: weights in float8 (e4m3) with a scale per output channel, each input row
    scaled to float8 on the fly, multiplied by the GPU's FP8 matrix units (torch._scaled_mm, rowwise scales) into
    bf16, then cast back to the layer's dtype. Compiled, the input's scaling fuses into one kernel."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        weight = linear.weight.detach().float()
        scale = weight.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / FP8_MAX
        self.register_buffer("weight", (weight / scale).to(torch.float8_e4m3fn))  # (out, in), row-major
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, out)
        self.bias = linear.bias
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        scale = rows.abs().amax(dim=1, keepdim=True).float().clamp(min=1e-12) / FP8_MAX
        quantized = (rows.float() / scale).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
        out = torch._scaled_mm(quantized, self.weight.t(), scale_a=scale, scale_b=self.weight_scale,
                               out_dtype=torch.bfloat16).to(x.dtype)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)


FP8_MAX = 448.0  # the largest float8 e4m3 value


def to_fp8(unet) -> int:
    """Every linear layer of the UNet's transformer blocks (attention, feed-forward, projections in and out) made an
    Fp8Linear; returns how many."""
    from diffusers.models.transformers.transformer_2d import Transformer2DModel
    replaced = 0
    for block in [m for m in unet.modules() if isinstance(m, Transformer2DModel)]:
        for parent in list(block.modules()):
            for name, child in list(parent.named_children()):
                if type(child) is torch.nn.Linear and child.in_features % 16 == 0 and child.out_features % 16 == 0:
                    setattr(parent, name, Fp8Linear(child))
                    replaced += 1
    return replaced


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).norm() / b.double().norm())


def fp8_phase():
    """Target 4's lever, measured: the UNets' transformer linears in FP8 on Hopper. (1) one FP8 product against
    the fp16 one on random data; (2) the final latents of a 40-step base + refiner render, eager, FP8 against fp16
    on the same seed (relative error), and the eager render times; (3) the base UNet compiled and replayed as a
    CUDA graph at 1024x1024 with guidance, one call's time in fp16 and in FP8."""
    spec = ensure_sdxl()
    # (1) one product
    x = torch.randn(2048, 1280, device="cuda", dtype=torch.float16)
    linear = torch.nn.Linear(1280, 5120, device="cuda", dtype=torch.float16)
    with torch.inference_mode():
        log("fp8_product_rel_error", round(rel(Fp8Linear(linear)(x), linear(x)), 4))
    model = load_image_model(ImageModelSpec(spec.base, spec.refiner, vae=str(ensure_fp16_vae(spec))), "cuda",
                             MemoryPolicy.GPU)
    model.accelerate(compile_unets=False)  # fused projections and channels-last, as the served path has
    settings = ImageSettings(seed=0)

    def final_latents():
        generator = torch.Generator("cpu").manual_seed(0)
        common = dict(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=40, guidance_scale=7.0,
                      generator=generator)
        with torch.inference_mode():
            latents = model.base(**common, denoising_end=0.8, output_type="latent").images
            return model.refiner(**common, image=latents, denoising_start=0.8, output_type="latent").images

    # (2) eager, fp16 then FP8
    reference = final_latents()
    log("eager_fp16_render_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 2)
                                for _ in range(2)])
    log("unet_gib_fp16", gib(sum(t.numel() * t.element_size() for t in model.base.unet.state_dict().values())))
    unet_input = (torch.randn(2, 4, 128, 128, device="cuda", dtype=torch.float16).to(memory_format=torch.channels_last),
                  torch.tensor([500.0, 500.0], device="cuda"),
                  torch.randn(2, 77, 2048, device="cuda", dtype=torch.float16))
    added = {"text_embeds": torch.randn(2, 1280, device="cuda", dtype=torch.float16),
             "time_ids": torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024]] * 2, device="cuda", dtype=torch.float16)}

    def unet_call(unet):
        return unet(*unet_input, added_cond_kwargs=added, return_dict=False)[0]

    with torch.inference_mode():
        noise_fp16 = unet_call(model.base.unet).clone()
    eager_unet = model.base.unet
    log("fp8_layers", [to_fp8(pipe.unet) for pipe in model.pipelines])
    log("unet_gib_fp8", gib(sum(t.numel() * t.element_size() for t in model.base.unet.state_dict().values())))
    with torch.inference_mode():
        log("fp8_one_unet_call_rel_error", round(rel(unet_call(model.base.unet), noise_fp16), 4))
    log("fp8_final_latents_rel_error", round(rel(final_latents(), reference), 4))
    log("eager_fp8_render_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 2)
                               for _ in range(2)])
    # (3) compiled base UNet call: FP8 (as it stands now), then fp16 on a fresh UNet loaded the same way
    del eager_unet

    def compiled_call_ms(unet) -> tuple[float, float]:
        compiled = torch.compile(unet, mode="reduce-overhead", fullgraph=True, dynamic=False)
        with torch.inference_mode():
            _, compile_s = timed(lambda: [unet_call(compiled) for _ in range(3)])
            times = []
            for _ in range(20):
                _, dt = timed(lambda: unet_call(compiled))
                times.append(dt * 1000)
        times.sort()
        return round(compile_s, 1), round(times[len(times) // 2], 2)

    import torch._inductor.config as inductor
    inductor.conv_1x1_as_mm = True
    compile_s, ms = compiled_call_ms(model.base.unet)
    log("compiled_base_unet_fp8", {"compile_s": compile_s, "call_ms": ms})
    from diffusers import UNet2DConditionModel
    unet16 = UNet2DConditionModel.from_pretrained(spec.base, subfolder="unet", dtype=torch.float16).to("cuda")
    unet16.fuse_qkv_projections()
    unet16.to(memory_format=torch.channels_last)
    compile_s, ms = compiled_call_ms(unet16)
    log("compiled_base_unet_fp16", {"compile_s": compile_s, "call_ms": ms})


class StaticFp8Linear(torch.nn.Module):
    """An experiment's linear layer with per-tensor scales fixed ahead: weights in float8 (e4m3) scaled by their
    largest magnitude, the input scaled by the largest magnitude a calibration render fed this layer, clamped
    there, multiplied by cuBLAS's FP8 kernel with the bias added into fp16. With static scales the input's
    scaling is one pointwise operation, which a compiled graph fuses into the kernel that makes the input."""

    def __init__(self, linear: torch.nn.Linear, input_max: float):
        super().__init__()
        weight = linear.weight.detach().float()
        weight_scale = weight.abs().max().clamp(min=1e-12) / FP8_MAX
        self.register_buffer("weight", (weight / weight_scale).to(torch.float8_e4m3fn))
        self.register_buffer("weight_scale", weight_scale.reshape(()))
        self.register_buffer("input_scale", torch.tensor(max(input_max, 1e-12) / FP8_MAX, device=weight.device))
        self.bias = linear.bias
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, self.in_features)
        quantized = (rows / self.input_scale.to(x.dtype)).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
        out = torch._scaled_mm(quantized, self.weight.t(), scale_a=self.input_scale, scale_b=self.weight_scale,
                               bias=self.bias, out_dtype=x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)


def linear_inputs(unets, run) -> dict:
    """For each linear layer of the UNets' transformer blocks: (module, [rows, in, out, bias], calls, input max)
    over what run() feeds them."""
    from diffusers.models.transformers.transformer_2d import Transformer2DModel
    seen: dict = {}
    hooks = []
    for unet in unets:
        for block in [m for m in unet.modules() if isinstance(m, Transformer2DModel)]:
            for parent in list(block.modules()):
                for name, child in parent.named_children():
                    if type(child) is torch.nn.Linear:
                        def hook(module, args, key=(id(parent), name, parent, child)):
                            x = args[0]
                            rows = x.numel() // x.shape[-1]
                            entry = seen.setdefault(key, [rows, module.in_features, module.out_features,
                                                          module.bias is not None, 0, 0.0])
                            entry[4] += 1
                            entry[5] = max(entry[5], float(x.detach().abs().max()))
                        hooks.append(child.register_forward_pre_hook(hook))
    try:
        with torch.inference_mode():
            run()
    finally:
        for handle in hooks:
            handle.remove()
    return seen


def to_static_fp8(seen: dict) -> int:
    """The layers linear_inputs saw made StaticFp8Linear where the FP8 kernel takes their shape (every dimension a
    multiple of 16); returns how many."""
    replaced = 0
    for (_, name, parent, child), (rows, k, n, _, _, input_max) in seen.items():
        if rows % 16 == 0 and k % 16 == 0 and n % 16 == 0:
            setattr(parent, name, StaticFp8Linear(child, input_max))
            replaced += 1
    return replaced


def levers_phase():
    """Target 4's levers left, measured without compiling. (1) Every linear layer of a 1024x1024 render's UNet
    calls (base and refiner, with guidance) as the fp16 product against cuBLAS's FP8 product with per-tensor
    scales, the input already in float8 (what a compiled graph leaves once the input's scaling fuses into the
    kernel before it), each shape timed from a CUDA graph and summed over the render's 32 + 8 steps. (2) The base
    UNet call replayed as a CUDA graph with cuDNN's algorithm search off (as served) and on, and under each
    attention backend. (3) The transformer linears in static FP8, calibrated on another prompt and seed: the
    final latents' relative error against fp16 on the same seed, and the eager render's time."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    spec = ensure_sdxl()
    model = load_image_model(ImageModelSpec(spec.base, spec.refiner, vae=str(ensure_fp16_vae(spec))), "cuda",
                             MemoryPolicy.GPU)
    model.accelerate(compile_unets=False)  # fused projections and channels-last, as the served path has

    def final_latents(prompt=PROMPT, seed=0):
        generator = torch.Generator("cpu").manual_seed(seed)
        common = dict(prompt=prompt, negative_prompt=NEGATIVE, num_inference_steps=40, guidance_scale=7.0,
                      generator=generator)
        with torch.inference_mode():
            latents = model.base(**common, denoising_end=0.8, output_type="latent").images
            return model.refiner(**common, image=latents, denoising_start=0.8, output_type="latent").images

    # (1) every linear product of a render, fp16 against FP8
    calibration = linear_inputs([pipe.unet for pipe in model.pipelines],
                                lambda: final_latents("a red bicycle against a brick wall, overcast", 7))
    shapes: dict = {}
    for rows, k, n, bias, calls, _ in calibration.values():
        shapes[(rows, k, n, bias)] = shapes.get((rows, k, n, bias), 0) + calls
    one = torch.tensor(1.0, device="cuda")
    totals = {"fp16_ms": 0.0, "fp8_ms": 0.0, "fp16_ms_of_shapes_fp8_cannot_take": 0.0}
    table = []
    for (rows, k, n, bias), calls in sorted(shapes.items(), key=lambda item: -item[1] * item[0][0] * item[0][1] * item[0][2]):
        x = torch.randn((rows, k), device="cuda", dtype=torch.float16)
        w = torch.randn((n, k), device="cuda", dtype=torch.float16) / k ** 0.5
        b = torch.randn(n, device="cuda", dtype=torch.float16) if bias else None
        fp16_us = graph_time_us(lambda: torch.nn.functional.linear(x, w, b))
        row = {"rows": rows, "in": k, "out": n, "bias": bias, "calls_per_render": calls, "fp16_us": round(fp16_us, 1)}
        if rows % 16 == 0 and k % 16 == 0 and n % 16 == 0:
            xq, wq = x.to(torch.float8_e4m3fn), w.mul(k ** 0.5).to(torch.float8_e4m3fn)
            fp8 = lambda: torch._scaled_mm(xq, wq.t(), scale_a=one, scale_b=one, bias=b,  # noqa: E731
                                           out_dtype=torch.float16)
            try:
                row["fp8_us"] = round(graph_time_us(fp8), 1)
            except Exception as error:
                log("fp8_product_error", f"{type(error).__name__}: {str(error)[:300]}")
                return
            quantize = lambda: (x / one.half()).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)  # noqa: E731
            row["eager_scaling_us"] = round(graph_time_us(quantize), 1)
            totals["fp16_ms"] += fp16_us * calls / 1e3
            totals["fp8_ms"] += row["fp8_us"] * calls / 1e3
        else:
            totals["fp16_ms_of_shapes_fp8_cannot_take"] += fp16_us * calls / 1e3
        table.append(row)
    log("linear_shapes", table)
    log("linear_products_per_render", {key: round(value, 1) for key, value in totals.items()})
    # (2) the base UNet call as a CUDA graph: cuDNN's search, attention backends
    sample = torch.randn((2, 4, 128, 128), device="cuda", dtype=torch.float16).to(memory_format=torch.channels_last)
    states = torch.randn((2, 77, 2048), device="cuda", dtype=torch.float16)
    added = {"text_embeds": torch.randn((2, 1280), device="cuda", dtype=torch.float16),
             "time_ids": torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024]] * 2, device="cuda", dtype=torch.float16)}
    t = torch.tensor([500.0, 500.0], device="cuda")
    call = lambda: model.base.unet(sample, t, states, added_cond_kwargs=added, return_dict=False)  # noqa: E731
    with torch.inference_mode():
        graph_ms = lambda: round(graph_time_us(call, calls=3) / 1e3, 2)  # noqa: E731
        log("base_unet_graph_ms", graph_ms())
        torch.backends.cudnn.benchmark = True
        log("base_unet_graph_ms_cudnn_search", graph_ms())
        torch.backends.cudnn.benchmark = False
        for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
            try:
                with sdpa_kernel([backend]):
                    log(f"base_unet_graph_ms_{backend.name.lower()}", graph_ms())
            except Exception as error:
                log(f"base_unet_{backend.name.lower()}_error", f"{type(error).__name__}: {str(error)[:200]}")
        reference_noise = call()[0].clone()
    # (3) static FP8, calibrated on another prompt and seed
    reference = final_latents()
    log("eager_fp16_render_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, ImageSettings(seed=0)))[1], 2)
                                for _ in range(2)])
    log("static_fp8_layers", to_static_fp8(calibration))
    with torch.inference_mode():
        log("static_fp8_one_unet_call_rel_error", round(rel(call()[0], reference_noise), 4))
        log("base_unet_graph_ms_static_fp8_eager_scaling", graph_ms())
    log("static_fp8_final_latents_rel_error", round(rel(final_latents(), reference), 4))
    log("eager_static_fp8_render_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, ImageSettings(seed=0)))[1], 2)
                                      for _ in range(2)])


def edit_phase():
    """Edits of an image through core (pipelines made with from_pipe from the loaded base and refiner) against the
    plain approach in the same process (each task's pipelines loaded on their own), 40 steps with the refiner:
    seconds per edit and the GPU memory the weights hold."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLInpaintPipeline
    from core.image.editing import Edit, rectangle_mask
    spec = ensure_sdxl()
    settings = ImageSettings(steps=40, guidance=7.0, seed=0)
    # 1. ours: the loaded base and refiner, the edit pipelines sharing their weights
    model = load_image_model(spec, "cuda", MemoryPolicy.GPU)
    model.base.vae.register_to_config(force_upcast=False)
    model.accelerate(compile_unets=False)  # fused projections and channels-last, as the studio serves edits
    [source] = model.render(PROMPT, NEGATIVE, settings)
    square, story = source.image, (768, 1344)
    edits = {"variation_0.5_1024": Edit("variation", square, strength=0.5),
             "inpaint_1024": Edit("inpaint", square, mask=rectangle_mask(square.size, (0.25, 0.25, 0.75, 0.75))),
             "extend_1024_to_768x1344": Edit("extend", square, target=story)}
    for name, edit in edits.items():
        log(f"ours_{name}_s", round(median_time(lambda: model.edit(edit, PROMPT, NEGATIVE, settings), runs=3), 2))
    log("ours_weights_gib", gib(torch.cuda.memory_allocated()))
    del model
    gc.collect()
    torch.cuda.empty_cache()
    # 2. reference: each task's pipelines from the saved folders, as a plain diffusers script loads them
    torch.cuda.reset_peak_memory_stats()
    kw = dict(dtype=torch.float16)
    img2img = StableDiffusionXLImg2ImgPipeline.from_pretrained(spec.base, **kw).to("cuda")
    inpaint = StableDiffusionXLInpaintPipeline.from_pretrained(spec.base, **kw).to("cuda")
    refiner = StableDiffusionXLImg2ImgPipeline.from_pretrained(spec.refiner, **kw).to("cuda")
    refiner_inpaint = StableDiffusionXLInpaintPipeline.from_pretrained(spec.refiner, **kw).to("cuda")
    for pipe in (img2img, inpaint, refiner, refiner_inpaint):
        pipe.set_progress_bar_config(disable=True)
    log("ref_weights_gib", gib(torch.cuda.memory_allocated()))
    common = dict(prompt=PROMPT, negative_prompt=NEGATIVE, num_inference_steps=40, guidance_scale=7.0)

    def plain(edit: Edit):
        start, mask = edit.canvas()
        generator = torch.Generator("cpu").manual_seed(0)
        if edit.kind.value == "variation":
            latents = img2img(**common, image=start, strength=edit.strength, denoising_end=0.8, output_type="latent",
                              generator=generator).images
            return refiner(**common, image=latents, denoising_start=0.8, generator=generator).images[0]
        size = dict(width=start.width, height=start.height)
        latents = inpaint(**common, image=start, mask_image=mask, strength=1.0, denoising_end=0.8, output_type="latent",
                          generator=generator, **size).images
        return refiner_inpaint(**common, image=latents, mask_image=mask, denoising_start=0.8, generator=generator,
                               **size).images[0]
    for name, edit in edits.items():
        log(f"ref_{name}_s", round(median_time(lambda: plain(edit), runs=3), 2))
    log("ref_peak_gib", gib(torch.cuda.max_memory_allocated()))


def median_time(fn, runs: int = 5) -> float:
    fn()
    times = [timed(fn)[1] for _ in range(runs)]
    return sorted(times)[len(times) // 2]


def kernel_groups(table: list) -> dict:
    """Microseconds per run by kind of kernel, from kernel_table's rows (all of them)."""
    kinds = {"attention": ("flash", "fmha", "attention", "sdpa", "cudnn_generated"),
             "conv": ("conv", "fprop", "dgrad", "implicit", "xmma_fprop"),
             "gemm": ("gemm", "cutlass", "matmul", "sm90_xmma", "nvjet"), "norm": ("norm",),
             "inductor (fused pointwise and reductions)": ("triton",)}
    groups: dict = {}
    for name, _, micros in table[1:]:
        kind = next((k for k, words in kinds.items() if any(w in name.lower() for w in words)), "other")
        groups[kind] = round(groups.get(kind, 0) + micros, 1)
    return groups


def sdxl_profile_phase():
    """Where an uncompiled, accelerated render spends its time: components, kernel kinds, attention backends,
    launch overhead (the same UNet call replayed as a CUDA graph)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    spec = ensure_sdxl()
    model = load_image_model(spec, "cuda", MemoryPolicy.GPU)
    model.base.vae.register_to_config(force_upcast=False)
    log("sdxl_levers", model.accelerate(compile_unets=False))
    settings = ImageSettings(steps=40, seed=0)
    model.render(PROMPT, NEGATIVE, ImageSettings(steps=4, seed=0))
    log("render_40steps_s", round(median_time(lambda: model.render(PROMPT, NEGATIVE, settings), 2), 3))
    base, refiner = model.base, model.refiner
    # 1. components
    log("encode_prompt_ms", round(median_time(lambda: base.encode_prompt(PROMPT, negative_prompt=NEGATIVE)) * 1e3, 1))
    g = torch.Generator("cuda").manual_seed(0)
    sample = torch.randn((2, 4, 128, 128), generator=g, device="cuda", dtype=torch.float16)
    t = torch.tensor(500.0, device="cuda")
    base_args = dict(encoder_hidden_states=torch.randn((2, 77, 2048), generator=g, device="cuda", dtype=torch.float16),
                     added_cond_kwargs={"text_embeds": torch.randn((2, 1280), device="cuda", dtype=torch.float16),
                                        "time_ids": torch.tensor([[1024., 1024, 0, 0, 1024, 1024]] * 2,
                                                                 device="cuda", dtype=torch.float16)})
    refiner_args = dict(encoder_hidden_states=torch.randn((2, 77, 1280), generator=g, device="cuda",
                                                          dtype=torch.float16),
                        added_cond_kwargs={"text_embeds": base_args["added_cond_kwargs"]["text_embeds"],
                                           "time_ids": torch.tensor([[1024., 1024, 0, 0, 6.0]] * 2, device="cuda",
                                                                    dtype=torch.float16)})
    calls = {"base_unet": lambda: base.unet(sample, t, **base_args, return_dict=False),
             "refiner_unet": lambda: refiner.unet(sample, t, **refiner_args, return_dict=False),
             "vae_decode": lambda: base.vae.decode(sample[:1] / 0.13025, return_dict=False)}
    with torch.inference_mode():
        for name, call in calls.items():
            log(f"{name}_ms", round(median_time(call) * 1e3, 2))
        # 2. attention backends on the base UNet
        for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
            try:
                with sdpa_kernel([backend]):
                    log(f"base_unet_{backend.name.lower()}_ms", round(median_time(calls["base_unet"]) * 1e3, 2))
            except Exception as error:
                log(f"base_unet_{backend.name.lower()}_error", f"{type(error).__name__}: {str(error)[:200]}")
        # 3. kernels of one base UNet call, by kind
        table = kernel_table(calls["base_unet"], 3, top=400)
        log("base_unet_kernel_groups_us", kernel_groups(table))
        log("base_unet_top_kernels", table[:16])
        log("vae_kernel_groups_us", kernel_groups(kernel_table(calls["vae_decode"], 2, top=400)))
        # 4. launch overhead: the same call captured as a CUDA graph
        for name in ("base_unet", "vae_decode"):
            try:
                stream = torch.cuda.Stream()
                stream.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(stream):
                    calls[name]()
                torch.cuda.current_stream().wait_stream(stream)
                graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(graph):
                    calls[name]()
                log(f"{name}_graph_ms", round(median_time(graph.replay) * 1e3, 2))
                del graph
            except Exception as error:
                log(f"{name}_graph_error", f"{type(error).__name__}: {str(error)[:200]}")
    # 5. GPU busy time over a whole render
    table = kernel_table(lambda: model.render(PROMPT, NEGATIVE, settings), 1, top=400)
    log("render_kernel_groups_us", kernel_groups(table))
    log("render_gpu_busy_ms", round(table[0][2] / 1e3, 1))


def render_profile_phase():
    """Where a compiled 1024x1024 render's time goes, as the studio serves it (fp16-safe VAE, fused projections,
    channels-last, UNets replayed as CUDA graphs, compiled VAE decoder; the data folder's compile cache restored
    first where a userpath run left one): (1) the render's wall time, for a prompt rendered again (its encodings
    remembered) and for new prompts, with the text encoders replayed from CUDA graphs and launched eagerly; (2) a
    render with the GPU synchronised at each boundary (prompt encodings, each step, the VAE decode, the conversion
    to an image), for a new prompt and again; (3) the GPU's kernel time
    over a plain render, by kind. The reference approach's render is timed first, in the same process, for the
    ratio."""
    from core.compile_cache import CompileCache
    reference = reference_render()
    log("reference_render_s", [round(timed(reference)[1], 3) for _ in range(4)])
    del reference
    gc.collect()
    torch.cuda.empty_cache()
    spec = ensure_sdxl()
    cache = CompileCache(WORK / "data-userpath" / "compile-cache")
    log("compile_cache_restored", cache.restore())
    model = load_image_model(ImageModelSpec(spec.base, spec.refiner, vae=str(ensure_fp16_vae(spec))), "cuda",
                             MemoryPolicy.GPU)
    applied, accelerate_s = timed(lambda: model.accelerate())
    log("accelerate", {"applied": applied, "seconds": round(accelerate_s, 1)})
    settings = ImageSettings(seed=0)
    render = lambda: model.render(PROMPT, NEGATIVE, settings)  # noqa: E731
    log("render_s", [round(timed(render)[1], 3) for _ in range(5)])
    log("ratio_to_reference", round(sorted(R["reference_render_s"][1:])[1] / sorted(R["render_s"])[2], 2))
    log("render_new_prompt_s", [round(timed(lambda: model.render(f"{PROMPT}, take {n}", NEGATIVE, settings))[1], 3)
                                for n in range(5)])
    model._graph_encoders(False)  # the same, the text encoders launched from Python as before
    log("render_new_prompt_eager_encoders_s", [
        round(timed(lambda: model.render(f"{PROMPT}, eager take {n}", NEGATIVE, settings))[1], 3) for n in range(5)])
    model._graph_encoders(True)
    # (2) boundaries, each after a synchronisation: [label, seconds since the render began]
    marks: list = []
    started = [0.0]
    stepped: set = set()

    def mark(label: str) -> None:
        torch.cuda.synchronize()
        marks.append([label, round(time.perf_counter() - started[0], 4)])

    def around(owner, name: str, label: str):
        function = getattr(owner, name)

        def timed_call(*args, **kwargs):
            mark(f"{label} begins")
            try:
                return function(*args, **kwargs)
            finally:
                mark(f"{label} ends")
        setattr(owner, name, timed_call)  # on the instance, over what was there
        return lambda: setattr(owner, name, function)

    def on_step(done: int, total: int) -> None:
        if done not in stepped:  # render() reports the last step once more as it ends
            stepped.add(done)
            mark(f"step {done}")

    undo = [around(model.base, "encode_prompt", "base prompt"),
            around(model.refiner, "encode_prompt", "refiner prompt"),
            around(model.base.vae, "decode", "vae decode"),
            around(model.refiner.image_processor, "postprocess", "to image")]
    for label in ("new prompt", "prompt again"):
        marks.clear()
        stepped.clear()
        torch.cuda.synchronize()
        started[0] = time.perf_counter()
        model.render(f"{PROMPT}, profiled", NEGATIVE, settings, on_step=on_step)
        mark("render ends")
        log(f"render_marks_s ({label})", list(marks))
        log(f"render_parts_ms ({label})", render_parts(dict(marks)))
    for restore in undo:
        restore()
    # (3) the GPU's work over a plain render
    table = kernel_table(render, 1, top=400)
    log("render_gpu_busy_ms", round(table[0][2] / 1e3, 1))
    log("render_kernel_groups_us", kernel_groups(table))
    log("render_top_kernels", table[:12])


def to_image_phase():
    """The decoded image made a PIL image: diffusers' own conversion (a float image copied to the host, converted
    with numpy) against the studio's (bytes made on the device, then copied), on a 1024x1024 fp16 image in the
    VAE's range; milliseconds of each (median of 20) and whether every pixel is the same."""
    import numpy as np
    from diffusers.image_processor import VaeImageProcessor
    from core.image.sdxl import to_pil
    processor = VaeImageProcessor(vae_scale_factor=8)
    generator = torch.Generator("cuda").manual_seed(0)
    decoded = (torch.rand((1, 3, 1024, 1024), generator=generator, device="cuda") * 2.2 - 1.1).half()
    own = lambda: processor.postprocess(decoded, output_type="pil")[0]  # noqa: E731
    studio = lambda: to_pil(processor.postprocess(decoded, output_type="pt"))  # noqa: E731
    log("to_image_ms", {"diffusers": round(median_time(own, 20) * 1e3, 2),
                        "studio": round(median_time(studio, 20) * 1e3, 2)})
    log("to_image_same_pixels", bool(np.array_equal(np.asarray(own()), np.asarray(studio()))))


def render_parts(at: dict) -> dict:
    """Milliseconds of each part of a render, from render_profile_phase's marks."""
    steps = [at[f"step {n}"] for n in range(1, 41) if f"step {n}" in at]
    return {
        "before base prompt": round(at["base prompt begins"] * 1e3, 1),
        "base prompt": round((at["base prompt ends"] - at["base prompt begins"]) * 1e3, 1),
        "base steps 2-32, each (median)": round(sorted(b - a for a, b in zip(steps[:31], steps[1:32]))[15] * 1e3, 2),
        "base first step (with the pipeline's set-up)": round((steps[0] - at["base prompt ends"]) * 1e3, 1),
        "refiner prompt": round((at["refiner prompt ends"] - at["refiner prompt begins"]) * 1e3, 1),
        "refiner first step (with the pipeline's set-up)": round((steps[32] - at["refiner prompt ends"]) * 1e3, 1),
        "refiner steps 34-40, each (median)": round(sorted(b - a for a, b in zip(steps[32:], steps[33:]))[3] * 1e3, 2),
        "vae decode": round((at["vae decode ends"] - at["vae decode begins"]) * 1e3, 1),
        "to image": round((at["to image ends"] - at["to image begins"]) * 1e3, 1),
        "after to image": round((at["render ends"] - at["to image ends"]) * 1e3, 1)}


def post_phase(compile_unets: bool, policies: bool, fast: bool = True):
    """A whole post on one GPU through the studio's own post flow (core.studio.jobs): copy with its check and
    repair, the English visual prompt, a saved draft, a rendered and saved image. The memory policies' peaks (where
    policies) call the flow directly with their engines; the fast path runs it as the app does, as jobs on the
    Studio's worker, with the full profile's loading, compilation and warm-up (UNets compiled where
    compile_unets)."""
    from core.content.brief import Brief
    from core.profiles import Environment
    from core.studio.history import HistoryStore
    from core.studio.jobs import render_post, write_post
    from core.studio.progress import Progress
    from core.studio.root import Studio
    from core.text.engine import SamplingSettings

    llama = WORK / "llama3-8b"
    ensure_llama(llama)
    spec = ensure_sdxl()
    brief = Brief(product="Café Serra Azul", audience="jovens profissionais", tone="divertido",
                  call_to_action="Peça já o seu")
    sampling = SamplingSettings(seed=0)

    # 1. T4 policy (fp16 compute, uncompiled graphs, SDXL model offload) and the low-VRAM policy: peaks
    for tag, policy, steps in (("t4_policy", MemoryPolicy.MODEL_OFFLOAD, 40),
                               ("low_vram_policy", MemoryPolicy.SEQUENTIAL_OFFLOAD, 3))[: 2 if policies else 0]:
        torch.cuda.reset_peak_memory_stats()
        text = load_text_model(TextModelSpec(str(llama), quantize_4bit=True), "cuda", dtype=torch.float16,
                               compile_step=False)
        images = load_image_model(spec, "cuda", policy)
        images.base.vae.register_to_config(force_upcast=False)
        store = HistoryStore(WORK / f"history-{tag}")

        def post(steps):
            written = write_post(Progress(), brief, lambda: text, store, "bench", sampling)
            render_post(Progress(), written.draft_id, written.visual.prompt, written.visual.negative_prompt,
                        ImageSettings(steps=steps, seed=0), lambda: images, store, "bench", text)
            return written

        post(2)  # one round trip first: the second post pays the unpark
        torch.cuda.reset_peak_memory_stats()
        written, dt = timed(lambda: post(steps))
        log(f"{tag}_post_s_{steps}steps", round(dt, 2))
        log(f"{tag}_post_repair", written.copy.repair)
        log(f"{tag}_whole_pipeline_peak_gib", gib(torch.cuda.max_memory_allocated()))
        del text, images
        gc.collect()
        torch.cuda.empty_cache()
    if not fast:
        return
    # 2. the fast path as a user meets it: the full profile on the Studio, jobs on its worker
    environment = Environment(profile="full", text_model=str(llama), sdxl_base=spec.base, sdxl_refiner=spec.refiner,
                              sdxl_vae=str(ensure_fp16_vae(spec)), accelerate=compile_unets,
                              data_dir=WORK / "history-fast", model_cache=WORK)
    studio = Studio(environment)
    started = time.perf_counter()
    warmup = studio.preload()
    studio.worker.wait(warmup)
    log("fast_load_and_warmup_s", round(time.perf_counter() - started, 1))
    log("fast_warmup_error", warmup.error)

    def post():
        started = time.perf_counter()
        write = studio.write(brief, "bench", "bench", sampling)
        studio.worker.wait(write)
        assert write.result is not None, write.error
        written, wrote = write.result, time.perf_counter()
        render = studio.render(written.draft_id, written.visual.prompt, written.visual.negative_prompt,
                               ImageSettings(seed=0), "bench", "bench")
        studio.worker.wait(render)
        assert render.result is not None, render.error
        return written, wrote - started, time.perf_counter() - wrote

    post()
    for attempt in range(3):
        (written, write_s, render_s), dt = timed(post)
        log(f"fast_post_through_jobs_s_{attempt}", {"total": round(dt, 2), "write_job": round(write_s, 2),
                                                   "render_job": round(render_s, 2), "repair": written.copy.repair})
    log("fast_post_peak_gib", gib(torch.cuda.max_memory_allocated()))


def serve_phase(drafts=(1, 4, 16), new_tokens: int = 250):
    """Drafts of new_tokens each, 1, 4 and 16 at once: the in-process engine on the GPU lane (one at a time, as
    the app runs it) against `transformers serve --continuous-batching` on the same GPU through the studio's
    OpenAI-compatible engine on a lane of that many threads. Drafts per minute, and seconds from a draft's
    request to its first streamed chunk."""
    import subprocess
    import urllib.request

    import openai

    from core.studio.worker import GPUWorker
    from core.text.engine import SamplingSettings
    from core.text.openai_engine import OpenAIEngine, ServerSpec

    llama = WORK / "llama3-8b"
    ensure_llama(llama)
    messages = [{"role": "system", "content": "Você escreve posts para redes sociais."},
                {"role": "user", "content": "Escreva um post de Instagram sobre o Café Serra Azul. Peça já o seu."}]

    def run(lane: GPUWorker, one_draft, n: int, tag: str) -> None:
        firsts: list[float] = []

        def job(_):
            submitted = time.perf_counter()
            firsts.append(one_draft(submitted))
        started = time.perf_counter()
        jobs = [lane.submit(job, "write", f"draft{i}") for i in range(n)]
        for j in jobs:
            lane.wait(j)
            assert j.error is None, j.error
        total = time.perf_counter() - started
        log(f"{tag}_{n}_drafts", {"total_s": round(total, 2), "drafts_per_min": round(60 * n / total, 1),
                                  "first_chunk_s_median": round(sorted(firsts)[len(firsts) // 2], 3),
                                  "first_chunk_s_max": round(max(firsts), 3)})

    # 1. the in-process engine, as the app's GPU lane runs it: one draft at a time
    text = load_text_model(TextModelSpec(str(llama), quantize_4bit=True), "cuda", compile_step=True)
    ids = text.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                             return_dict=True)["input_ids"].to("cuda")

    def local_draft(submitted: float) -> float:
        stream = text.fast.generate(ids, new_tokens, [], 0.7, 0.9)  # token ids: random weights decode to little
        next(stream)
        first = time.perf_counter() - submitted
        for _ in stream:
            pass
        return first
    lane = GPUWorker("bench-gpu-lane")
    for n in drafts:
        run(lane, local_draft, n, "in_process")
    del text
    gc.collect()
    torch.cuda.empty_cache()
    # 2. transformers serve with continuous batching, reached through the studio's engine
    port = 8765
    server = subprocess.Popen(["transformers", "serve", str(llama), "--continuous-batching", "--port", str(port),
                               "--host", "127.0.0.1", "--device", "cuda", "--dtype", "bfloat16"],
                              stdout=open(Path(os.environ.get("OUT", WORK)) / "serve.log", "w"),
                              stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_CACHE": str(WORK / "hub")})
    try:
        started = time.perf_counter()
        while True:
            try:
                if b"ok" in urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read():
                    break
            except OSError:
                assert server.poll() is None, "transformers serve exited (serve.log)"
                time.sleep(1)
        log("serve_start_s", round(time.perf_counter() - started, 1))
        spec = ServerSpec(f"http://127.0.0.1:{port}/v1", str(llama), read_timeout_s=600)
        engine = OpenAIEngine(spec)
        client = engine.client

        def served_draft(submitted: float) -> float:
            first = None
            stream = client.chat.completions.create(model=spec.model, messages=messages, stream=True,
                                                    max_tokens=new_tokens, temperature=0.7, top_p=0.9)
            for chunk in stream:
                if first is None and chunk.choices:
                    first = time.perf_counter() - submitted
            return first if first is not None else float("nan")
        served_draft(time.perf_counter())  # warm-up
        _ = list(engine.stream(messages, 8, SamplingSettings(temperature=0.7)))  # the studio's engine works too
        for n in drafts:
            run(GPUWorker("bench-text-server", concurrency=n), served_draft, n, "transformers_serve_cb")
    except openai.APIError as error:
        log("serve_error", f"{type(error).__name__}: {str(error)[:300]}")
    finally:
        server.kill()
        server.wait()


# -- the user's path in fresh processes: start-up, posts through the studio's jobs, every size, the fast mode ----
USERPATH_MODES = ("reference", "cold", "restart", "t4-fast", "regional", "every-size", "render-path", "start",
                  "sizes")


def since_process_start() -> float:
    import psutil
    return time.time() - psutil.Process().create_time()


def userpath_phase(modes: list[str]):
    """Each mode in a fresh process, as a user meets the studio: the reference approach's start and render, a cold
    start (empty compile caches), a restart on a fresh machine with only the data folder's compile cache, the
    fast mode under the T4 policy, and regional compilation as an experiment. Results merge into one file."""
    import subprocess
    if {"cold", "restart", "start"} & set(modes):
        ensure_llama(WORK / "llama3-8b")
    spec = ensure_sdxl()
    ensure_fp16_vae(spec)
    if "t4-fast" in modes:
        ensure_random_lora(spec)
    if "start" in modes:
        log("imports_slowest_without_bytecode", slowest_imports()[:1])
    if {"cold", "restart", "start", "reference"} & set(modes):  # modes whose start-up is measured
        ensure_bytecode()
    if "start" in modes:
        log("imports_slowest", slowest_imports())
    data = WORK / "data-userpath"  # the studio's data folder: history and compile cache, as on a Drive
    from core.text.int4_store import FOLDER as INT4_FOLDER
    shutil.rmtree(WORK / INT4_FOLDER, ignore_errors=True)  # a fresh machine has the models and nothing made of them
    runs: dict[str, int] = {}
    for mode in modes:
        if mode == "cold":  # nothing compiled or quantized before, anywhere
            shutil.rmtree(data / "compile-cache", ignore_errors=True)
            shutil.rmtree(WORK / INT4_FOLDER, ignore_errors=True)
        caches = Path(tempfile.mkdtemp(prefix=f"caches-{mode}-", dir=WORK))  # every start: empty torch caches
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(caches / "inductor"),
               "TRITON_CACHE_DIR": str(caches / "triton"), "USERPATH_DATA": str(data)}
        started = time.perf_counter()
        child = subprocess.run([sys.executable, __file__, "userpath-child", "--mode", mode,
                                "--out", str(RESULTS_FILE.parent)], env=env, cwd=ROOT)
        runs[mode] = runs.get(mode, 0) + 1  # a mode asked twice (a start, then a restart) is logged as mode_2
        key = mode if runs[mode] == 1 else f"{mode}_{runs[mode]}"
        log(f"{key}_process_s", round(time.perf_counter() - started, 1))
        child_file = RESULTS_FILE.parent / f"bench-userpath-{mode}.json"
        if child_file.exists():
            child_results = json.loads(child_file.read_text())
            child_file.unlink()
            for name in ("gpu", "versions"):
                child_results.pop(name, None)
            log(key, child_results)
        if child.returncode:
            log(f"{key}_exit", child.returncode)


START_IMPORTS = """
import json, sys
sys.path.insert(0, '.')
import torch
from core.studio.root import Studio
from core.profiles import load_images, load_text
from diffusers import AutoencoderKL, StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM
print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if (getattr(m, '__file__', None) or '')
                         .endswith('.py')})))
"""


def ensure_bytecode():
    """Compile the bytecode of every module a start imports, as pip does when it installs a package on a user's
    machine and as Python does on a checkout's first run. Some GPU machines come with none and with
    PYTHONDONTWRITEBYTECODE set, so every start compiled every module from source again. Only what a start
    imports is compiled (the machine's image holds many packages the studio never imports)."""
    import importlib.util
    import subprocess
    from concurrent.futures import ProcessPoolExecutor
    torch_cache = Path(torch.__file__).parent / "__pycache__"
    if torch_cache.is_dir() and not sys.flags.dont_write_bytecode:
        log("bytecode", "present")
        return
    started = time.perf_counter()
    found = subprocess.run([sys.executable, "-c", START_IMPORTS], cwd=ROOT, capture_output=True, text=True, check=True)
    files = json.loads(found.stdout.strip().splitlines()[-1])
    with ProcessPoolExecutor() as pool:
        list(pool.map(_compile_one, files, chunksize=64))
    log("bytecode", {"compiled_s": round(time.perf_counter() - started, 1), "files": len(files),
                     "tagged": importlib.util.cache_from_source(files[0]) if files else None})


def _compile_one(path: str) -> None:
    import importlib.util
    import py_compile
    try:
        py_compile.compile(path, cfile=importlib.util.cache_from_source(path), doraise=True)
    except (py_compile.PyCompileError, OSError):
        pass  # a read-only or odd file compiles from source at import, as it would on a user's machine


def slowest_imports(top: int = 25) -> list:
    """The studio's imports in a fresh interpreter (python -X importtime): [module, cumulative seconds], the
    slowest first, and the whole import as "all"."""
    import subprocess
    code = "import sys; sys.path.insert(0, '.'); import torch; torch.cuda.init(); from core.studio.root import Studio"
    started = time.perf_counter()
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True,
                         text=True).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            rows.append((name.strip(), int(cumulative) / 1e6))
    rows.sort(key=lambda row: -row[1])
    return [["all", round(time.perf_counter() - started, 2)]] + [[n, round(c, 2)] for n, c in rows[:top]]


def ensure_random_lora(spec: ImageModelSpec) -> Path:
    """A LoRA for the SDXL base UNet with random factors at a few-step LoRA's size (attention and feed-forward
    projections, rank 64), saved as SDXL LoRAs ship. Its second factor starts at zero, as peft initialises it, so
    the picture is the base's while every low-rank product is computed: the timing is the real one."""
    from diffusers import StableDiffusionXLPipeline, UNet2DConditionModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    folder = WORK / "sdxl-fast-lora"
    if not (folder / "lora.safetensors").exists():
        unet = UNet2DConditionModel.from_pretrained(spec.base, subfolder="unet", dtype=torch.float16)
        unet.add_adapter(LoraConfig(r=64, lora_alpha=64, target_modules=[
            "to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out"]))
        layers = get_peft_model_state_dict(unet)
        log("random_lora_parameters_m", round(sum(t.numel() for t in layers.values()) / 1e6, 1))
        StableDiffusionXLPipeline.save_lora_weights(folder, unet_lora_layers=layers, weight_name="lora.safetensors")
        del unet
        gc.collect()
    return folder


def userpath_child(mode: str):
    log("mode", mode)
    if mode == "reference":
        return reference_start()
    if mode == "regional":
        return regional_compile()
    if mode == "every-size":
        return every_size_compile()
    from core.content.brief import Brief
    from core.profiles import Environment
    from core.studio.root import Studio
    from core.text.engine import SamplingSettings
    spec = ensure_sdxl()
    t4 = mode == "t4-fast"
    environment = Environment(profile="full", text_model=str(WORK / "llama3-8b"), sdxl_base=spec.base,
                              sdxl_refiner=spec.refiner, sdxl_vae=str(ensure_fp16_vae(spec)),
                              fast_lora=str(WORK / "sdxl-fast-lora"), fast_lora_file="lora.safetensors",
                              memory_policy=MemoryPolicy.MODEL_OFFLOAD if t4 else None,
                              data_dir=Path(os.environ["USERPATH_DATA"]), model_cache=WORK)
    if mode == "start":
        phases = time_phases()
    studio = Studio(environment)
    log("imports_s", round(since_process_start(), 1))
    if mode == "start":
        return start_only(studio, phases)
    if t4:
        return t4_fast(studio)
    if mode == "render-path":
        return render_path(studio)
    if mode == "sizes":
        return sizes_beside_lane(studio)
    # 1. start-up: the full profile's warm-up on the worker, as the app runs it when the server starts
    cache_file = studio.compile_cache.file
    log("compile_cache_file_mb_before", round(cache_file.stat().st_size / 2**20, 1) if cache_file.exists() else 0)
    warmup = studio.preload()
    studio.worker.wait(warmup)
    log("ready_s", round(since_process_start(), 1))
    log("warmup_error", warmup.error)
    log("compile_cache_restored_artifacts", studio.compile_cache.restored)
    log("compile_cache_file_mb_after", round(cache_file.stat().st_size / 2**20, 1) if cache_file.exists() else 0)
    brief = Brief(product="Café Serra Azul", audience="jovens profissionais", tone="divertido",
                  call_to_action="Peça já o seu")
    settings = ImageSettings(seed=0)

    def job(submit):
        started = time.perf_counter()
        done = submit()
        studio.worker.wait(done)
        assert done.result is not None, done.error
        return done.result, round(time.perf_counter() - started, 3)

    messages = [{"role": "user", "content": "Escreva um post de Instagram sobre o Café Serra Azul."}]

    def decode(_):
        """200 new tokens on the lane with the serving decoder, as a draft's copy is decoded (token ids, no stop
        ids: random weights decode to little text): tokens per second, prompt included."""
        engine = studio.text_model()
        ids = engine.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                   return_dict=True)["input_ids"]
        started = time.perf_counter()
        count = sum(1 for _ in engine.fast.generate(ids, 200, [], 0.7, 0.9))
        return round(count / (time.perf_counter() - started), 1)

    # 2. served while the models compile beside the lane: three posts' render job and decode, back to back (the
    # compile goes on only while the lane is idle, so a lane kept busy for ever would hold it back for ever)
    acceleration = studio.acceleration
    log("accelerating_at_ready", acceleration.stage.value if acceleration else None)
    during = []
    for _ in range(3 if acceleration is not None and acceleration.pending else 0):
        draft_id = studio.store.create_draft(brief, "copy", PROMPT, NEGATIVE, "bench")
        _, render_s = job(lambda: studio.render(draft_id, PROMPT, NEGATIVE, settings, "bench", "bench"))
        tokens_s, _ = job(lambda: studio.worker.submit(decode, "write", "bench"))
        during.append({"at_s": round(since_process_start(), 1), "stage": acceleration.stage.value,
                       "render_job_s": render_s, "decode_tok_s": tokens_s})
    log("served_while_compiling", during)
    if acceleration is not None:
        finished = acceleration.wait(float(os.environ.get("USERPATH_ACCELERATION_LIMIT_S", 1800)))
        log("accelerated_s" if finished else "still_accelerating_at_s", round(since_process_start(), 1))
        log("acceleration", {"applied": acceleration.applied, "failed": acceleration.failed,
                             "seconds": acceleration.seconds})
    log("decode_tok_s_after", [job(lambda: studio.worker.submit(decode, "write", "bench"))[0] for _ in range(2)])
    log("compile_cache_file_mb_at_end", round(cache_file.stat().st_size / 2**20, 1) if cache_file.exists() else 0)
    # 3. three posts through the jobs, then the engine alone and the saving alone

    from importlib.util import find_spec
    # the copy check's language detector is a 96 MB wheel, more than some GPU machines can be sent
    writes = find_spec("lingua") is not None
    if not writes:
        log("write_jobs", "not run: lingua-language-detector is not installed here; drafts saved directly")
    posts = []
    for attempt in range(4):  # the first pays the text lane's first draft
        if writes:
            written, write_s = job(lambda: studio.write(brief, "bench", "bench", SamplingSettings(seed=attempt)))
            draft_id, prompt, negative = written.draft_id, written.visual.prompt, written.visual.negative_prompt
        else:
            draft_id, prompt, negative, write_s = studio.store.create_draft(brief, "copy", PROMPT, NEGATIVE,
                                                                            "bench"), PROMPT, NEGATIVE, None
        _, render_s = job(lambda: studio.render(draft_id, prompt, negative, settings, "bench", "bench"))
        posts.append({"write_job": write_s, "render_job": render_s})
    log("posts_through_jobs", posts)
    model = studio.image_model()
    engine = [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 3) for _ in range(3)]
    log("engine_render_s", engine)
    from core.image.png import save_png
    rendered = model.render(PROMPT, NEGATIVE, settings)[0]
    saving = []
    for _ in range(3):
        started = time.perf_counter()
        studio.store.add_image_version(draft_id, rendered, "bench")
        saving.append(round(time.perf_counter() - started, 3))
    log("save_image_version_s", saving)
    import io
    for level in (6, 1):
        started = time.perf_counter()
        rendered.image.save(io.BytesIO(), format="PNG", compress_level=level)
        log(f"png_encode_level{level}_s", round(time.perf_counter() - started, 3))
    save_png(rendered, Path(os.environ.get("OUT", WORK)) / f"userpath-{mode}.png")
    # 4. the first and second render of every other size, through the jobs
    sizes = {}
    for width, height in ((1152, 896), (896, 1152), (1344, 768), (768, 1344)):
        size = ImageSettings(width=width, height=height, seed=0)
        sizes[f"{width}x{height}"] = [job(lambda: studio.render(draft_id, PROMPT, NEGATIVE, size, "bench",
                                                                "bench"))[1] for _ in range(2)]
    log("sizes_first_second_s", sizes)
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))


def time_phases() -> dict:
    """Wrap the steps of loading both models so each records its seconds (the bench's own instrument; the product
    code runs unchanged inside): {step: [seconds of each call]}."""
    import functools
    import diffusers
    import transformers
    from core.compile_cache import CompileCache
    from core.image import sdxl
    from core.text import fast_decode, local
    phases: dict = {}

    def wrap(owner, name, label, static=False):
        function = getattr(owner, name)
        function = getattr(function, "__func__", function)  # a classmethod's own function, bound below again

        @functools.wraps(function)
        def timed_call(*args, **kwargs):
            if torch.cuda.is_initialized():
                torch.cuda.synchronize()
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if torch.cuda.is_initialized():
                    torch.cuda.synchronize()
                phases.setdefault(label, []).append(round(time.perf_counter() - started, 2))
        setattr(owner, name, classmethod(timed_call) if static else timed_call)

    wrap(transformers.AutoTokenizer, "from_pretrained", "text_tokenizer", static=True)
    wrap(transformers.AutoModelForCausalLM, "from_pretrained", "text_from_pretrained", static=True)
    from core.text import int4_store
    wrap(local, "fuse_projections", "text_fuse_nf4")
    for name, label in (("fuse_projections", "text_fuse"), ("quantize_to_int4", "text_int4_quantize"),
                        ("tile_for_kernel", "text_int4_tile"), ("fingerprint", "text_int4_fingerprint")):
        wrap(int4_store, name, label)
    wrap(int4_store.Int4Store, "load", "text_int4_store_load")
    wrap(int4_store.Int4Store, "save", "text_int4_store_save")
    wrap(fast_decode.GraphDecoder, "warm_up", "text_graph_warm_up")
    from core import profiles
    wrap(profiles, "load_text_model", "text_load_total")
    for cls in (diffusers.StableDiffusionXLPipeline, diffusers.StableDiffusionXLImg2ImgPipeline,
                diffusers.AutoencoderKL):
        wrap(cls, "from_pretrained", f"image_{cls.__name__}_from_pretrained", static=True)
    wrap(sdxl.ImageModel, "place", "image_place")
    wrap(sdxl.ImageModel, "accelerate", "image_accelerate")
    wrap(profiles, "load_image_model", "image_load_total")
    wrap(CompileCache, "restore", "compile_cache_restore")
    wrap(CompileCache, "save", "compile_cache_save")
    return phases


def start_only(studio, phases: dict):
    """Start-up alone, as a restart meets it: the full profile's warm-up until the first job can run, each loading
    step timed; the process then ends without waiting for the background compile."""
    warmup = studio.preload()
    studio.worker.wait(warmup)
    log("ready_s", round(since_process_start(), 1))
    log("warmup_error", warmup.error)
    log("phases_s", phases)
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))
    storing = studio.text_model().storing_weights
    if storing is not None:  # the int4 weights written for the next start, in the background after ready
        storing.join()
        log("int4_stored_at_s", round(since_process_start(), 1))
    store = Path(studio.profile.text.int4_store)
    log("int4_store_files_mb", sorted(round(f.stat().st_size / 2**20) for f in store.glob("*.safetensors")))
    os._exit(0)  # the compile thread is a daemon; the lane's saving threads have nothing to save


def sizes_beside_lane(studio):
    """The image side alone (no text model), served as a server serves it: SDXL loaded with nothing compiled, then
    compiled beside the lane at 1024x1024 and at each other size in turn (core.studio.acceleration). As each size
    is published and its graphs recorded on the lane, its first and second render job through the studio, then
    one at 1024x1024 again; until every size is in or USERPATH_DEADLINE_S from process start. USERPATH_ASK_FIRST
    (a size such as 1344x768) renders that size once at ready, as a teammate would, so it is compiled next."""
    from core.content.brief import Brief
    from core.image.sdxl import COMPILED_SHAPES, WARM_SHAPE
    from core.studio.acceleration import Acceleration
    deadline = float(os.environ.get("USERPATH_DEADLINE_S", 560))
    studio._compile_later = True  # as preload() sets it for a server
    model, load_s = timed(lambda: studio.image_model())
    log("image_load_s", round(load_s, 1))
    acceleration = Acceleration(studio.worker, studio.compile_cache, None, model).start()
    log("ready_s", round(since_process_start(), 1))
    draft_id = studio.store.create_draft(Brief(product="Café Serra Azul"), "copy", PROMPT, NEGATIVE, "bench")

    def render_job(width: int, height: int) -> float:
        started = time.perf_counter()
        done = studio.render(draft_id, PROMPT, NEGATIVE, ImageSettings(width=width, height=height, seed=0), "bench",
                             "bench")
        studio.worker.wait(done)
        assert done.result is not None, done.error
        return round(time.perf_counter() - started, 3)

    asked = os.environ.get("USERPATH_ASK_FIRST")  # e.g. 1344x768: rendered once at ready, so it compiles next
    if asked:
        width, height = map(int, asked.split("x"))
        log("asked_first", {"size": asked, "eager_render_job_s": render_job(width, height)})
    sizes, seen = {}, set()
    while since_process_start() < deadline:  # each size as it is published, whatever the order
        published = [name for name in acceleration.applied if name.startswith("images") and name not in seen]
        if not published:
            if not acceleration.pending:
                break
            time.sleep(0.2)
            continue
        name = published[0]
        seen.add(name)
        width, height = WARM_SHAPE[:2] if name == "images" else map(int, name.split()[1].split("x"))
        sizes[f"{width}x{height}"] = {"published_at_s": round(since_process_start(), 1),
                                      "compile_s": acceleration.seconds.get(name),
                                      "first_second_render_job_s": [render_job(width, height) for _ in range(2)],
                                      "then_1024_s": render_job(1024, 1024),
                                      "gpu_allocated_gib": gib(torch.cuda.memory_allocated()),
                                      "gpu_reserved_gib": gib(torch.cuda.memory_reserved())}
        log("sizes", sizes)
    log("sizes_not_reached", [f"{w}x{h}" for w, h, _ in COMPILED_SHAPES if f"{w}x{h}" not in sizes])
    log("acceleration", {"applied": acceleration.applied, "failed": acceleration.failed,
                         "seconds": acceleration.seconds})
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))
    log("compile_cache_file_mb", round(studio.compile_cache.file.stat().st_size / 2**20, 1)
        if studio.compile_cache.file.exists() else 0)
    log("compile_cache_restored_artifacts", studio.compile_cache.restored)
    os._exit(0)  # the compile thread is a daemon


def render_path(studio):
    """The image side alone (no text model): SDXL loaded and compiled as the studio serves it, then render jobs
    through the worker against the engine alone and the saving alone; then what a static compile for one more size
    costs, the price of warming each size ahead of its first user."""
    model, load_s = timed(lambda: studio.image_model())
    log("image_load_and_compile_s", round(load_s, 1))
    log("ready_s", round(since_process_start(), 1))
    from core.content.brief import Brief
    brief = Brief(product="Café Serra Azul", audience="jovens profissionais", tone="divertido",
                  call_to_action="Peça já o seu")
    settings = ImageSettings(seed=0)
    draft_id = studio.store.create_draft(brief, "copy", PROMPT, NEGATIVE, "bench")
    jobs = []
    for _ in range(4):
        started = time.perf_counter()
        done = studio.render(draft_id, PROMPT, NEGATIVE, settings, "bench", "bench")
        studio.worker.wait(done)
        assert done.result is not None, done.error
        jobs.append(round(time.perf_counter() - started, 3))
    log("render_jobs_s", jobs)
    log("engine_render_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 3) for _ in range(4)])
    rendered = model.render(PROMPT, NEGATIVE, settings)[0]
    from core.image.png import COMPRESS_LEVEL, encode_png, png_metadata
    log("encode_png_s", [round(timed(lambda: encode_png(rendered.image, png_metadata(rendered)))[1], 4)
                         for _ in range(3)])
    import io
    log("pillow_png_level1_s", [round(timed(lambda: rendered.image.save(io.BytesIO(), format="PNG",
                                                                       compress_level=COMPRESS_LEVEL))[1], 4)
                                for _ in range(3)])
    log("save_image_version_s", [round(timed(lambda: studio.store.add_image_version(draft_id, rendered, "bench"))[1],
                                       3) for _ in range(3)])
    # one more size compiled statically (its own graphs, no dynamic shapes), as a background warm-up would
    torch._dynamo.config.automatic_dynamic_shapes = False
    size = ImageSettings(width=1152, height=896, seed=0)
    model.warm_shapes.add((1152, 896, True))
    log("static_size_first_second_third_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, size))[1], 2)
                                             for _ in range(3)])
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))


def t4_fast(studio):
    """Under the T4 policy (fp16, SDXL offloaded per model, nothing compiled): the standard render and the fast
    mode's, each twice; the fast mode's first also loads its LoRA."""
    model, load_s = timed(lambda: studio.image_model())
    log("image_load_s", round(load_s, 1))
    log("policy", model.policy.value)
    log("fast_unavailable", str(model.fast_unavailable()))
    standard = ImageSettings(seed=0)
    log("standard_40steps_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, standard))[1], 2)
                               for _ in range(2)])
    _, lora_s = timed(lambda: model.prepare_fast())
    log("fast_lora_load_s", round(lora_s, 2))
    fast = standard.fast()
    log("fast_4steps_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, fast))[1], 2) for _ in range(3)])
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))
    # the same fast render with the LoRA fused into the weights (what a dedicated fast UNet would cost)
    with torch.inference_mode():
        model.base.enable_lora()
        model.base.fuse_lora()
    plain = ImageSettings(seed=0, steps=4, guidance=0.0, use_refiner=False)
    log("fused_4steps_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, plain))[1], 2) for _ in range(2)])


def reference_start():
    """The reference approach: plain diffusers pipelines (VAE upcast to fp32, all on the GPU, nothing compiled),
    from process start to its first image, then its render time."""
    render = reference_render()
    log("ready_s", round(since_process_start(), 1))
    log("render_40steps_1024_s", [round(timed(render)[1], 2) for _ in range(3)])


def reference_render():
    """The reference approach's render, loaded: plain diffusers pipelines (VAE upcast to fp32, all on the GPU,
    nothing compiled), 40 steps at 1024x1024, base then refiner from 0.8."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
    spec = ensure_sdxl()
    base = StableDiffusionXLPipeline.from_pretrained(spec.base, dtype=torch.float16).to("cuda")
    refiner = StableDiffusionXLImg2ImgPipeline.from_pretrained(spec.refiner, text_encoder_2=base.text_encoder_2,
                                                               vae=base.vae, dtype=torch.float16).to("cuda")

    def render():
        latents = base(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=40, guidance_scale=7.0,
                       denoising_end=0.8, output_type="latent", generator=torch.Generator("cpu").manual_seed(0)).images
        return refiner(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=40, guidance_scale=7.0,
                       denoising_start=0.8, image=latents, generator=torch.Generator("cpu").manual_seed(0)).images[0]
    return render


def other_sizes(model) -> dict:
    """The first and second render of every SDXL size but 1024x1024, straight on the engine."""
    sizes = {}
    for width, height in ((1152, 896), (896, 1152), (1344, 768), (768, 1344)):
        size = ImageSettings(width=width, height=height, seed=0)
        sizes[f"{width}x{height}"] = [round(timed(lambda: model.render(PROMPT, NEGATIVE, size))[1], 3)
                                      for _ in range(2)]
    return sizes


def regional_compile():
    """An experiment for the next round: the UNets' repeated transformer blocks compiled with dynamic shapes
    (diffusers' compile_repeated_blocks) instead of whole compiled UNets replayed as CUDA graphs: the compile
    time, the 1024x1024 render, and the first render of every other size."""
    spec = ensure_sdxl()
    model = load_image_model(ImageModelSpec(spec.base, spec.refiner, vae=str(ensure_fp16_vae(spec))), "cuda",
                             MemoryPolicy.GPU)
    log("load_s", round(since_process_start(), 1))
    model.accelerate(compile_unets=False)  # fused projections and channels-last, as the fast path has
    for pipe in model.pipelines:
        pipe.unet.compile_repeated_blocks(fullgraph=True, dynamic=True)
    settings = ImageSettings(seed=0)
    _, first_s = timed(lambda: model.render(PROMPT, NEGATIVE, settings))
    log("first_render_with_compile_s", round(first_s, 1))
    log("ready_s", round(since_process_start(), 1))
    log("render_1024_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 2) for _ in range(2)])
    log("sizes_first_second_s", other_sizes(model))


def every_size_compile():
    """An experiment: the whole UNets and the VAE decoder compiled for dynamic shapes (one compile for every size)
    and replayed as CUDA graphs, recorded per size on its first render: the compile time, the 1024x1024 render
    against the static compile's, and the first and second render of every other size."""
    spec = ensure_sdxl()
    model = load_image_model(ImageModelSpec(spec.base, spec.refiner, vae=str(ensure_fp16_vae(spec))), "cuda",
                             MemoryPolicy.GPU)
    log("load_s", round(since_process_start(), 1))
    model.accelerate(compile_unets=False)  # fused projections and channels-last, as the fast path has

    def compile_and_warm_up():
        for pipe in model.pipelines:  # left in place: these serve every size, not only a warmed-up one
            pipe.unet = torch.compile(pipe.unet, mode="reduce-overhead", fullgraph=True, dynamic=True)
        model.base.vae.decoder = torch.compile(model.base.vae.decoder, fullgraph=True, dynamic=True)
        model.render("warm-up", "", ImageSettings(steps=15, seed=0))
    _, accelerate_s = timed(compile_and_warm_up)
    log("compile_and_warm_up_s", round(accelerate_s, 1))
    log("ready_s", round(since_process_start(), 1))
    settings = ImageSettings(seed=0)
    log("render_1024_s", [round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 3) for _ in range(3)])
    log("sizes_first_second_s", other_sizes(model))
    log("render_1024_after_sizes_s", round(timed(lambda: model.render(PROMPT, NEGATIVE, settings))[1], 3))
    log("peak_gib", gib(torch.cuda.max_memory_allocated()))
    from core.image.png import save_png
    save_png(model.render(PROMPT, NEGATIVE, ImageSettings(width=1344, height=768, seed=0))[0],
             Path(os.environ.get("OUT", WORK)) / "every-size-1344x768.png")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["llm", "sdxl", "post", "sdxl-profile", "llm-kernels", "serve", "edit",
                                          "userpath", "userpath-child", "fp8", "levers", "render-profile",
                                          "to-image"])
    parser.add_argument("--mode", action="append", choices=USERPATH_MODES,
                        help="userpath: the fresh processes to run, in order (default: all)")
    parser.add_argument("--out", default=os.environ.get("OUT", ROOT / "bench" / "results"), type=Path)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile of the UNets (sdxl)")
    parser.add_argument("--compile-unets", action="store_true", help="compile the UNets in the post phase")
    parser.add_argument("--skip-policies", action="store_true", help="post and sdxl phases: only the fast path")
    parser.add_argument("--skip-fast", action="store_true", help="post phase: only the memory policies")
    args = parser.parse_args()
    global RESULTS_FILE
    args.out.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE = args.out / (f"bench-userpath-{args.mode[0]}.json" if args.phase == "userpath-child" else
                               f"bench-{args.phase}.json")
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:  # a phase that does not use it need not carry it
            return None
    log("gpu", torch.cuda.get_device_name(0))
    log("versions", {"torch": torch.__version__, **{name: version(name) for name in (
        "transformers", "diffusers", "bitsandbytes", "openai", "fastapi")}})
    WORK.mkdir(parents=True, exist_ok=True)
    if args.phase == "llm":
        llm_phase()
    elif args.phase == "post":
        post_phase(compile_unets=args.compile_unets, policies=not args.skip_policies, fast=not args.skip_fast)
    elif args.phase == "serve":
        serve_phase()
    elif args.phase == "llm-kernels":
        llm_kernels_phase()
    elif args.phase == "sdxl-profile":
        sdxl_profile_phase()
    elif args.phase == "edit":
        edit_phase()
    elif args.phase == "fp8":
        fp8_phase()
    elif args.phase == "levers":
        levers_phase()
    elif args.phase == "render-profile":
        render_profile_phase()
    elif args.phase == "to-image":
        to_image_phase()
    elif args.phase == "userpath":
        userpath_phase(args.mode or list(USERPATH_MODES))
    elif args.phase == "userpath-child":
        userpath_child(args.mode[0])
    else:
        sdxl_phase(compile_unets=not args.no_compile, policies=not args.skip_policies)


if __name__ == "__main__":
    main()
