"""The arithmetic floor of a standard render: the floating-point operations of SDXL base + refiner at each size,
counted on PyTorch's meta device (no weights, no GPU), over a measured matrix-product ceiling.

Run from the repository root:  python bench/floor.py [--ceiling 798 | --measure-ceiling] [--out bench/results]
(--measure-ceiling times an 8192x8192x8192 fp16 matrix product on this machine's GPU first.)
No version of the render, however well compiled, runs much under operations / ceiling: every convolution,
attention and projection would have to run as fast as the largest square matrix product the GPU can do.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_gpu import ROOT, config_of  # noqa: E402
from core.image.settings import SDXL_SIZES, ImageSettings  # noqa: E402

# an 8192x8192x8192 bf16 matrix product on random data, the H100 of the benchmarks (device notes, 2026-11-13)
H100_CEILING_TFLOPS = 798.0


def counted(run) -> tuple[float, dict[str, float]]:
    """TFLOP of run() in total and by operation."""
    with FlopCounterMode(display=False) as counter:
        run()
    by_op = {str(op): round(n / 1e12, 3) for op, n in counter.get_flop_counts()["Global"].items()}
    return counter.get_total_flops() / 1e12, by_op


def measured_ceiling(n: int = 8192, runs: int = 20) -> float:
    """TFLOP/s of an n x n x n fp16 matrix product on random data on the GPU, the median of runs after warm-up."""
    a, b = (torch.randn(n, n, device="cuda", dtype=torch.half) for _ in range(2))
    for _ in range(3):
        a @ b
    times = []
    for _ in range(runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        a @ b
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return 2 * n**3 / sorted(times)[runs // 2] / 1e12


def unet_call(name: str, width: int, height: int, time_ids: int) -> tuple[float, dict[str, float]]:
    """One UNet call with classifier-free guidance (batch 2: the prompt and the negative prompt)."""
    from diffusers import UNet2DConditionModel
    unet = UNet2DConditionModel(**config_of(name)).half()
    latents = torch.randn(2, 4, height // 8, width // 8, dtype=torch.half)
    text = torch.randn(2, 77, unet.config.cross_attention_dim, dtype=torch.half)
    added = {"text_embeds": torch.randn(2, 1280, dtype=torch.half),
             "time_ids": torch.randn(2, time_ids, dtype=torch.half)}
    return counted(lambda: unet(latents, torch.tensor([500, 500]), text, added_cond_kwargs=added))


def vae_decode(width: int, height: int) -> tuple[float, dict[str, float]]:
    from diffusers import AutoencoderKL
    vae = AutoencoderKL(**config_of("sdxl_vae")).half()
    return counted(lambda: vae.decode(torch.randn(1, 4, height // 8, width // 8, dtype=torch.half)))


def text_encoders() -> float:
    """Both CLIP encoders over the prompt and the negative prompt, for base and refiner (the refiner reuses the
    second encoder)."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    tokens = torch.zeros(2, 77, dtype=torch.long)
    one = CLIPTextModel(CLIPTextConfig(**config_of("sdxl_text_encoder"))).half()
    two = CLIPTextModelWithProjection(CLIPTextConfig(**config_of("sdxl_text_encoder_2"))).half()
    first, _ = counted(lambda: one(tokens))
    second, _ = counted(lambda: two(tokens))
    return first + 2 * second


def floor(width: int, height: int, settings: ImageSettings, ceiling: float) -> dict:
    """Operations of one standard render at this size and the time they take at the ceiling."""
    base_steps = round(settings.steps * settings.refiner_switch)
    refiner_steps = settings.steps - base_steps
    base, base_ops = unet_call("sdxl_base_unet", width, height, time_ids=6)
    refiner, refiner_ops = unet_call("sdxl_refiner_unet", width, height, time_ids=5)
    decode, _ = vae_decode(width, height)
    encode = text_encoders()
    total = base_steps * base + refiner_steps * refiner + decode + encode
    return {"base_call_tflop": round(base, 2), "base_call_by_op": base_ops,
            "refiner_call_tflop": round(refiner, 2), "refiner_call_by_op": refiner_ops,
            "vae_decode_tflop": round(decode, 2), "text_encoders_tflop": round(encode, 3),
            "steps": {"base": base_steps, "refiner": refiner_steps},
            "render_tflop": round(total, 1), "floor_s": round(total / ceiling, 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ceiling", type=float, default=H100_CEILING_TFLOPS,
                        help="the GPU's matrix-product rate in TFLOP/s, measured")
    parser.add_argument("--measure-ceiling", action="store_true", help="time the GPU's matrix product first")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    if args.measure_ceiling:
        args.ceiling = round(measured_ceiling(), 1)
        print(f"{torch.cuda.get_device_name(0)}: {args.ceiling} TFLOP/s on an 8192^3 fp16 matrix product")
    settings = ImageSettings()  # the standard render: 40 steps, switch 0.8
    results = {"ceiling_tflops": args.ceiling,
               "gpu": torch.cuda.get_device_name(0) if args.measure_ceiling else "none (ceiling given)",
               "steps": settings.steps, "refiner_switch": settings.refiner_switch,
               "sizes": {}}
    with torch.device("meta"):
        for width, height in SDXL_SIZES:
            results["sizes"][f"{width}x{height}"] = row = floor(width, height, settings, args.ceiling)
            print(f"{width}x{height}: base call {row['base_call_tflop']} TFLOP, refiner call "
                  f"{row['refiner_call_tflop']}, VAE decode {row['vae_decode_tflop']}, render {row['render_tflop']} "
                  f"TFLOP -> floor {row['floor_s']} s at {args.ceiling:.0f} TFLOP/s", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "bench-floor.json" if args.measure_ceiling else "bench-floor-cpu.json"
    (args.out / name).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
