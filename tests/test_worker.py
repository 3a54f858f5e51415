"""The single GPU worker and out-of-memory recovery, with the tiny profile's real models."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.content.brief import Brief
from core.studio.history import HistoryStore
from core.image.placement import MemoryPolicy
from core.image.sdxl import render_with_fallback
from core.image.settings import ImageSettings
from core.studio.jobs import render_images, render_post, write_post
from core.studio.storage import StoreError
from core.studio.worker import GPUWorker, JobState
from fake_engines import AlwaysOutOfMemory, OutOfMemoryOnGPUPolicy, copy_of

PROMPT = "a cup of coffee on a wooden table, morning light"


def test_jobs_from_two_threads_run_one_at_a_time_in_order(tiny_images, tiny_text, tmp_path):
    worker = GPUWorker()
    store = HistoryStore(tmp_path / "h")
    running = []
    overlap = []
    order = []
    lock = threading.Lock()

    def guarded(name, work):
        def fn(job):
            with lock:
                running.append(name)
                if len(running) > 1:
                    overlap.append(tuple(running))
            try:
                order.append(name)
                return work(job)
            finally:
                with lock:
                    running.remove(name)
        return fn

    brief = Brief(product="Café", call_to_action="Peça já")
    jobs = {}

    def submit_from_thread(name, work):
        jobs[name] = worker.submit(guarded(name, work), name, owner=name)

    blocker = threading.Event()
    first = worker.submit(guarded("first", lambda job: blocker.wait(10)), "first", "x")
    deadline = time.monotonic() + 30
    while first.started_at is None and time.monotonic() < deadline:  # on a loaded machine the lane starts late
        time.sleep(0.01)
    threads = [threading.Thread(target=submit_from_thread, args=("write", lambda job: write_post(
                   job, brief, lambda: tiny_text, store, "Ana"))),
               threading.Thread(target=submit_from_thread, args=("render", lambda job: render_post(
                   job, store.create_draft(brief, "c", PROMPT, "", "Bia"), PROMPT, "", ImageSettings(steps=2, seed=1),
                   lambda: tiny_images, store, "Bia")))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    doomed = worker.submit(guarded("doomed", lambda job: pytest.fail("a cancelled job ran")), "doomed", "y")
    assert worker.position(doomed) == 3 and worker.position(first) == 0
    worker.cancel(doomed)
    blocker.set()
    for job in (first, jobs["write"], jobs["render"], doomed):
        assert worker.wait(job, 120)
    assert jobs["write"].state is JobState.DONE and jobs["render"].state is JobState.DONE, (
        jobs["write"].error, jobs["render"].error)
    assert doomed.state is JobState.CANCELLED and "doomed" not in order
    assert order[0] == "first" and sorted(order[1:]) == ["render", "write"]
    assert not overlap
    assert len(store.list_drafts()) == 2  # both results were saved by the jobs themselves


def test_cancelling_a_running_render_stops_it(tiny_images, tmp_path):
    worker = GPUWorker()
    store = HistoryStore(tmp_path / "h")
    draft_id = store.create_draft(Brief(product="Café"), "c", PROMPT, "", "Ana")
    job = worker.submit(lambda job: render_post(job, draft_id, PROMPT, "", ImageSettings(steps=60, seed=1),
                                                 lambda: tiny_images, store, "Ana"), "render", "Ana")
    while job.progress == 0 and not job.done:
        time.sleep(0.05)
    worker.cancel(job)
    assert worker.wait(job, 60)
    assert job.state is JobState.CANCELLED
    assert store.get(draft_id).image_versions == ()


class SlowToSave(HistoryStore):
    """A store whose image saves wait until the test lets them go, like a slow disk."""

    def __init__(self, folder, saving: threading.Event, go: threading.Event):
        super().__init__(folder)
        self.saving, self.go = saving, go

    def add_image_version(self, *args, **kwargs):
        self.saving.set()
        assert self.go.wait(60)
        return super().add_image_version(*args, **kwargs)


def test_a_render_is_saved_off_the_gpu_lane_while_the_next_job_runs(tiny_images, tmp_path):
    worker = GPUWorker()
    saving, go = threading.Event(), threading.Event()
    store = SlowToSave(tmp_path / "h", saving, go)
    draft_id = store.create_draft(Brief(product="Café"), "c", PROMPT, "", "Ana")
    render = worker.submit(lambda job: render_images(job, draft_id, PROMPT, "", ImageSettings(steps=2, seed=4),
                                                     lambda: tiny_images, store, "Ana"), "render", "Ana")
    after = worker.submit(lambda job: "ran while the render was saving", "other", "Bia")
    assert worker.wait(after, 120), "the lane waited for the save"
    assert saving.is_set() and not render.done and render.phase == "saving" and worker.position(render) == 0
    go.set()
    assert worker.wait(render, 60) and render.state is JobState.DONE, render.error
    [(file_name, seed)] = render.result.image_files
    [version] = HistoryStore(tmp_path / "h").get(draft_id).image_versions  # another store object sees it
    assert (version.file, version.seed, seed) == (file_name, 4, 4) and store.image_path(file_name).stat().st_size


def test_a_save_that_fails_off_the_lane_fails_its_job_with_the_reason(tiny_images, tmp_path):
    worker = GPUWorker()
    store = HistoryStore(tmp_path / "h")
    draft_id = store.create_draft(Brief(product="Café"), "c", PROMPT, "", "Ana")
    store.images.rmdir()
    store.images.write_text("")  # a file where the images folder was: the disk refuses the PNG
    render = worker.submit(lambda job: render_images(job, draft_id, PROMPT, "", ImageSettings(steps=2),
                                                     lambda: tiny_images, store, "Ana"), "render", "Ana")
    assert worker.wait(render, 120)
    assert render.state is JobState.FAILED and isinstance(render.failure, StoreError), render.error
    assert store.get(draft_id).image_versions == () and store.images.read_text() == ""
    assert worker.wait(worker.submit(lambda job: 1, "other", "Bia"), 30)  # the lane goes on


SAVES_BEFORE_EXIT = """
import sys, time
from core.content.brief import Brief
from core.image.settings import ImageSettings
from core.profiles import load_images, resolve_profile
from core.studio.history import HistoryStore
from core.studio.jobs import render_images
from core.studio.worker import GPUWorker

