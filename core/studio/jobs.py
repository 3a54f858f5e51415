"""The post flow every face runs: write a draft (copy, English visual prompt, saved draft), then render its images
(saved as image versions), then edit them (each edit a new version). Each step saves its own result, so work
finished after the browser went away is still in the history; the studio runs these on the worker (where images are
saved off the GPU lane, as a Handoff), the command line and the bench call them directly."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from core.content import channels
from core.content.brief import Brief, ContentType
from core.content.channels import RULES
from core.content.copywriting import CopyDraft, RewriteInterrupted, write_copy
from core.content.visual_prompt import VisualPrompt, compose_from_brief, write_visual_prompt
from core.errors import CoreError
from core.image.editing import DEFAULT_STRENGTH, Edit, EditKind
from core.image.engine import ImageEngine, RenderedImage
from core.image.settings import ImageSettings
from core.memory import free_gpu_memory, retry_on_oom
from core.messages import Message
from core.studio.history import HistoryStore
from core.studio.progress import JobCancelled, Progress
from core.studio.storage import HistoryError
from core.studio.worker import Handoff
from core.text.engine import SamplingSettings, TextEngine


CHARS_PER_TOKEN = 4  # to estimate how far a streamed copy is from its token budget
PHASE_SHARE = {"writing": 0.6, "repairing": 0.25}  # of the write job's progress bar; the visual prompt takes the rest


@dataclass
class WriteResult:
    draft_id: str
    copy: CopyDraft
    visual: VisualPrompt
    interrupted: str = ""  # the code of what stopped the job after its first draft was saved (job_timeout, ...)


@dataclass
class RenderResult:
    draft_id: str
    image_files: list[tuple[str, int]] = field(default_factory=list)  # (file name, seed)
    images: list[RenderedImage] = field(default_factory=list)


def write_post(progress: Progress, brief: Brief, text_model: Callable[[], TextEngine], store: HistoryStore,
               author: str, sampling: SamplingSettings = SamplingSettings(), origin: str = "") -> WriteResult:
    """Copy, then the English visual prompt, then a saved draft. text_model() loads the engine on first use (and
    enters the loading_text phase when it has to); origin marks a batch's draft (Draft.origin)."""
    # 1. the engine (the first job of a server also loads it)
    engine = text_model()
    budget = RULES[brief.content_type].max_new_tokens * CHARS_PER_TOKEN

    def on_phase(phase: str, reasons: list) -> None:
        progress.enter(phase, {"writing": 0.0, "checking": None, "repairing": PHASE_SHARE["writing"]}[phase],
                       reasons)

    def on_text(text: str) -> None:
        progress.show_text(text)
        start = 0.0 if progress.phase == "writing" else PHASE_SHARE["writing"]
        share = PHASE_SHARE[progress.phase] if progress.phase in PHASE_SHARE else 0.0
        progress.progress = start + share * min(len(text) / budget, 1.0)

    def run() -> tuple[CopyDraft, VisualPrompt, str]:
        # 2. the copy, streamed, checked and repaired once
        try:
            draft = write_copy(brief, engine, on_text=on_text, sampling=sampling, on_phase=on_phase)
        except RewriteInterrupted as stopped:
            if isinstance(stopped.cause, torch.OutOfMemoryError):
                raise stopped.cause  # room is made and the whole copy written again
            # a cancel, the time limit or a failing server during the rewrite: the whole first draft is kept,
            # with a visual prompt from the brief (the model is not asked again), and says why
            cause = _cause(stopped.cause, progress)
            stopped.draft.interrupted = cause
            visual = compose_from_brief(brief)
            visual.notes.insert(0, Message("visual_interrupted"))
            return stopped.draft, visual, cause.code
        # 3. the English visual prompt
        progress.enter("visual_prompt", 0.85)
        return draft, write_visual_prompt(brief, draft.text, engine), ""

    def make_room() -> str | None:
        free_gpu_memory()  # cached blocks from an image job are the usual culprit
        return "freeing cached GPU memory"

    draft, visual, interrupted = retry_on_oom(run, make_room, "text generation")
    # 4. saved before anyone reads the result, so a closed tab loses nothing (even when the job was stopped:
    # enter() would raise then, and the first draft must still be saved)
    if interrupted:
        progress.phase = "saving"
    else:
        progress.enter("saving", 0.97)
    draft_id = store.create_draft(brief, draft.text, visual.prompt, visual.negative_prompt, author, engine.name,
                                  origin)
    progress.progress = 1.0
    return WriteResult(draft_id, draft, visual, interrupted)


def _cause(error: BaseException, progress: Progress) -> Message:
    """What stopped a job, as the team should read it: the time limit, a cancel, or the error itself."""
    if isinstance(error, JobCancelled):
        return Message("job_timeout_short" if getattr(progress, "timed_out", False) else "job_cancelled_short")
    if isinstance(error, CoreError):
        return error.message
    return Message("unexpected", {"error": f"{type(error).__name__}: {error}"})


