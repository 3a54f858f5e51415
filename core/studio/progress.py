"""What a running step of the post flow reports and obeys, whichever face started it."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from core.errors import CoreError


class JobCancelled(CoreError):
    """The job was cancelled by its owner."""


class JobTimedOut(CoreError):
    """The job ran past its kind's time limit and was stopped (or abandoned, if it would not stop)."""

    code = "job_timeout"

    def __init__(self, label: str, limit_s: float):
        self.params = {"label": label, "minutes": round(limit_s / 60, 1)}
        super().__init__(f"the {label} job took longer than its {limit_s / 60:g}-minute limit and was stopped; "
                         f"the queue moved on")


@dataclass(kw_only=True)
class Progress:
    """Progress from 0 to 1, the text written so far, the phase (a code each face words in its language), and
    the owner's stop request. The worker's Job is one; the command line passes its own to print as it goes."""

    label: str = "the job"  # what it is, for messages
    progress: float = 0.0
    partial: str = ""
    phase: str = ""  # loading_text | writing | visual_prompt | loading_images | rendering
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the owner asked to stop; the flow calls this between tokens and steps."""
        if self.cancel_requested.is_set():
            raise JobCancelled(f"{self.label} was cancelled")

    def show_text(self, text: str) -> None:
        """The copy as written so far."""
        self.check_cancelled()
        self.partial = text

    def show_step(self, done: int, total: int) -> None:
        """A denoising step finished."""
        self.check_cancelled()
        self.progress = done / total
