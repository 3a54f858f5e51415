"""Experiment: what the compile thread's waiting profile function (core.studio.acceleration.only_while_idle) costs a
compile while the lane is idle. Four Llama-3-8B layers with random weights compiled by inductor in a fresh process
per variant, with empty caches: no profile function; a profile function left on a blocked thread (the state the
Python 3.12 watcher leaves behind); one on the compiling thread itself (the path before Python 3.12).

Run on a CUDA machine from the repository root:  python bench/compile_beside_lane.py [--out DIR]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("none", "stale-thread", "every-call")


def compile_once(variant: str) -> float:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    config = json.loads((ROOT / "bench" / "architectures.json").read_text())["llama3_8b_instruct"]
    config = {key: value for key, value in config.items() if key != "class"}
    config = LlamaConfig(**{**config, "num_hidden_layers": 4})
    model = LlamaForCausalLM(config).to("cuda", torch.float16).eval()
    ids = torch.randint(0, config.vocab_size, (1, 64), device="cuda")
    blocked = threading.Event()
    if variant == "stale-thread":
        threading.Thread(target=blocked.wait, daemon=True).start()
        time.sleep(0.1)
        threading.setprofile_all_threads(lambda frame, event, arg: sys.setprofile(None))
        threading.setprofile(None)
    if variant == "every-call":
        idle = threading.Event()
        idle.set()
        sys.setprofile(lambda frame, event, arg: None if idle.is_set() else idle.wait(1))
    forward = torch.compile(model.forward, dynamic=False)
    started = time.perf_counter()
    with torch.inference_mode():
        forward(ids)
    torch.cuda.synchronize()
    sys.setprofile(None)
    blocked.set()
    return time.perf_counter() - started


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--variant":
        print(json.dumps({"compile_s": round(compile_once(sys.argv[2]), 1)}))
        return
    out = Path(sys.argv[sys.argv.index("--out") + 1]) if "--out" in sys.argv else ROOT / "bench" / "results"
    import torch
    results = {"gpu": torch.cuda.get_device_name(), "python": sys.version.split()[0], "torch": torch.__version__}
    for variant in VARIANTS:
        caches = tempfile.mkdtemp(prefix=f"compile-{variant}-")
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": f"{caches}/inductor", "TRITON_CACHE_DIR": f"{caches}/triton"}
        child = subprocess.run([sys.executable, __file__, "--variant", variant], env=env, capture_output=True,
                               text=True)
        lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
        results[variant] = json.loads(lines[-1]) if lines else {"error": child.stderr[-500:]}
        print(variant, results[variant], flush=True)
    (out / "bench-compile-beside-lane.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
