"""The single GPU worker and out-of-memory recovery, with the tiny profile's real models."""
import threading
import time

import pytest

from core.content.brief import Brief
from core.studio.history import HistoryStore
from core.image.placement import MemoryPolicy
from core.image.sdxl import render_with_fallback
from core.image.settings import ImageSettings
from core.studio.jobs import render_post, write_post
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
