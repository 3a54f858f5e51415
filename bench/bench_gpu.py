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
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.clip_tokens import clip_tokenizer  # noqa: E402
from core.image_generation import ImageModelSpec, ImageSettings, MemoryPolicy, load_image_model  # noqa: E402
from core.text_generation import TextModelSpec, load_text_model  # noqa: E402
from core.tiny_models import EULER_CONFIG, build_llama3_style_tokenizer  # noqa: E402

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


def llm_phase():
    path = WORK / "llama3-8b"
    ensure_llama(path)
    ids = torch.randint(1000, 100000, (1, PROMPT_TOKENS), device="cuda")
    # 1. load through core's loading code (NF4, double quant, bf16 compute); graph decoding off = the reference path
    torch.cuda.reset_peak_memory_stats()
    text, load_s = timed(lambda: load_text_model(TextModelSpec(str(path), quantize_4bit=True, graph_decode=False),
                                                 "cuda"))
    log("llm_nf4_load_s", round(load_s, 1))
    log("llm_nf4_weights_gib", gib(torch.cuda.memory_allocated()))
    model = text.model

    def reference(n):
        return model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=True, temperature=0.7, top_p=0.9,
                              pad_token_id=0)

    reference(8)
    out, dt = timed(lambda: reference(NEW_TOKENS))
    log("ref_generate_tok_s", round((out.shape[1] - PROMPT_TOKENS) / dt, 1))
    _, ttft = timed(lambda: reference(1))
    log("ref_ttft_ms", round(ttft * 1000, 1))
    # 2. the project's fast path: static cache + captured CUDA graph (plain, then with the step compiled)
    from core.fast_decode import GraphDecoder
    for tag, compile_step in (("graph", False), ("graph_compiled", True)):
        decoder, warm_s = timed(lambda: GraphDecoder.try_build(model, compile_step=compile_step))
        log(f"{tag}_warmup_s", round(warm_s, 2))
        if decoder is None:
            log(f"{tag}_error", "capture failed; see the log")
            continue
        time_decoder(decoder, ids, tag)
    log("llm_peak_gib", gib(torch.cuda.max_memory_allocated()))
    # 3. greedy output of both paths must agree on the first tokens (same function, different machinery)
    greedy_ref = model.generate(ids, max_new_tokens=16, do_sample=False, pad_token_id=0)[0, PROMPT_TOKENS:].tolist()
    greedy_fast = list(decoder.generate(ids, 16, [], 0.0, 1.0))
    log("greedy_prefix_agreement", sum(a == b for a, b in zip(greedy_ref, greedy_fast)))


