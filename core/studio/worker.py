"""Lanes of model work: the GPU lane runs one job at a time so pipelines never run twice at once; a model server's
lane runs a few. Each job has a time limit, and nothing a job does can stop its lane."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from core.errors import CoreError
from core.studio.progress import JobCancelled, JobTimedOut, Progress

log = logging.getLogger(__name__)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(kw_only=True, eq=False)  # a job is itself: compared by identity
class Job(Progress):
    """A unit of model work. The worker fills state, result, error; the job reports progress and partial text."""

    fn: Callable[["Job"], Any]
    label: str
    owner: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: JobState = JobState.QUEUED
    result: Any = None
    error: str | None = None
    failure: CoreError | None = None  # the typed error behind error, for faces that word it themselves
    deadline: float | None = None  # time.monotonic() by which a running job must be done
    runner: int | None = None  # the lane thread running it
    started_at: float | None = None  # time.monotonic() when it started and finished running
    finished_at: float | None = None
    timed_out: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    _download_seen: float = 0.0  # when the last download report came

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    def show_download(self, status) -> None:
        """As Progress.show_download; time spent downloading a model does not count against the job's limit (a
        slow line fetching 30 GB is not a stuck job)."""
        now = time.monotonic()
        if self.deadline is not None and self.phase == "downloading":
            self.deadline += now - self._download_seen
        self._download_seen = now
        super().show_download(status)


class Handoff:
    """What a job returns when its model work is done but its result still needs work that no model does (saving
    files): the lane starts its next job at once while finish() runs on the lane's saving thread, in the order the
    jobs finished; finish()'s return value is the job's result."""

    def finish(self) -> Any:
        raise NotImplementedError


# Longest a job of each kind may run before it is stopped: loading and compiling the full profile takes minutes,
# a post seconds on a big GPU and a few minutes on a T4 with offloading.
# a catalog batch writes (and renders) up to 500 drafts in one job
TIME_LIMITS_S = {"warmup": 45 * 60, "write": 15 * 60, "render": 20 * 60, "edit": 20 * 60, "batch": 8 * 3600,
                 "variants": 60 * 60, "storyboard": 60 * 60}
DEFAULT_LIMIT_S = 20 * 60
GRACE_S = 30.0  # after the limit, how long a job has to notice it was stopped before it is abandoned
FINISHED_TTL_S = 3600.0  # a finished job nobody collected is forgotten after this long


class GPUWorker:
    """A lane: a queue and its threads (one for the GPU, so its pipelines never run twice at once; more for a
    model server that batches). Submitting is thread-safe; results stay on the job until its owner collects it
    (or an hour passes), after its session is gone too.

    A watchdog enforces each kind's time limit: the job is asked to stop and fails with a clear message; one that
    does not return within the grace period is abandoned and a fresh thread takes its place, so nothing a job
    does can stop the queue."""

    def __init__(self, name: str = "gpu-worker", limits: dict[str, float] | None = None,
                 grace_s: float = GRACE_S, finished_ttl_s: float = FINISHED_TTL_S, concurrency: int = 1):
        self.name = name
        self.limits = {**TIME_LIMITS_S, **(limits or {})}
        self.grace_s = grace_s
        self.finished_ttl_s = finished_ttl_s
        self.restarts = 0  # threads abandoned because a job would not return
        self._jobs: list[Job] = []  # queued and running, in order
        self._by_id: dict[str, Job] = {}
        self._changed = threading.Condition()
        self._live: set[int] = set()  # tokens of the threads serving the queue; an abandoned one drops out
        self._next_token = 0
        self._running = 0  # lane threads inside a job right now
        # whether a lane thread runs a job: CPU-heavy threads beside the lane (compiling) run only while idle
        self.idle, self.busy = threading.Event(), threading.Event()
        self.idle.set()
        # jobs' handoffs, one at a time in order; not daemon threads, so the interpreter finishes every queued
        # save before it exits
        self._finishing = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-saving")
        for _ in range(concurrency):
            self._start_thread()
        threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True).start()

    def submit(self, fn: Callable[[Job], Any], label: str, owner: str) -> Job:
        """Queue fn(job) behind every job already waiting; returns the job to watch."""
        job = Job(fn=fn, label=label, owner=owner)
        with self._changed:
            self._forget_expired()
            self._jobs.append(job)
            self._by_id[job.id] = job
            self._changed.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._changed:
            return self._by_id.get(job_id)

    def forget(self, job: Job) -> None:
        """The owner has read a finished job: drop it."""
        with self._changed:
            if job.done:
                self._by_id.pop(job.id, None)

    def tracked(self) -> int:
        """How many jobs the worker still holds (queued, running, or finished and not yet collected)."""
        with self._changed:
            self._forget_expired()
            return len(self._by_id)

    def position(self, job: Job) -> int:
        """0 while running, 1 for the next to start, and so on; -1 once finished."""
        with self._changed:
            if job not in self._jobs:
                return -1
            if job.state is JobState.RUNNING:
                return 0
            return 1 + [j for j in self._jobs if j.state is JobState.QUEUED].index(job)

    def cancel(self, job: Job) -> None:
        """A queued job is dropped and never runs; a running one stops at its next progress check, and whatever it
        returns after that is never handed to its owner, unless it says it saved finished work when stopped (a
        result whose interrupted names the cause: a write's complete first draft)."""
        job.cancel_requested.set()
        with self._changed:
            if job.state is JobState.QUEUED and job in self._jobs:
                self._jobs.remove(job)
                self._finish(job, JobState.CANCELLED, error=f"{job.label} was cancelled")

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        return job.finished.wait(timeout)

    def limit_of(self, job: Job) -> float:
        return self.limits.get(job.label, DEFAULT_LIMIT_S)

    # -- internals: call with self._changed held --------------------------------------------------------------
    def _finish(self, job: Job, state: JobState, result=None, error: str | None = None) -> None:
        job.state, job.result, job.error = state, result, error
        job.finished_at = time.monotonic()
        if job in self._jobs:
            self._jobs.remove(job)
        job.finished.set()
        self._changed.notify_all()

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for job in list(self._by_id.values()):
            if job.done and now - job.finished_at >= self.finished_ttl_s:
                del self._by_id[job.id]

    def _time_out(self, job: Job) -> None:
        timeout = JobTimedOut(job.label, self.limit_of(job))
        job.failure = timeout
        self._finish(job, JobState.FAILED, error=str(timeout))

    def _start_thread(self) -> None:
        self._next_token += 1
        self._live.add(self._next_token)
        threading.Thread(target=self._loop, args=(self._next_token,), name=self.name, daemon=True).start()

    # -- the worker thread ------------------------------------------------------------------------------------
    def _loop(self, token: int) -> None:
        while True:
            with self._changed:
                while token in self._live and not any(j.state is JobState.QUEUED for j in self._jobs):
                    self._changed.wait()
                if token not in self._live:
                    return  # abandoned while a job hung: a fresh thread took its place
                job = next(j for j in self._jobs if j.state is JobState.QUEUED)
                job.state = JobState.RUNNING
                job.runner = token
                job.started_at = time.monotonic()
                job.deadline = job.started_at + self.limit_of(job)
                self._running += 1
                self.idle.clear()
                self.busy.set()
            state, result, error = self._run(job, lambda: job.fn(job))
            with self._changed:
                self._running -= 1
                if not self._running:
                    self.busy.clear()
                    self.idle.set()
                if token not in self._live or job.done:
                    return  # this job was already failed for running too long; its outcome is dropped
                # a job that was stopped but saved what it had finished says so in its result, which is kept
                saved_anyway = state is JobState.DONE and bool(getattr(result, "interrupted", ""))
                if job.timed_out and not saved_anyway:
                    self._time_out(job)
                    continue
                if state is JobState.DONE and job.cancel_requested.is_set() and not saved_anyway:
                    state, result, error = JobState.CANCELLED, None, f"{job.label} was cancelled"
                if state is JobState.DONE and isinstance(result, Handoff):
                    job.runner = None  # no lane thread holds it any more: the watchdog never abandons one for it
                    self._finishing.submit(self._hand_off, job, result)
                    continue
                self._finish(job, state, result, error)

    def _hand_off(self, job: Job, handoff: Handoff) -> None:
        """Finish a job whose model work is done, off its lane; a cancel request that comes now is too late to
        undo it (the images exist), so the work is finished and kept."""
        job.phase = "saving"
        state, result, error = self._run(job, handoff.finish)
        with self._changed:
            if not job.done:  # else it was failed for running past its limit while it saved
                self._finish(job, state, result, error)

    def _run(self, job: Job, work: Callable[[], Any]) -> tuple[JobState, Any, str | None]:
        """Run one job's work; whatever it raises, even SystemExit or KeyboardInterrupt, fails that job alone."""
        try:
            return JobState.DONE, work(), None
        except JobCancelled as error:
            return JobState.CANCELLED, None, str(error)
        except CoreError as error:
            job.failure = error
            return JobState.FAILED, None, str(error)
        except torch.OutOfMemoryError:
            return JobState.FAILED, None, "the GPU ran out of memory; try a smaller size or fewer candidates"
        except BaseException as error:  # noqa: BLE001 - the worker must outlive any job
            log.error("job %s failed", job.label, exc_info=True)
            return JobState.FAILED, None, f"unexpected error: {type(error).__name__}: {str(error)[:200]}"

    # -- the watchdog -----------------------------------------------------------------------------------------
    def _watch(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                running = [j for j in self._jobs if j.state is JobState.RUNNING and j.deadline is not None]
                wake = [1.0]
                for job in running:
                    if now < job.deadline:
                        wake.append(job.deadline - now)
                        continue
                    if not job.timed_out:  # past the limit: ask it to stop
                        job.timed_out = True
                        job.cancel_requested.set()
                        log.warning("job %s passed its %.0f s limit; asking it to stop", job.label,
                                    self.limit_of(job))
                    if now < job.deadline + self.grace_s:
                        wake.append(job.deadline + self.grace_s - now)
                        continue
                    # it would not return: fail it, abandon its thread, and start a fresh one in its place
                    log.error("job %s did not stop within %.0f s of its limit; abandoning its thread", job.label,
                              self.grace_s)
                    self._time_out(job)
                    if job.runner is not None:  # a lane thread is stuck in it: replace that thread
                        self._live.discard(job.runner)
                        self.restarts += 1
                        self._start_thread()
                self._changed.wait(max(min(wake), 0.01))
