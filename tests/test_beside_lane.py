"""A thread beside the GPU lane runs only while the lane is idle, on the worker's own signals and under every
Python found here (3.12 and newer take another path than 3.11), and never waits past its patience."""
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.studio.beside_lane import only_while_idle
from core.studio.worker import GPUWorker

CHECK = Path(__file__).parent / "fixtures" / "beside_lane_check.py"


def pythons() -> list[str]:
    """This interpreter and any other CPython 3.11+ on the PATH that starts."""
    found = {sys.executable}
    for minor in range(11, 16):
        exe = shutil.which(f"python3.{minor}")
        if exe and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:
            found.add(exe)
    return sorted(found)


@pytest.mark.parametrize("python", pythons())
@pytest.mark.parametrize("patience_s", [30.0, 0.2])
def test_a_thread_beside_the_lane_stops_while_the_lane_runs_a_job(python, patience_s):
    run = subprocess.run([python, str(CHECK), str(patience_s)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    counts = json.loads(run.stdout)
    assert counts["idle"] > 10_000 and counts["after"] > 10_000  # runs freely while the lane is idle
    if patience_s > 1.0:  # stopped for the whole job: at most a few thousand calls slip in as the job starts
        assert counts["during"] < counts["idle"] / 20, counts
    else:  # a lane busy past the patience (or waiting on a lock this thread holds) never stops it for good
        assert counts["during"] > 0, counts
    assert not counts["profile_left"]


def count_calls(gate, counter: list[int], stop: threading.Event) -> None:
    def step():
        counter[0] += 1
    with gate:
        while not stop.is_set():
            step()


def wait_for_progress(counter: list[int], beyond: int, timeout: float = 10) -> bool:
    until = time.monotonic() + timeout
    while counter[0] <= beyond and time.monotonic() < until:
        time.sleep(0.01)
    return counter[0] > beyond


def test_the_workers_signals_pause_a_thread_beside_it():
    worker, counter, stop = GPUWorker("test-lane"), [0], threading.Event()
    beside = threading.Thread(target=count_calls,
                              args=(only_while_idle(worker.idle, worker.busy), counter, stop))
    beside.start()
    try:
        assert wait_for_progress(counter, 1000)
        during: list[int] = []

        def job(job):
            time.sleep(0.05)  # the beside thread stops at its next call once it is told
            before = counter[0]
            time.sleep(1.0)
            during.append(counter[0] - before)
        assert worker.wait(worker.submit(job, "render", "Ana"), 30)
        assert during[0] <= 2
        assert wait_for_progress(counter, counter[0] + 1000)  # and goes on once the lane is idle again
    finally:
        stop.set()
        beside.join(10)
    assert not beside.is_alive()
