"""The check every change to GPU code passes before it lands: the GPU-marked tests and the independent probe of the
user's path (a server's start, both compiled paths swapped in, then posts), on the GPU machine, in one call.

  python3 bench/gpu_check.py --probe DIR [--out DIR]

DIR holds the probe (userpath_gpu.py and setup_models.py). Writes gpu-check.json into --out (default $OUT or
bench/results): the commit (GPU_CHECK_COMMIT, or git's HEAD where the tree has its history), the GPU, torch, the
tests' pass/fail counts and the probe's start and post times. Exits non-zero where a test or a post failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.gettempdir()) / "studio-bench"  # where setup_models.py builds the random-weight models


def commit() -> str:
    if os.environ.get("GPU_CHECK_COMMIT"):
        return os.environ["GPU_CHECK_COMMIT"]
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip() or "unknown"


def gpu_test_files() -> list[str]:
    """The test modules that hold GPU-marked tests: only those are collected, since the others import what a GPU
    machine need not have (the web server, a browser driver)."""
    return sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests").glob("test_*.py")
                  if re.search(r"mark\.gpu\b", path.read_text()))


def tests(out: Path, select: str | None) -> subprocess.Popen:
    """The GPU-marked tests, in a process of their own (started first: they run beside the probe's set-up)."""
    log = open(out / "gpu-tests.log", "w")
    chosen = ["-k", select] if select else []
    return subprocess.Popen([sys.executable, "-m", "pytest", "-v", "-m", "gpu", "-p", "no:cacheprovider", *chosen,
                             *gpu_test_files()], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def counts(log: Path) -> dict:
    """Each test's outcome from pytest's verbose lines, which are there even where the run was cut short."""
    text = log.read_text(errors="replace")
    outcomes = dict(re.findall(r"^(tests/\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)", text, re.M))
    found = re.search(r"(\d+) selected", text)
    unfinished = int(found[1]) - len(outcomes) if found else 0
    # a module that could not be imported ran none of its tests
    outcomes.update({f"{name} (not imported)": "ERROR" for name in re.findall(r"^ERROR (tests/\S+\.py)\b", text, re.M)})
    result = {kind.lower(): sum(o == kind for o in outcomes.values()) for kind in ("PASSED", "FAILED", "SKIPPED")}
    result["errors"] = sum(o == "ERROR" for o in outcomes.values())
    result["unfinished"] = unfinished
    result["failures"] = sorted(test for test, o in outcomes.items() if o in ("FAILED", "ERROR"))
    return result


def probe(probe_dir: Path, out: Path, label: str, hard_s: int) -> dict:
    """One server start on the probe's path, with the full profile on the random-weight production models."""
    data = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    env = {**os.environ, "STUDIO_PROFILE": "full", "STUDIO_TEXT_MODEL": str(WORK / "llama3-8b"),
           "STUDIO_SDXL_BASE": str(WORK / "sdxl-base"), "STUDIO_SDXL_REFINER": str(WORK / "sdxl-refiner"),
           "STUDIO_SDXL_VAE": str(WORK / "sdxl-vae-fp16"), "STUDIO_DATA_DIR": str(data / "data"),
           "STUDIO_MODEL_CACHE": str(data / "cache"), "TORCHINDUCTOR_CACHE_DIR": str(data / "inductor"),
           "TRITON_CACHE_DIR": str(data / "triton"), "PROBE_HARD_S": str(hard_s), "PROBE_EXTRAS": "0",
           "PROBE_POSTS": os.environ.get("PROBE_POSTS", "3"), "OUT": str(out), "PYTHONUNBUFFERED": "1"}
    with open(out / f"probe-{label}.log", "w") as log:
        subprocess.run([sys.executable, str(probe_dir / "userpath_gpu.py"), "userpath", label], cwd=ROOT, env=env,
                       stdout=log, stderr=subprocess.STDOUT, timeout=hard_s + 30)
    result = json.loads((out / f"probe-{label}.json").read_text())
    posts = result.get("posts", [])
    jobs = [job for post in posts for job in post.values() if isinstance(job, dict)]
    return {"ready_s": result.get("ready_s"), "first_write": result.get("first_write", {}).get("write_done_at_s"),
            "images_1024_compiled": result.get("images_1024_compiled"),
            "acceleration": result.get("acceleration_state"),
            "posts": len(posts), "jobs_failed": sum(job.get("state") != "done" for job in jobs),
            "post_s": [post.get("post_s") for post in posts],
            "errors": sorted({job["error"][:200] for job in jobs if job.get("error")})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--probe", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ROOT / "bench" / "results")))
    parser.add_argument("--probe-hard-s", type=int, default=420)
    parser.add_argument("-k", dest="select", help="only the GPU tests pytest's -k selects (the rest unrun, and said)")
    parser.add_argument("--no-probe", action="store_true", help="the tests alone")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    import torch
    report = {"commit": commit(), "date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
              "torch": torch.__version__, "python": sys.version.split()[0]}
    started = time.perf_counter()
    running = tests(args.out, args.select)
    report["tests_selected"] = args.select or "all"
    setup = None if args.no_probe else subprocess.run([sys.executable, str(args.probe / "setup_models.py")], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(ROOT), "OUT": str(args.out)})
    if setup is not None:
        report["setup"] = setup.stdout.strip().splitlines()[-1:] if setup.returncode == 0 else setup.stderr[-1500:]
    report["probe_cold"] = probe(args.probe, args.out, "cold", args.probe_hard_s) if setup and not setup.returncode \
        else None
    try:
        running.wait(max(60.0, args.probe_hard_s + 120 - (time.perf_counter() - started)))
    except subprocess.TimeoutExpired:
        running.kill()
    report["tests"] = counts(args.out / "gpu-tests.log")
    report["seconds"] = round(time.perf_counter() - started, 1)
    cold = report["probe_cold"] or {}
    tests_ok = report["tests"]["failed"] + report["tests"]["errors"] + report["tests"]["unfinished"] == 0
    report["ok"] = tests_ok and (args.no_probe or (bool(cold) and cold["jobs_failed"] == 0 and cold["posts"] > 0))
    (args.out / "gpu-check.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
