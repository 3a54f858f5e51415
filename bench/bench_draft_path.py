"""What a draft costs on the user's path beyond the model: write jobs through the studio's worker, timed against the
model's own time inside them, on this machine's CPU.

    python bench/bench_draft_path.py [--profile cpu-demo] [--drafts 6] [--out bench/results]

The studio is built as the app builds it (Studio, its worker and a real history folder) with the profile's real text
engine; the engine is wrapped so every piece it streams is timed while the model produces it. A job's overhead is
its time from submit to done less the model's time: the queue, the copy checks (language, channel rules, CLIP
tokens), the repair decision, the progress updates on every streamed piece and the saved draft. That work runs on
the CPU whatever the GPU, so this machine measures it; the model's own time is the GPU benchmarks' business.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.content.brief import Brief  # noqa: E402
from core.profiles import Environment  # noqa: E402
from core.studio.root import Studio  # noqa: E402
from core.text.engine import SamplingSettings, TextEngine  # noqa: E402

BRIEF = Brief(product="Café especial Serra Azul", audience="jovens profissionais", tone="divertido",
              keywords=["café", "manhã"], call_to_action="Peça já o seu",
              key_facts="R$ 39,90 o pacote de 500 g; frete grátis até domingo")


class ModelTime(TextEngine):
    """The real engine, with the seconds spent producing each streamed piece added up (the caller's own work
    between pieces is not counted)."""

    def __init__(self, engine: TextEngine):
        self.engine, self.name, self.seconds, self.pieces = engine, engine.name, 0.0, 0

    def stream(self, messages, max_new_tokens, sampling=SamplingSettings(), prefill="") -> Iterator[str]:
        pieces = self.engine.stream(messages, max_new_tokens, sampling, prefill)
        try:
            while True:
                started = time.perf_counter()
                try:
                    piece = next(pieces)
                except StopIteration:
                    return
                finally:
                    self.seconds += time.perf_counter() - started
                self.pieces += 1
                yield piece
        finally:
            pieces.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="cpu-demo", choices=["cpu-demo", "tiny"])
    parser.add_argument("--drafts", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="draft-path-"))
    studio = Studio(Environment.read({"STUDIO_PROFILE": args.profile, "STUDIO_DATA_DIR": str(data)}), device="cpu")
    studio.warm_checks().join()  # as a server does at start
    timed = ModelTime(studio.text_model())
    studio.install(text=timed)
    runs = []
    for attempt in range(args.drafts):
        before_s, before_pieces = timed.seconds, timed.pieces
        started = time.perf_counter()
        job = studio.write(BRIEF, "bench", "bench", SamplingSettings(seed=attempt))
        studio.text_lane.wait(job, 600)
        job_s = time.perf_counter() - started
        assert job.result is not None, job.error
        model_s = timed.seconds - before_s
        runs.append({"job_s": round(job_s, 3), "model_s": round(model_s, 3), "overhead_s": round(job_s - model_s, 3),
                     "pieces": timed.pieces - before_pieces, "repaired": job.result.copy.repair != "none"})
        print(runs[-1], flush=True)
    overheads = [run["overhead_s"] for run in runs]
    results = {"machine": f"{platform.processor() or platform.machine()}, {_cores()} cores",
               "python": platform.python_version(), "profile": args.profile, "engine": timed.name,
               "drafts": runs, "overhead_median_s": round(statistics.median(overheads), 3),
               "overhead_max_s": round(max(overheads), 3),
               "overhead_median_after_first_s": round(statistics.median(overheads[1:]), 3) if len(runs) > 1 else None}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"bench-draft-path-{args.profile}-cpu.json").write_text(json.dumps(results, indent=1))
    print(json.dumps({k: v for k, v in results.items() if k != "drafts"}, indent=1))


def _cores() -> int:
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()