@dataclass
class UnsavedImages(Handoff):
    """Images out of the engine, not yet in the history. finish() saves each as a new image version of the draft
    (PNG encoding, files synced, the history written): on the studio's worker that happens on the lane's saving
    thread, so the GPU starts the next job meanwhile; direct callers call it themselves."""

    draft_id: str
    images: list[RenderedImage]
    store: HistoryStore
    author: str
    lineage: dict = field(default_factory=dict)  # an edit's parent, kind, strength and mask

    def finish(self) -> RenderResult:
        result = RenderResult(self.draft_id, images=self.images)
        for image in self.images:
            version = self.store.add_image_version(self.draft_id, image, self.author, **self.lineage)
            result.image_files.append((version.file, image.seed))
        return result


def render_images(progress: Progress, draft_id: str, prompt: str, negative_prompt: str, settings: ImageSettings,
                  image_model: Callable[[], ImageEngine], store: HistoryStore, author: str,
                  text_model: TextEngine | None = None) -> UnsavedImages:
    """Render the images of a draft, to be saved as new image versions by the result's finish().

    On a small GPU (the image models offloaded) a loaded text model is parked in CPU memory first, so the two
    never need the card at once; its next request brings it back."""
    # 1. the models (the first render of a server also loads them)
    store.get(draft_id)  # an unknown draft fails before minutes of rendering
    model = image_model()
    if text_model is not None and model.needs_gpu_room():
        text_model.park()
    if settings.quality == "fast":  # its LoRA fetched (the download shown) and loaded the first time
        model.prepare_fast(progress.show_download)
    # 2. render, falling back to a more frugal memory policy on out-of-memory
    progress.enter("rendering", 0.0)
    rendered = model.render_reliably(prompt, negative_prompt, settings, progress.show_step)
    progress.enter("saving")
    return UnsavedImages(draft_id, rendered, store, author)


def render_post(progress: Progress, draft_id: str, prompt: str, negative_prompt: str, settings: ImageSettings,
                image_model: Callable[[], ImageEngine], store: HistoryStore, author: str,
                text_model: TextEngine | None = None) -> RenderResult:
    """render_images(), then each image saved as a new image version of the draft."""
    return render_images(progress, draft_id, prompt, negative_prompt, settings, image_model, store, author,
                         text_model).finish()


def edit_images(progress: Progress, draft_id: str, parent: int, kind: str, prompt: str, negative_prompt: str,
                settings: ImageSettings, image_model: Callable[[], ImageEngine], store: HistoryStore, author: str,
                text_model: TextEngine | None = None, strength: float = DEFAULT_STRENGTH, mask=None,
                target: tuple[int, int] | None = None) -> UnsavedImages:
    """Edit image version parent of a draft (a variation, a repainted region, an extension to another format);
    the result's finish() saves it as a new image version recording where it came from."""
    # 1. the source image and the edit, checked before any model loads
    _, source = store.source_image(draft_id, parent)
    edit = Edit(kind, source, strength=strength, mask=mask, target=target)
    model = image_model()
    if text_model is not None and model.needs_gpu_room():
        text_model.park()
    # 2. the edit, with the same out-of-memory fallback as a render
    progress.enter("rendering", 0.0)
    edited = model.edit_reliably(edit, prompt, negative_prompt, settings, progress.show_step, parent)
    progress.enter("saving")
    # 3. its lineage and mask go into the new version
    lineage = dict(parent=parent, edit=edit.kind.value, mask=edit.mask,
                   strength=edit.strength if edit.kind is EditKind.VARIATION else None)
    return UnsavedImages(draft_id, edited, store, author, lineage)


def edit_post(progress: Progress, draft_id: str, parent: int, kind: str, prompt: str, negative_prompt: str,
              settings: ImageSettings, image_model: Callable[[], ImageEngine], store: HistoryStore, author: str,
              text_model: TextEngine | None = None, strength: float = DEFAULT_STRENGTH, mask=None,
              target: tuple[int, int] | None = None) -> RenderResult:
    """edit_images(), then the result saved as a new image version."""
    return edit_images(progress, draft_id, parent, kind, prompt, negative_prompt, settings, image_model, store,
                       author, text_model, strength, mask, target).finish()


STORYBOARD_SIZE = (768, 1344)  # 9:16, the shape of Reels, TikTok and Shorts


def render_storyboard(progress: Progress, draft_id: str, settings: ImageSettings, text_model: Callable[[], TextEngine],
                      image_model: Callable[[], ImageEngine], store: HistoryStore, author: str) -> RenderResult:
    """An image for each scene of a video script draft, from the scene's own visual idea (an English prompt written
    for it, in the draft's kit style), each saved as an image version marked with its scene."""
    # 1. the scenes, checked before a model loads
    draft = store.get(draft_id)
    scenes = channels.parts_of(draft.copy.text, ContentType.VIDEO_SCRIPT).scenes
    if draft.brief.content_type is not ContentType.VIDEO_SCRIPT or not scenes:
        raise HistoryError("storyboard_no_scenes", value=draft.brief.product)
    engine = text_model()
    result = RenderResult(draft_id)
    for scene in scenes:
        # 2. the scene's English prompt, then its image
        progress.enter("visual_prompt")
        visual = write_visual_prompt(draft.brief, f"{scene.text}\nVisual: {scene.visual}", engine)
        unsaved = render_images(progress, draft_id, visual.prompt, visual.negative_prompt, settings, image_model,
                                store, author, engine)
        unsaved.lineage = {"scene": scene.number}
        done = unsaved.finish()
        result.image_files += done.image_files
        result.images += done.images
    return result