class SlowDisk(HistoryStore):
    def add_image_version(self, *args, **kwargs):
        time.sleep(2)
        return super().add_image_version(*args, **kwargs)

images = load_images(resolve_profile("tiny", env={"STUDIO_MODEL_CACHE": sys.argv[1]}, device="cpu"))
store = SlowDisk(sys.argv[2])
draft_id = store.create_draft(Brief(product="Café"), "c", "a cup of coffee", "", "Ana")
worker = GPUWorker()
job = worker.submit(lambda job: render_images(job, draft_id, "a cup of coffee", "", ImageSettings(steps=2),
                                              lambda: images, store, "Ana"), "render", "Ana")
while job.phase != "saving":
    time.sleep(0.01)
print(draft_id, flush=True)
"""


def test_a_process_that_exits_while_a_render_is_saving_still_saves_it(tiny_images, model_cache, tmp_path):
    """The server stopped (Ctrl-C, a restart) a moment after a render finished: the image is in the history."""
    done = subprocess.run([sys.executable, "-c", SAVES_BEFORE_EXIT, str(model_cache), str(tmp_path / "h")],
                          capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent.parent,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert done.returncode == 0, done.stderr[-2000:]
    draft_id = done.stdout.split()[-1]
    [version] = HistoryStore(tmp_path / "h").get(draft_id).image_versions
    assert HistoryStore(tmp_path / "h").image_path(version.file).exists()


def test_out_of_memory_retries_with_a_more_frugal_policy(tiny_images):
    model = copy_of(tiny_images, OutOfMemoryOnGPUPolicy)
    [image] = render_with_fallback(model, PROMPT, "", ImageSettings(steps=2, seed=3))
    assert model.policy is MemoryPolicy.MODEL_OFFLOAD
    assert image.seed == 3 and image.image.size == (1024, 1024)


def test_out_of_memory_twice_is_a_clear_error_and_the_worker_goes_on(tiny_images):
    worker = GPUWorker()
    model = copy_of(tiny_images, AlwaysOutOfMemory)
    failing = worker.submit(lambda job: render_with_fallback(model, PROMPT, "", ImageSettings(steps=2)), "render", "a")
    after = worker.submit(lambda job: "still serving", "other", "b")
    assert worker.wait(after, 60)
    assert failing.state is JobState.FAILED
    assert "ran out of GPU memory even after switching to the model_offload memory policy" in failing.error
    assert after.state is JobState.DONE and after.result == "still serving"


def test_an_unexpected_exception_fails_only_its_job():
    worker = GPUWorker()
    broken = worker.submit(lambda job: 1 / 0, "broken", "a")
    fine = worker.submit(lambda job: 42, "fine", "b")
    assert worker.wait(fine, 10)
    assert broken.state is JobState.FAILED and "ZeroDivisionError" in broken.error
    assert fine.result == 42


def test_a_job_that_never_returns_is_abandoned_and_the_queue_moves_on():
    worker = GPUWorker(limits={"stuck": 0.5}, grace_s=0.5)
    forever = threading.Event()
    stuck = worker.submit(lambda job: forever.wait(), "stuck", "a")  # ignores every cancellation check
    after = worker.submit(lambda job: "served", "write", "b")
    assert worker.wait(after, 30), "the queue never moved on"
    assert stuck.state is JobState.FAILED and "limit" in stuck.error and stuck.failure.code == "job_timeout"
    assert after.state is JobState.DONE and after.result == "served"
    assert worker.restarts == 1
    forever.set()  # the abandoned thread returns at last: its outcome is dropped
    time.sleep(0.2)
    assert stuck.state is JobState.FAILED and stuck.result is None


def test_a_job_past_its_limit_that_checks_in_is_stopped_without_a_restart():
    worker = GPUWorker(limits={"slow": 0.3}, grace_s=30)

    def slow(job):
        while True:
            job.check_cancelled()
            time.sleep(0.02)
    job = worker.submit(slow, "slow", "a")
    assert worker.wait(job, 30)
    assert job.state is JobState.FAILED and "0.005-minute limit" in job.error
    assert worker.restarts == 0


@pytest.mark.parametrize("raised", [KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError])
def test_any_base_exception_fails_only_its_job(raised):
    worker = GPUWorker()

    def boom(job):
        raise raised("from inside a job")
    broken = worker.submit(boom, "broken", "a")
    fine = worker.submit(lambda job: 42, "fine", "b")
    assert worker.wait(fine, 10), "the worker thread died"
    assert broken.state is JobState.FAILED and raised.__name__ in broken.error
    assert fine.result == 42


def test_a_job_cancelled_while_running_is_never_reported_done():
    worker = GPUWorker()
    started, release = threading.Event(), threading.Event()

    def ignores_cancel(job):
        started.set()
        release.wait(10)
        return "result nobody asked for"
    job = worker.submit(ignores_cancel, "write", "a")
    started.wait(10)
    worker.cancel(job)
    release.set()
    assert worker.wait(job, 10)
    assert job.state is JobState.CANCELLED and job.result is None


def test_finished_jobs_are_forgotten_once_read_or_after_their_time():
    import tracemalloc
    worker = GPUWorker(finished_ttl_s=3600)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    jobs = [worker.submit(lambda job: "x" * 1000, "write", f"owner{i}") for i in range(2000)]
    assert worker.wait(jobs[-1], 60)
    read = jobs[:1000]
    for job in read:
        worker.forget(job)
    assert worker.tracked() == 1000  # the unread ones wait for their owners ...
    worker.finished_ttl_s = 0.0  # an hour later, as far as the worker can tell
    assert worker.tracked() == 0  # ... until their time is up
    del jobs, read, job
    retained = (tracemalloc.get_traced_memory()[0] - before) / 1e6
    tracemalloc.stop()
    print(f"2,000 jobs: {retained:.2f} MB retained after forgetting")
    assert retained < 1.0


def test_a_lane_of_two_runs_two_jobs_at_once_and_reports_true_positions():
    lane = GPUWorker("text-server", concurrency=2)
    release = threading.Event()
    both = threading.Barrier(2, timeout=10)

    def together(job):
        both.wait()  # fails (BrokenBarrierError) unless the two run at the same time
        release.wait(10)
        return "ok"
    first, second = lane.submit(together, "write", "a"), lane.submit(together, "write", "b")
    third = lane.submit(lambda job: "after", "write", "c")
    deadline = time.time() + 10
    while lane.position(second) != 0 and time.time() < deadline:
        time.sleep(0.01)
    assert (lane.position(first), lane.position(second), lane.position(third)) == (0, 0, 1)
    release.set()
    assert all(lane.wait(job, 10) for job in (first, second, third))
    assert [j.result for j in (first, second, third)] == ["ok", "ok", "after"]
