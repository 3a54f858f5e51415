"""Built folders: processes that start together build a model folder once, and none deletes it under another."""
import subprocess
import sys
from pathlib import Path

from core.files import ensure_built

ROOT = Path(__file__).parents[1]

# One process: builds the folder (a build slow enough for every process to arrive while it runs, leaving a mark per
# builder), then "loads" it while the others finish: it must still be there, whole.
BUILD_AND_READ = """
import os, sys, time
from pathlib import Path
from core.files import ensure_built

def build(staging):
    time.sleep(1.0)
    (staging / "weights.bin").write_bytes(b"w" * 1024)
    with open(staging.parent / "builds.log", "a") as log:
        log.write(f"{os.getpid()}\\n")

built = ensure_built(Path(sys.argv[1]), build)
time.sleep(0.5)
print((built / "weights.bin").read_bytes() == b"w" * 1024)
"""


def test_processes_starting_together_build_a_folder_once_and_all_read_it(tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", BUILD_AND_READ, str(tmp_path / "model")], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, [err[-2000:] for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["True"] * 4
    assert len((tmp_path / "builds.log").read_text().splitlines()) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == [".model.lock", "builds.log", "model"]


def test_a_build_cut_off_before_it_completed_is_built_again(tmp_path):
    half = tmp_path / "model"
    half.mkdir()
    (half / "weights.bin").write_bytes(b"half")  # no .complete: the builder was killed mid-way
    ensure_built(half, lambda staging: (staging / "weights.bin").write_bytes(b"w" * 1024))
    assert (half / "weights.bin").read_bytes() == b"w" * 1024
    assert (half / ".complete").exists()
