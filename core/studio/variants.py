"""Variants: from one brief, a copy for each of several angles (benefit, emotion, urgency, social proof), each with
its own image candidates, written and rendered as one cancellable job on the GPU worker. Each variant is a draft of
its own, saved as it finishes and marked with its set, so the team compares them side by side and marks a
favourite image per draft."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from core.content.brief import ANGLES, Brief
from core.errors import SettingsError
from core.files import new_id
from core.image.engine import ImageEngine
from core.image.settings import ImageSettings
from core.studio.history import HistoryStore
from core.studio.jobs import render_post, write_post
from core.studio.progress import Progress
from core.studio.records import Draft
from core.text.engine import TextEngine

MIN_ANGLES, MAX_ANGLES = 2, 4
ORIGIN = "variants:{set_id}:{angle}"


@dataclass
class VariantsResult:
    set_id: str
    draft_ids: list[str] = field(default_factory=list)


def check_variants(angles: list[str], images: int) -> None:
    """A SettingsError naming the field unless angles holds 2 to 4 different known angles and images is 1 to 4
    (0: copy only)."""
    if len(set(angles)) != len(angles) or not MIN_ANGLES <= len(angles) <= MAX_ANGLES:
        raise SettingsError("angles", ", ".join(angles), "variant_angles", low=MIN_ANGLES, high=MAX_ANGLES)
    for angle in angles:
        if angle not in ANGLES:
            raise SettingsError("angles", angle, "not_one_of", allowed=", ".join(ANGLES))
    if not isinstance(images, int) or not 0 <= images <= ImageSettings.bound("candidates").high:
        raise SettingsError("images_per_variant", images, "out_of_range", low=0,
                            high=int(ImageSettings.bound("candidates").high))


def make_variants(progress: Progress, brief: Brief, angles: list[str], images: int, settings: ImageSettings,
                  text_model: Callable[[], TextEngine], image_model: Callable[[], ImageEngine], store: HistoryStore,
                  author: str) -> VariantsResult:
    """A draft per angle (its copy, visual prompt, and images candidates rendered with new seeds), each saved as it
    finishes; a cancel stops between steps and keeps what was saved."""
    # 1. check inputs
    check_variants(angles, images)
    result = VariantsResult(new_id())
    for angle in angles:
        # 2. the angle's copy and prompt, saved as a draft of the set
        progress.check_cancelled()
        written = write_post(progress, dataclasses.replace(brief, angle=angle), text_model, store, author,
                             origin=ORIGIN.format(set_id=result.set_id, angle=angle))
        result.draft_ids.append(written.draft_id)
        # 3. its image candidates
        if images:
            render_post(progress, written.draft_id, written.visual.prompt, written.visual.negative_prompt,
                        dataclasses.replace(settings, candidates=images, seed=None), image_model, store, author)
    return result


def variant_set(store: HistoryStore, set_id: str) -> list[Draft]:
    """The drafts of a variant set, in the order of ANGLES."""
    prefix = ORIGIN.format(set_id=set_id, angle="")
    drafts = [d for d in store.list_drafts() if d.origin.startswith(prefix)]
    return sorted(drafts, key=lambda d: ANGLES.index(d.brief.angle) if d.brief.angle in ANGLES else len(ANGLES))
