"""Compiled kernels kept with the studio's data: a second start loads what the first compiled, in fresh processes
whose own torch caches are empty, so only the file in the data folder can explain a hit."""
import json
import os
import subprocess
import sys
from pathlib import Path

from core.compile_cache import FOLDER, CompileCache
from core.profiles import Environment
from core.studio.root import Studio

ROOT = Path(__file__).parent.parent

# One start: what the data folder's cache restored, then a compile of the tiny UNet's embeddings named (as the
# full profile compiles its UNets, a graph each), then the save; printed as counts.
START = """
import json, sys, torch
from pathlib import Path
from diffusers import UNet2DConditionModel
from torch._dynamo.utils import counters
from core.compile_cache import CompileCache

cache = CompileCache(Path(sys.argv[1]))
restored = cache.restore()
unet = UNet2DConditionModel.from_pretrained(sys.argv[2], subfolder="unet")
for name in sys.argv[3].split(","):
    embedding = getattr(unet, name)
    with torch.inference_mode():
        torch.compile(embedding)(torch.randn(2, embedding.linear_1.in_features))
print(json.dumps({"restored": restored, "hits": counters["inductor"]["fxgraph_cache_hit"],
                  "misses": counters["inductor"]["fxgraph_cache_miss"], "saved_bytes": cache.save()}))
"""


def start(cache_folder: Path, unet_folder: Path, torch_cache: Path, compile: str = "time_embedding") -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TORCHINDUCTOR_CACHE_DIR": str(torch_cache)}
    done = subprocess.run([sys.executable, "-c", START, str(cache_folder), str(unet_folder), compile],
                          capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_second_start_reuses_what_the_first_compiled(tiny_images, tmp_path):
    cache_folder, base = tmp_path / "data" / FOLDER, Path(tiny_images.spec.base)
    both = "time_embedding,add_embedding"
    first = start(cache_folder, base, tmp_path / "torch-cache-1", both)
    assert first["restored"] == 0 and first["misses"] == 2 and first["hits"] == 0 and first["saved_bytes"] > 0
    assert [f.name for f in cache_folder.iterdir()] == [CompileCache(cache_folder).file.name]
    full = CompileCache(cache_folder).file.read_bytes()
    # a restart that used one graph of the two (as one stopped before its last size) keeps the file whole
    second = start(cache_folder, base, tmp_path / "torch-cache-2", "time_embedding")  # its own torch cache is empty
    assert second["restored"] >= 2 and second["hits"] == 1 and second["misses"] == 0
    assert second["saved_bytes"] == 0 and CompileCache(cache_folder).file.read_bytes() == full
    third = start(cache_folder, base, tmp_path / "torch-cache-3", both)
    assert third["hits"] == 2 and third["misses"] == 0 and third["saved_bytes"] > 0


def test_a_damaged_cache_file_costs_a_compile_not_the_start(tmp_path):
    cache = CompileCache(tmp_path)
    cache.file.write_bytes(b"\x00not a cache" * 100)
    assert cache.restore() == 0
    assert cache.save() == 0 and cache.file.exists()  # nothing compiled here: the old file is left for the next


def test_the_cache_follows_the_data_folder(tmp_path, env):
    environment = Environment.read({**env, "STUDIO_PROFILE": "tiny", "STUDIO_DATA_DIR": str(tmp_path / "drive")})
    studio = Studio(environment, device="cpu")
    assert studio.compile_cache.folder == tmp_path / "drive" / FOLDER