# -- image -----------------------------------------------------------------------------------------------
def build_sdxl(base_dir: Path, refiner_dir: Path):
    from diffusers import (AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline,
                           StableDiffusionXLPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    with torch.device("cuda"):
        unet = UNet2DConditionModel(**config_of("sdxl_base_unet")).half()
        refiner_unet = UNet2DConditionModel(**config_of("sdxl_refiner_unet")).half()
        vae = AutoencoderKL(**config_of("sdxl_vae")).half()
        te1 = CLIPTextModel(CLIPTextConfig(**config_of("sdxl_text_encoder"))).half()
        te2 = CLIPTextModelWithProjection(CLIPTextConfig(**config_of("sdxl_text_encoder_2"))).half()
    with torch.no_grad():  # random weights scaled down so fp16 activations stay finite, as in the reference
        for module in (unet, refiner_unet, vae, te1, te2):
            for p in module.parameters():
                p.mul_(0.5)
    tok, tok2 = clip_tokenizer(), clip_tokenizer("!")
    StableDiffusionXLPipeline(vae=vae, text_encoder=te1, text_encoder_2=te2, tokenizer=tok, tokenizer_2=tok2,
                              unet=unet, scheduler=EulerDiscreteScheduler(**EULER_CONFIG)).save_pretrained(base_dir)
    StableDiffusionXLImg2ImgPipeline(vae=vae, text_encoder=None, text_encoder_2=te2, tokenizer=None, tokenizer_2=tok2,
                                     unet=refiner_unet, scheduler=EulerDiscreteScheduler(**EULER_CONFIG),
                                     requires_aesthetics_score=True, force_zeros_for_empty_prompt=False
                                     ).save_pretrained(refiner_dir)


PROMPT = "a steaming cup of coffee on a wooden table, morning light, photorealistic"
NEGATIVE = "blurry, low quality"


def ensure_sdxl() -> ImageModelSpec:
    """SDXL base + refiner with random weights, saved once; returns their spec."""
    base_dir, refiner_dir = WORK / "sdxl-base", WORK / "sdxl-refiner"
    if not (refiner_dir / "model_index.json").exists():
        build_sdxl(base_dir, refiner_dir)
        gc.collect()
        torch.cuda.empty_cache()
    return ImageModelSpec(str(base_dir), str(refiner_dir))


def sdxl_phase(compile_unets: bool):
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
    for attempt in range(2):
        _, dt = timed(lambda: model.render(PROMPT, NEGATIVE, settings))
        log(f"fast_sdxl_40steps_1024_s_{attempt}", round(dt, 2))
    log("fast_sdxl_peak_gib", gib(torch.cuda.max_memory_allocated()))
    images = model.render(PROMPT, NEGATIVE, settings)
    images[0].image.save(Path(os.environ.get("OUT", WORK)) / "random_sdxl.png")
    del model
    gc.collect()
    torch.cuda.empty_cache()
    # 3. memory policies (peak per step does not depend on the step count)
    for policy in (MemoryPolicy.MODEL_OFFLOAD, MemoryPolicy.SEQUENTIAL_OFFLOAD):
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


def post_phase(compile_unets: bool, policies: bool, fast: bool = True):
    """A whole post on one GPU: the T4 memory policy's peak, the low-VRAM policy's peak (where policies), and the
    end-to-end time of the fast path (UNets compiled where compile_unets; both at once do not fit one run)."""
    llama = WORK / "llama3-8b"
    ensure_llama(llama)
    spec = ensure_sdxl()
    ids = torch.randint(1000, 100000, (1, PROMPT_TOKENS), device="cuda")
    settings = ImageSettings(steps=40, seed=0)

    def post(text, images, steps=40, park=False):
        text.unpark()
        list(text.fast.generate(ids, 250, [], 0.7, 0.9))
        list(text.fast.generate(ids, 80, [], 0.3, 0.9))
        if park:  # what render_draft does under offload policies
            text.park()
        images.render(PROMPT, NEGATIVE, ImageSettings(steps=steps, seed=0))

    # 1. T4 policy: fp16 compute (no bf16), uncompiled graphs, SDXL model offload with the fp16-safe VAE
    for tag, policy, steps in (("t4_policy", MemoryPolicy.MODEL_OFFLOAD, 40),
                               ("low_vram_policy", MemoryPolicy.SEQUENTIAL_OFFLOAD, 3))[: 2 if policies else 0]:
        torch.cuda.reset_peak_memory_stats()
        text = load_text_model(TextModelSpec(str(llama), quantize_4bit=True), "cuda", dtype=torch.float16,
                               compile_step=False)
        images = load_image_model(spec, "cuda", policy)
        images.base.vae.register_to_config(force_upcast=False)
        post(text, images, 2, park=True)  # one round trip first: the second post pays the unpark
        torch.cuda.reset_peak_memory_stats()
        _, dt = timed(lambda: post(text, images, steps, park=True))
        log(f"{tag}_post_s_{steps}steps", round(dt, 2))
        log(f"{tag}_whole_pipeline_peak_gib", gib(torch.cuda.max_memory_allocated()))
        del text, images
        gc.collect()
        torch.cuda.empty_cache()
    if not fast:
        return
    # 2. H100 fast path end to end: compiled decode graph, bucketed prefill graphs, SDXL all on GPU, fp16 VAE
    text, warm = timed(lambda: load_text_model(TextModelSpec(str(llama), quantize_4bit=True), "cuda",
                                               compile_step=True))
    log("fast_text_load_and_warmup_s", round(warm, 1))
    time_decoder(text.fast, ids, "fast")
    images = load_image_model(spec, "cuda", MemoryPolicy.GPU)
    images.base.vae.register_to_config(force_upcast=False)
    log("sdxl_levers", images.accelerate(compile_unets=compile_unets))
    post(text, images, 4)
    for attempt in range(2):
        _, dt = timed(lambda: post(text, images))
        log(f"fast_post_end_to_end_s_{attempt}", round(dt, 2))
    _, dt = timed(lambda: images.render(PROMPT, NEGATIVE, settings))
    log(f"fast_sdxl_{'compiled' if compile_unets else 'uncompiled'}_40steps_s", round(dt, 2))
    log("fast_post_peak_gib", gib(torch.cuda.max_memory_allocated()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["llm", "sdxl", "post"])
    parser.add_argument("--out", default=os.environ.get("OUT", ROOT / "bench" / "results"), type=Path)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile of the UNets (sdxl)")
    parser.add_argument("--compile-unets", action="store_true", help="compile the UNets in the post phase")
    parser.add_argument("--skip-policies", action="store_true", help="post phase: only the fast path")
    parser.add_argument("--skip-fast", action="store_true", help="post phase: only the memory policies")
    args = parser.parse_args()
    global RESULTS_FILE
    args.out.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE = args.out / f"bench-{args.phase}.json"
    import bitsandbytes
    import diffusers
    import transformers
    log("gpu", torch.cuda.get_device_name(0))
    log("versions", {"torch": torch.__version__, "transformers": transformers.__version__,
                     "diffusers": diffusers.__version__, "bitsandbytes": bitsandbytes.__version__})
    WORK.mkdir(parents=True, exist_ok=True)
    if args.phase == "llm":
        llm_phase()
    elif args.phase == "post":
        post_phase(compile_unets=args.compile_unets, policies=not args.skip_policies, fast=not args.skip_fast)
    else:
        sdxl_phase(compile_unets=not args.no_compile)


if __name__ == "__main__":
    main()
