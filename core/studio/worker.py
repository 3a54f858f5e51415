"""One worker thread runs every model job in turn: pipelines and fast tokenizers never run twice at once."""
from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from core.errors import CoreError
from core.studio.progress import JobCancelled, Progress

log = logging.getLogger(__name__)


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(kw_only=True)
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
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def done(self) -> bool:
        return self.finished.is_set()

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the owner asked to stop; jobs call this from their progress callbacks."""
        if self.cancel_requested.is_set():
            raise JobCancelled(f"{self.label} was cancelled")


class GPUWorker:
    """A queue and a single thread. Submitting is thread-safe; results stay on the job after its session is gone."""

    def __init__(self, name: str = "gpu-worker"):
        self._jobs: list[Job] = []  # queued and running, in order
        self._by_id: dict[str, Job] = {}
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Job], Any], label: str, owner: str) -> Job:
        """Queue fn(job) behind every job already waiting; returns the job to watch."""
        job = Job(fn=fn, label=label, owner=owner)
        with self._changed:
            self._jobs.append(job)
            self._by_id[job.id] = job
            self._changed.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._changed:
            return self._by_id.get(job_id)

    def position(self, job: Job) -> int:
        """0 while running, 1 for the next in line, and so on; -1 once finished."""
        with self._changed:
            return self._jobs.index(job) if job in self._jobs else -1

    def cancel(self, job: Job) -> None:
        """A queued job is dropped and never runs; a running one stops at its next progress check."""
        job.cancel_requested.set()
        with self._changed:
            if job.state is JobState.QUEUED and job in self._jobs:
                self._jobs.remove(job)
                self._finish(job, JobState.CANCELLED, error=f"{job.label} was cancelled")

    def wait(self, job: Job, timeout: float | None = None) -> bool:
        return job.finished.wait(timeout)

    def _finish(self, job: Job, state: JobState, result=None, error: str | None = None) -> None:
        job.state, job.result, job.error = state, result, error
        job.finished.set()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._jobs:
                    self._changed.wait()
                job = self._jobs[0]
                job.state = JobState.RUNNING
            try:
                result = job.fn(job)
                self._finish(job, JobState.DONE, result)
            except JobCancelled as error:
                self._finish(job, JobState.CANCELLED, error=str(error))
            except CoreError as error:
                job.failure = error
                self._finish(job, JobState.FAILED, error=str(error))
            except torch.OutOfMemoryError:
                self._finish(job, JobState.FAILED, error="the GPU ran out of memory; try a smaller size or fewer "
                                                          "candidates")
            except Exception as error:  # the worker must outlive any job
                log.exception("job %s failed", job.label)
                self._finish(job, JobState.FAILED, error=f"unexpected error: {type(error).__name__}: "
                                                         f"{str(error)[:200]}")
            finally:
                with self._changed:
                    if job in self._jobs:
                        self._jobs.remove(job)
                    self._changed.notify_all()
