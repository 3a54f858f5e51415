"""CPU-heavy Python beside the GPU lane (compiling) that stops whenever the lane runs a job, so the lane's jobs never
wait for the GIL behind it."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
