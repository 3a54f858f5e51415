"""History store benchmark on this machine's CPU and disk: milliseconds per operation as the history grows.

    python bench/bench_store.py [--sizes 100 1000 10000] [--out bench/results]

Each size gets a fresh folder holding that many drafts with three versions each (two copy versions and an image
version's prompt, so every draft carries copy, prompt and review history), written as an earlier layout and
migrated by the store itself. Then, through the store's own API: create_draft, add_comment and get (a store object
that has read the folder before, and a new one), and the history page's query (the first 50 drafts matching a
filter) cold in a new store object, warm, and right after another store object wrote a draft.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.content.brief import Brief  # noqa: E402
from core.files import new_id  # noqa: E402
from core.studio.history import HistoryStore  # noqa: E402

PAGE = 50
PRODUCTS = ["Café Serra Azul", "Tênis Corre+", "Bolo de fubá", "Cerveja Vale", "Curso de inglês", "Plano Fibra"]


def draft_document(i: int, rng: random.Random) -> dict:
    at = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T12:{i % 60:02d}:00+00:00"
    product = f"{rng.choice(PRODUCTS)} {i}"
    author = rng.choice(["Ana", "Bia", "Caio", "Davi", "Eva"])
    copy = " ".join(rng.choice(["café", "manhã", "sabor", "oferta", "novo", "Peça já", "#cafe", "frete"])
                    for _ in range(rng.randint(40, 160)))
    return {
        "id": new_id(), "created_at": at, "created_by": author, "updated_at": at,
        "brief": Brief(product=product, call_to_action="Peça já").to_dict(),
        "state": rng.choice(["draft", "in_review", "approved", "changes_requested"]), "archived": False,
        "copy_versions": [{"n": n, "text": copy + f" v{n}", "author": author, "at": at, "source": "model"}
                          for n in (1, 2)],
        "prompt_versions": [{"n": 1, "prompt": f"a photo of {product}, morning light", "negative_prompt": "blurry",
                             "author": author, "at": at, "source": "model"}],
        "image_versions": [{"n": 1, "file": f"{new_id()}.png", "seed": i, "width": 1024, "height": 1024,
                            "steps": 40, "guidance": 7.0, "use_refiner": True, "refiner_switch": 0.8,
                            "models": ["base", "refiner"], "test_weights": False, "prompt_version": 1,
                            "author": author, "at": at}],
        "state_history": [], "comments": [],
    }


def median_ms(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {"median_ms": round(statistics.median(ms), 2), "p90_ms": round(ms[int(len(ms) * 0.9) - 1], 2),
            "n": len(ms)}


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def page(store: HistoryStore, **filters) -> list:
    return store.list_drafts(**filters)[:PAGE]


def measure(size: int, work: Path) -> dict:
    rng = random.Random(size)
    folder = work / f"history-{size}"
    folder.mkdir(parents=True)
    documents = [draft_document(i, rng) for i in range(size)]
    (folder / "history.json").write_text(json.dumps(
        {"drafts": {str(i + 1): d for i, d in enumerate(documents)}, "meta": {"1": {"schema_version": 1}}}))
    result: dict = {"drafts": size, "file_mb": round((folder / "history.json").stat().st_size / 1e6, 1)}
    result["migrate_s"] = round(timed(lambda: HistoryStore(folder)), 2)
    ids = [d["id"] for d in documents]

    cold = HistoryStore(folder)
    result["page_cold"] = median_ms([timed(lambda: page(cold, text="café"))])
    store = HistoryStore(folder)
    page(store)
    result["page_text_filter_warm"] = median_ms([timed(lambda: page(store, text="sabor oferta")) for _ in range(10)])
    result["page_state_filter_warm"] = median_ms([timed(lambda: page(store, state="in_review")) for _ in range(10)])
    other = HistoryStore(folder)

    def after_other_writes():
        other.create_draft(Brief(product="outro processo"), "c", "p", "n", "Eva")
        return timed(lambda: page(store, text="café"))
    result["page_after_another_writer"] = median_ms([after_other_writes() for _ in range(10)])

    brief = Brief(product="Café Serra Azul", call_to_action="Peça já")
    result["create_draft"] = median_ms([timed(lambda: store.create_draft(brief, "Café bom. Peça já!", "a cup",
                                                                         "blurry", "Ana")) for _ in range(50)])
    result["add_comment"] = median_ms([timed(lambda: store.add_comment(rng.choice(ids), "Ficou ótimo", "Bia"))
                                       for _ in range(50)])
    result["get_warm"] = median_ms([timed(lambda: store.get(rng.choice(ids))) for _ in range(200)])
    fresh = HistoryStore(folder)
    result["get_new_store_object"] = median_ms([timed(lambda: fresh.get(rng.choice(ids))) for _ in range(50)])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                          f"python {platform.python_version()}", "sizes": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as work:
        for size in args.sizes:
            result = measure(size, Path(work))
            results["sizes"].append(result)
            print(json.dumps(result), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench-store-cpu.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
