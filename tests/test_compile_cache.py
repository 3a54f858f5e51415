"""Compiled kernels kept with the studio's data: a second start loads what the first compiled, in fresh processes
whose own torch caches are empty, so only the file in the data folder can explain a hit."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.compile_cache import FOLDER, MAGIC, OLD_MAGIC, CompileCache, _parts
from core.profiles import Environment
from core.studio.root import Studio

ROOT = Path(__file__).parent.parent

# One start: what the data folder's cache restored, then a compile of each module named, with a save after each (as
# the studio saves after each size), as counts. The modules are shaped like the tiny UNet's two embeddings (linear,
# SiLU, linear: diffusers' TimestepEmbedding), built in plain torch so a start spends its seconds on the compiles, not
# on importing diffusers. "bare" writes torch's own blob instead, as earlier versions of the studio did.
START = """
import json, sys, torch
from pathlib import Path
from torch._dynamo.utils import counters
from core.compile_cache import CompileCache

cache = CompileCache(Path(sys.argv[1]))
restored = cache.restore()
held = sorted(cache.holds)
device = sys.argv[4]
mode = "reduce-overhead" if device == "cuda" else None  # on a GPU as the studio compiles its UNets
torch.manual_seed(0)
widths = {"time_embedding": 8, "add_embedding": 80}
saved = []
for name in sys.argv[2].split(","):
    width = widths[name]
    embedding = torch.nn.Sequential(torch.nn.Linear(width, 32), torch.nn.SiLU(), torch.nn.Linear(32, 32)).to(device)
    with torch.inference_mode():
        torch.compile(embedding, mode=mode)(torch.randn(2, width, device=device))
    if sys.argv[3] == "bare":
        cache.file.parent.mkdir(parents=True, exist_ok=True)
        cache.file.write_bytes(torch.compiler.save_cache_artifacts()[0])
    else:
        saved.append(cache.save(name))
print(json.dumps({"restored": restored, "held": held, "hits": counters["inductor"]["fxgraph_cache_hit"],
                  "misses": counters["inductor"]["fxgraph_cache_miss"], "saved_bytes": saved}))
"""
BOTH = "time_embedding,add_embedding"


def start(cache_folder: Path, torch_cache: Path, compile: str = BOTH, save: str = "cache", device: str = "cpu") -> dict:
    """One start in a fresh process whose torch caches (torch_cache) are its own. Inductor's check of which vector
    instructions build on this CPU is taken as passed (TORCHINDUCTOR_VEC_ISA_OK): in an empty torch cache it
    compiled its probes again in every start, most of a start's time, and it is no part of what is kept."""
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "TORCHINDUCTOR_CACHE_DIR": str(torch_cache),
           "TRITON_CACHE_DIR": str(torch_cache / "triton"), "TORCHINDUCTOR_VEC_ISA_OK": "1"}
    done = subprocess.run([sys.executable, "-c", START, str(cache_folder), compile, save, device],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def test_a_second_start_reuses_everything_the_first_saved(tmp_path, device):
    """Saved after each graph, as the studio saves after each size: the restart finds both (torch's own blob
    gave back only the last save's graphs, so a restart after five sizes compiled four again). On a GPU the
    graphs are Triton kernels replayed as CUDA graphs, as the studio's UNets are."""
    cache_folder = tmp_path / "data" / FOLDER
    first = start(cache_folder, tmp_path / "torch-cache-1", device=device)
    assert first["restored"] == 0 and first["misses"] == 2 and first["hits"] == 0
    assert all(n > 0 for n in first["saved_bytes"]) and first["saved_bytes"][1] > first["saved_bytes"][0]
    assert [f.name for f in cache_folder.iterdir()] == [CompileCache(cache_folder).file.name]
    size = CompileCache(cache_folder).file.stat().st_size
    assert first["saved_bytes"][-1] == size
    # a restart that uses one graph of the two (as one stopped before its last size) keeps the other in the file
    second = start(cache_folder, tmp_path / "torch-cache-2", "time_embedding", device=device)  # empty torch cache
    assert second["restored"] >= 2 and second["hits"] == 1 and second["misses"] == 0
    assert second["held"] == ["add_embedding", "time_embedding"]  # what the first compiled, named for the order
    third = start(cache_folder, tmp_path / "torch-cache-3", device=device)
    assert third["hits"] == 2 and third["misses"] == 0
    # a start that used every graph again writes them once: the file does not grow with every restart
    assert CompileCache(cache_folder).file.stat().st_size <= size * 1.05
    fourth = start(cache_folder, tmp_path / "torch-cache-4", device=device)
    assert fourth["hits"] == 2 and fourth["misses"] == 0


def test_a_file_cut_short_gives_back_what_came_before_the_cut(tmp_path):
    cache_folder = tmp_path / "data" / FOLDER
    start(cache_folder, tmp_path / "torch-cache-1", "time_embedding")
    second = start(cache_folder, tmp_path / "torch-cache-2", "add_embedding")  # the first's graph kept beside
    assert second["misses"] == 1
    file = CompileCache(cache_folder).file
    file.write_bytes(file.read_bytes()[:-100])  # the second start's part cut, as by a copy to Drive that stopped
    again = start(cache_folder, tmp_path / "torch-cache-3")
    assert again["hits"] == 1 and again["misses"] == 1


def test_files_of_the_earlier_forms_still_load(tmp_path):
    """A bare torch blob (the first studio), then blobs without names (the second): each restores its kernels and
    is rewritten in today's form."""
    cache_folder = tmp_path / "data" / FOLDER
    start(cache_folder, tmp_path / "torch-cache-1", "time_embedding", save="bare")
    again = start(cache_folder, tmp_path / "torch-cache-2")
    assert again["hits"] == 1 and again["misses"] == 1
    file = CompileCache(cache_folder).file
    assert file.read_bytes().startswith(MAGIC)  # rewritten in the new form
    names, blobs = _parts(file.read_bytes())
    assert names == {"time_embedding", "add_embedding"}
    file.write_bytes(OLD_MAGIC + b"".join(len(blob).to_bytes(8, "little") + blob for blob in blobs))
    third = start(cache_folder, tmp_path / "torch-cache-3")
    assert third["hits"] == 2 and third["misses"] == 0 and third["held"] == []


def test_a_damaged_cache_file_costs_a_compile_not_the_start(tmp_path):
    cache = CompileCache(tmp_path)
    cache.file.write_bytes(b"\x00not a cache" * 100)
    assert cache.restore() == 0
    assert cache.save() == 0 and cache.file.exists()  # nothing compiled here: the old file is left for the next


def test_damaged_names_cost_the_order_not_the_start(tmp_path):
    cache = CompileCache(tmp_path)
    names = b"{not json"
    cache.file.write_bytes(MAGIC + len(names).to_bytes(8, "little") + names)
    assert cache.restore() == 0 and cache.holds == set()


def test_the_cache_follows_the_data_folder(tmp_path, env):
    environment = Environment.read({**env, "STUDIO_PROFILE": "tiny", "STUDIO_DATA_DIR": str(tmp_path / "drive")})
    studio = Studio(environment, device="cpu")
    assert studio.compile_cache.folder == tmp_path / "drive" / FOLDER
