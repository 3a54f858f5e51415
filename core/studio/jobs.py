"""The studio's jobs: write a draft, render its image. Each saves its own result, so work finished after the
browser went away is still in the history."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.content.brief import Brief
from core.content.copywriting import CopyDraft, write_copy
from core.studio.history import HistoryStore
from core.image.sdxl import ImageModel, ImageSettings, MemoryPolicy, render_with_fallback
from core.memory import free_gpu_memory, retry_on_oom
from core.text.local import TextModel
from core.content.visual_prompt import VisualPrompt, write_visual_prompt
from core.studio.worker import Job


@dataclass
class WriteResult:
    draft_id: str
    copy: CopyDraft
    visual: VisualPrompt


@dataclass
class RenderResult:
    draft_id: str
    image_files: list[tuple[str, int]] = field(default_factory=list)  # (file name, seed)


def write_draft(job: Job, brief: Brief, text_model: TextModel, store: HistoryStore, author: str) -> WriteResult:
    """Copy, then the English visual prompt, then a saved draft. Progress and partial copy go on the job."""
    def on_text(text: str) -> None:
        job.check_cancelled()
        job.partial = text

    def run() -> tuple[CopyDraft, VisualPrompt]:
        draft = write_copy(brief, text_model, on_text=on_text)
        job.progress = 0.8
        job.check_cancelled()
        return draft, write_visual_prompt(brief, draft.text, text_model)

    def make_room() -> str | None:
        free_gpu_memory()  # cached blocks from an image job are the usual culprit
        return "freeing cached GPU memory"

    draft, visual = retry_on_oom(run, make_room, "text generation")
    draft_id = store.create_draft(brief, draft.text, visual.prompt, visual.negative_prompt, author)
    job.progress = 1.0
    return WriteResult(draft_id, draft, visual)


def render_draft(job: Job, draft_id: str, prompt: str, negative_prompt: str, settings: ImageSettings,
                 image_model: ImageModel, store: HistoryStore, author: str,
                 text_model: TextModel | None = None) -> RenderResult:
    """Render the images and save each as a new image version of the draft.

    On a small GPU (the image models offloaded) a loaded text model is parked in CPU memory first, so the two
    never need the card at once; its next request brings it back."""
    if text_model is not None and image_model.policy is not MemoryPolicy.GPU:
        text_model.park()
    def on_step(done: int, total: int) -> None:
        job.check_cancelled()
        job.progress = done / total

    rendered = render_with_fallback(image_model, prompt, negative_prompt, settings, on_step)
    result = RenderResult(draft_id)
    for image in rendered:
        number = store.add_image_version(draft_id, image, author)
        result.image_files.append((store.get(draft_id)["image_versions"][number - 1]["file"], image.seed))
    return result
