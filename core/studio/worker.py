"""One worker thread runs every model job in turn: pipelines and fast tokenizers never run twice at once."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
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
    timed_out: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the owner asked to stop; jobs call this from their progress callbacks."""
        if self.cancel_requested.is_set():
            raise JobCancelled(f"{self.label} was cancelled")


# Longest a job of each kind may run before it is stopped: loading and compiling the full profile takes minutes,
# a post seconds on a big GPU and a few minutes on a T4 with offloading.
TIME_LIMITS_S = {"warmup": 45 * 60, "write": 15 * 60, "render": 20 * 60}
DEFAULT_LIMIT_S = 20 * 60
GRACE_S = 30.0  # after the limit, how long a job has to notice it was stopped before it is abandoned
FINISHED_TTL_S = 3600.0  # a finished job nobody collected is forgotten after this long


class GPUWorker:
    """A queue and a single thread running one job at a time. Submitting is thread-safe; results stay on the job
    until its owner collects it (or an hour passes), after its session is gone too.

    A watchdog enforces each kind's time limit: the job is asked to stop and fails with a clear message; one that
    does not return within the grace period is abandoned and a fresh thread takes the queue over, so nothing a
    job does can stop the queue."""

    def __init__(self, name: str = "gpu-worker", limits: dict[str, float] | None = None,
                 grace_s: float = GRACE_S, finished_ttl_s: float = FINISHED_TTL_S):
        self.name = name
        self.limits = {**TIME_LIMITS_S, **(limits or {})}
        self.grace_s = grace_s
        self.finished_ttl_s = finished_ttl_s
        self.restarts = 0  # threads abandoned because a job would not return
        self._jobs: list[Job] = []  # queued and running, in order
        self._by_id: dict[str, Job] = {}
        self._finished_at: dict[str, float] = {}
        self._changed = threading.Condition()
        self._generation = 0
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
                self._finished_at.pop(job.id, None)

    def tracked(self) -> int:
        """How many jobs the worker still holds (queued, running, or finished and not yet collected)."""
        with self._changed:
            self._forget_expired()
            return len(self._by_id)

    def position(self, job: Job) -> int:
        """0 while running, 1 for the next in line, and so on; -1 once finished."""
        with self._changed:
            return self._jobs.index(job) if job in self._jobs else -1

    def cancel(self, job: Job) -> None:
        """A queued job is dropped and never runs; a running one stops at its next progress check, and whatever it
        returns after that is never handed to its owner."""
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
        self._finished_at[job.id] = time.monotonic()
        if job in self._jobs:
            self._jobs.remove(job)
        job.finished.set()
        self._changed.notify_all()

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for job_id, at in list(self._finished_at.items()):
            if now - at >= self.finished_ttl_s:
                self._by_id.pop(job_id, None)
                del self._finished_at[job_id]

    def _start_thread(self) -> None:
        self._generation += 1
        threading.Thread(target=self._loop, args=(self._generation,), name=self.name, daemon=True).start()

    # -- the worker thread ------------------------------------------------------------------------------------
    def _loop(self, generation: int) -> None:
        while True:
            with self._changed:
                while not self._jobs and self._generation == generation:
                    self._changed.wait()
                if self._generation != generation:
                    return  # abandoned while a job hung: a fresh thread has the queue
                job = self._jobs[0]
                job.state = JobState.RUNNING
                job.deadline = time.monotonic() + self.limit_of(job)
            state, result, error = self._run(job)
            with self._changed:
                if self._generation != generation or job.done:
                    return  # this job was already failed for running too long; its outcome is dropped
                if state is JobState.DONE and job.cancel_requested.is_set():
                    state, result, error = JobState.CANCELLED, None, f"{job.label} was cancelled"
                if job.timed_out:
                    timeout = JobTimedOut(job.label, self.limit_of(job))
                    state, result, error, job.failure = JobState.FAILED, None, str(timeout), timeout
                self._finish(job, state, result, error)

    def _run(self, job: Job) -> tuple[JobState, Any, str | None]:
        """Run one job; whatever it raises, even SystemExit or KeyboardInterrupt, fails that job alone."""
        try:
            return JobState.DONE, job.fn(job), None
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
                running = self._jobs[0] if self._jobs and self._jobs[0].state is JobState.RUNNING else None
                now = time.monotonic()
                if running is None or running.deadline is None:
                    self._changed.wait(1.0)
                    continue
                if now < running.deadline:
                    self._changed.wait(min(running.deadline - now, 1.0))
                    continue
                if not running.timed_out:  # past the limit: ask it to stop
                    running.timed_out = True
                    running.cancel_requested.set()
                    log.warning("job %s passed its %.0f s limit; asking it to stop", running.label,
                                self.limit_of(running))
                if now < running.deadline + self.grace_s:
                    self._changed.wait(min(running.deadline + self.grace_s - now, 1.0))
                    continue
                # it would not return: fail it, abandon its thread, and let a fresh one take the queue
                log.error("job %s did not stop within %.0f s of its limit; abandoning its thread", running.label,
                          self.grace_s)
                timeout = JobTimedOut(running.label, self.limit_of(running))
                running.failure = timeout
                self._finish(running, JobState.FAILED, error=str(timeout))
                self.restarts += 1
                self._start_thread()
