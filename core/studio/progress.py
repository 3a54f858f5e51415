"""What a running step of the post flow reports and obeys, whichever face started it."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from core.errors import CoreError


class JobCancelled(CoreError):
    """The job was cancelled by its owner."""

    code = "job_cancelled"


class JobTimedOut(CoreError):
    """The job ran past its kind's time limit and was stopped (or abandoned, if it would not stop)."""

    code = "job_timeout"

    def __init__(self, label: str, limit_s: float):
        super().__init__(label=label, minutes=f"{limit_s / 60:g}")


@dataclass(kw_only=True)
class Progress:
    """Progress from 0 to 1, the text written so far, the phase (a code each face words in its language), and
    the owner's stop request. The worker's Job is one; the command line passes its own to print as it goes."""

    label: str = "the job"  # what it is, for messages
    progress: float = 0.0
    partial: str = ""
    # "" while queued | downloading | loading_text | writing | checking | repairing | visual_prompt | saving |
    # loading_images | rendering
    phase: str = ""
    reasons: list = field(default_factory=list)  # while repairing: the broken rules that caused it
    step: tuple[int, int] = (0, 0)  # while rendering: denoising steps done, of how many
    download: object = None  # while downloading: the model's core.downloads.DownloadStatus
    items: tuple[int, int, int] | None = None  # a batch's items done, failed and left, shown beside the phase
    cancel_requested: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the owner asked to stop; the flow calls this between tokens and steps."""
        if self.cancel_requested.is_set():
            raise JobCancelled(label=self.label)

    def show_text(self, text: str) -> None:
        """The copy as written so far."""
        self.check_cancelled()
        self.partial = text

    def show_step(self, done: int, total: int) -> None:
        """A denoising step finished."""
        self.check_cancelled()
        self.step = (done, total)
        self.progress = done / total

    def show_download(self, status) -> None:
        """A model's files arriving (core.downloads.DownloadStatus); the model loads once they are all in."""
        self.phase, self.download, self.progress = "downloading", status, status.fraction

    def enter(self, phase: str, progress: float | None = None, reasons: list | None = None) -> None:
        """A new phase of the flow begins (reasons say why, for a repair)."""
        self.check_cancelled()
        self.phase, self.reasons = phase, list(reasons or ())
        if progress is not None:
            self.progress = progress
