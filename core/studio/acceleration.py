"""The compiled paths, built beside the GPU lane once the models serve: a server takes jobs as soon as its models are
loaded (the plain paths, a few seconds slower per post), while a background thread compiles the decoding step and
the SDXL modules (the minutes) and each compiled path replaces its plain one between two jobs."""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum

from core.compile_cache import CompileCache
from core.image.sdxl import ImageModel
from core.studio.worker import GPUWorker
from core.text.engine import TextEngine
from core.text.local import TextModel

log = logging.getLogger(__name__)

# A compile thread waits for the lane to be idle, but never longer than PATIENCE_S at once (the lane may itself wait
# for a lock the compile holds, dynamo's own among them): then it runs GRANT_S before it waits again.
PATIENCE_S = 10.0
GRANT_S = 1.0


@contextmanager
def only_while_idle(idle: threading.Event, busy: threading.Event, patience_s: float = PATIENCE_S,
                    grant_s: float = GRANT_S) -> Iterator[None]:
    """Run the body, in this thread, only while the lane is idle: once the lane starts a job, this thread stops at
    its next Python or C call until the lane is idle again (idle and busy are the lane's two signals).

    Why: PyTorch releases the GIL around every operation, so beside a thread that compiles (pure Python for
    minutes) each of the lane's thousands of launches per step waits for the GIL again: renders served during the
    compile took 26-75 s instead of 2.8 s on an H200.

    How: a profile function that waits. From Python 3.12 a watcher sets it on every thread only when the lane
    turns busy; it removes itself from each thread on its first call, and the watcher clears what is left once the
    lane is idle (any other profiler running then is removed too), so the compile runs at full speed while the
    lane is idle. Before 3.12 a thread's profile function can only be set from that thread, so it stays on and
    checks every call: about 2x on the compile's Python with 3.11 (from 3.12 profiling goes through sys.monitoring
    and a check on every call cost a compile on an H200 more than 10x, so that path is for older Pythons only)."""
    me = threading.get_ident()
    if not hasattr(threading, "setprofile_all_threads"):
        with _checking_every_call(idle, patience_s, grant_s):
            yield
        return

    def wait_for_idle(frame, event, arg) -> None:
        sys.setprofile(None)  # one call per turn of the lane in each thread; the watcher sets it again
        if threading.get_ident() == me:
            idle.wait(patience_s)

    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not busy.wait(0.5):
                continue
            threading.setprofile_all_threads(wait_for_idle)
            threading.setprofile(None)  # threads started later are not concerned
            if idle.wait(patience_s + grant_s):  # else still busy: set it again, the compile had its grant
                clear_every_thread()

    def clear_every_thread() -> None:
        # threads blocked since it was set still hold it, and one profiled thread slows every thread's calls
        threading.setprofile_all_threads(None)
        threading.setprofile(None)

    watcher = threading.Thread(target=watch, name="accelerate-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        clear_every_thread()


@contextmanager
def _checking_every_call(idle: threading.Event, patience_s: float, grant_s: float) -> Iterator[None]:
    free_until = 0.0

    def wait_for_idle(frame, event, arg) -> None:
        nonlocal free_until
        if idle.is_set() or time.monotonic() < free_until:
            return
        if not idle.wait(patience_s):
            free_until = time.monotonic() + grant_s

    previous = sys.getprofile()
    sys.setprofile(wait_for_idle)  # this thread only
    try:
        yield
    finally:
        sys.setprofile(previous)


class Stage(str, Enum):
    COMPILING_TEXT = "compiling_text"
    COMPILING_IMAGES = "compiling_images"
    DONE = "done"


class Acceleration:
    """One background run over the loaded engines: the text model's compiled decoding step, then SDXL's compiled
    UNets and VAE decoder, the compile cache saved after each (so the next start restores them)."""

    def __init__(self, worker: GPUWorker, compile_cache: CompileCache, text: TextEngine | None,
                 image: ImageModel | None, patience_s: float = PATIENCE_S, grant_s: float = GRANT_S):
        self.worker = worker
        self.patience_s, self.grant_s = patience_s, grant_s
        self.compile_cache = compile_cache
        self.text = text if isinstance(text, TextModel) and text.compile_pending else None
        self.image = image if image is not None and image.compile_pending else None
        self.stage = Stage.COMPILING_TEXT if self.text else Stage.COMPILING_IMAGES if self.image else Stage.DONE
        self.applied: list[str] = []  # "text", "images": the compiled paths now serving
        self.failed: list[str] = []  # the ones that stay on the plain path
        self.seconds: dict[str, float] = {}  # how long each took, for the benchmark and the log
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        return self.stage is not Stage.DONE

    def start(self) -> "Acceleration":
        if self.pending and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="accelerate", daemon=True)
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every compiled path is in (or failed); whether it finished within timeout."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.pending

    def _run(self) -> None:
        try:
            if self.text is not None:
                self._timed("text", self._text)
            self.stage = Stage.COMPILING_IMAGES
            if self.image is not None:
                self._timed("images", lambda: self.image.compile_planned(self._while_idle))
        finally:
            self.stage = Stage.DONE

    def _timed(self, name: str, step) -> None:
        started = time.perf_counter()
        try:
            ok = step()
        except Exception as error:  # noqa: BLE001 - the plain path goes on serving; the log says why
            log.warning("compiling %s in the background failed: %s: %s", name, type(error).__name__, error)
            ok = False
        self.seconds[name] = round(time.perf_counter() - started, 1)
        (self.applied if ok else self.failed).append(name)
        if ok:
            self.compile_cache.save()

    def _while_idle(self):
        return only_while_idle(self.worker.idle, self.worker.busy, self.patience_s, self.grant_s)

    def _text(self) -> bool:
        """The compiled step built here; its CUDA graphs captured on the lane, between two jobs."""
        with self._while_idle():
            decoder = self.text.compile_decoder()
        if decoder is None:
            return False
        swap = self.worker.submit(lambda job: self.text.take_decoder(decoder), "accelerate", "server")
        self.worker.wait(swap)
        return bool(swap.result)
