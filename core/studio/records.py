"""The history's records: a draft with its copy, prompt and image versions, review states and comments.

Each record's shape lives here once; the store reads and writes them, pages and exports read them. A stored
document that does not have the shape is a RecordError naming the draft and the field, never a crash."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from core.content.brief import Brief
from core.errors import CoreError
from core.image.settings import ImageSettings


class ReviewState(str, Enum):
    """Where a draft stands in the team's review."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"

    @property
    def next_states(self) -> frozenset["ReviewState"]:
        """The states a draft in this state may move to."""
        return TRANSITIONS[self]


TRANSITIONS = {
    ReviewState.DRAFT: frozenset({ReviewState.IN_REVIEW}),
    ReviewState.IN_REVIEW: frozenset({ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED, ReviewState.DRAFT}),
    ReviewState.CHANGES_REQUESTED: frozenset({ReviewState.IN_REVIEW, ReviewState.DRAFT}),
    ReviewState.APPROVED: frozenset({ReviewState.IN_REVIEW}),
}


class RecordError(CoreError):
    """A stored draft that does not have the shape this app writes."""

    def __init__(self, draft_id: str, field_name: str, reason: str):
        self.draft_id = draft_id
        self.field = field_name
        super().__init__("record_unreadable", value=draft_id, field=field_name, reason=reason)


IMAGE_NAME = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}(?:-mask)?\.png$")  # an image, or an edit's mask
# the plain types a record's fields are annotated with, as the stored JSON holds them
_PLAIN = {"int": int, "str": str, "bool": bool, "float": (int, float), "None": type(None)}


def _check_fields(record) -> None:
    """A TypeError naming the first field whose value is not of its annotated plain type (int, str, float, bool,
    None, tuple of str): a stored record is JSON anyone could have edited, and a face must never meet a list where
    it expects a text. Fields of richer types check themselves."""
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        kinds = item.type.split(" | ")
        if "tuple[str, ...]" in kinds:
            if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
                continue
        elif all(kind in _PLAIN for kind in kinds):
            if any(isinstance(value, _PLAIN[kind]) and not (isinstance(value, bool) and kind in ("int", "float"))
                   for kind in kinds):
                continue
        else:
            continue
        raise TypeError(f"{item.name} must be {item.type}, not {str(value)[:60]!r}")


def _check_file(name: str, value: str, empty_allowed: bool = False) -> None:
    """Image names are ids the store generated: anything else (a path, ../) would reach outside its folder."""
    if not (empty_allowed and value == "") and not IMAGE_NAME.match(value):
        raise ValueError(f"{name} is not an image name this studio writes: {value[:60]!r}")


def now() -> str:
    """The time records are stamped with: UTC, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CopyVersion:
    n: int
    text: str
    author: str
    at: str
    source: str = "model"  # model | edit
    model: str = ""  # the engine and model that wrote it ("" for a hand edit)

    def __post_init__(self):
        _check_fields(self)


@dataclass(frozen=True)
class PromptVersion:
    n: int
    prompt: str
    negative_prompt: str
    author: str
    at: str
    source: str = "model"  # model | edit
    model: str = ""  # the engine and model that wrote it ("" for a hand edit)

    def __post_init__(self):
        _check_fields(self)


@dataclass(frozen=True)
class ImageVersion:
    """A rendered image of a draft: its file, the settings that made it, and the prompt version it used."""

    n: int
    file: str
    seed: int | None
    prompt_version: int
    author: str
    at: str
    settings: ImageSettings = ImageSettings()
    models: tuple[str, ...] = ()
    test_weights: bool = False
    parent: int | None = None  # the image version an edit started from; None for a render from the prompt
    edit: str = ""  # "" (a render) | variation | inpaint | extend | upload (the team's own image, no seed)
    strength: float | None = None  # a variation's strength
    mask_file: str = ""  # a PNG beside the image: an inpainting's mask (white repainted), an upload's cut-out
    # (white where the file was opaque: the product)
    scene: int | None = None  # the video script's scene this image shows, for a storyboard

    def __post_init__(self):
        _check_fields(self)
        _check_file("file", self.file)
        _check_file("mask_file", self.mask_file, empty_allowed=True)

    def to_dict(self) -> dict:
        settings = {k: v for k, v in self.settings.to_dict().items() if k not in ("seed", "candidates")}
        lineage = {"parent": self.parent, "edit": self.edit, "strength": self.strength,
                   "mask_file": self.mask_file} if self.edit else {}
        return {"n": self.n, "file": self.file, "seed": self.seed, **settings, "models": list(self.models),
                "test_weights": self.test_weights, "prompt_version": self.prompt_version, "author": self.author,
                "at": self.at, **lineage, **({"scene": self.scene} if self.scene is not None else {})}

    @classmethod
    def from_dict(cls, data: dict) -> "ImageVersion":
        return cls(n=data["n"], file=data["file"], seed=data.get("seed"), prompt_version=data["prompt_version"],
                   author=data["author"], at=data["at"], settings=ImageSettings.from_dict(
                       {k: v for k, v in data.items() if k not in ("seed", "candidates")}),
                   models=tuple(data.get("models", ())), test_weights=bool(data.get("test_weights", False)),
                   parent=data.get("parent"), edit=data.get("edit", ""), strength=data.get("strength"),
                   mask_file=data.get("mask_file", ""), scene=data.get("scene"))


@dataclass(frozen=True)
class CreativeVersion:
    """A finished creative of a draft: an image version with the headline, CTA and logo laid over it at a channel's
    size, and what was measured on it."""

    n: int
    file: str
    format: str  # a name in core.image.creative.FORMATS
    image_version: int
    headline: str
    cta: str
    template: str
    author: str
    at: str
    contrast: float  # the headline's WCAG contrast ratio, scrim included
    scrim: bool

    def __post_init__(self):
        _check_fields(self)
        _check_file("file", self.file)


@dataclass(frozen=True)
class StateChange:
    """A move along the review flow, or an archive/restore (same state, with event set)."""

    from_state: ReviewState
    to_state: ReviewState
    author: str
    at: str
    event: str | None = None

    def to_dict(self) -> dict:
        data = {"from": self.from_state.value, "to": self.to_state.value, "author": self.author, "at": self.at}
        return {**data, "event": self.event} if self.event else data

    @classmethod
    def from_dict(cls, data: dict) -> "StateChange":
        return cls(ReviewState(data["from"]), ReviewState(data["to"]), data["author"], data["at"], data.get("event"))


@dataclass(frozen=True)
class Comment:
    author: str
    text: str
    at: str

    def __post_init__(self):
        _check_fields(self)


@dataclass(frozen=True)
class Draft:
    """One piece of content with every version the team made of it."""

    id: str
    created_at: str
    created_by: str
    updated_at: str
    brief: Brief
    state: ReviewState = ReviewState.DRAFT
    archived: bool = False
    deleted: bool = False  # in the bin: out of every list but the bin's, restorable until someone purges it
    copy_versions: tuple[CopyVersion, ...] = ()
    prompt_versions: tuple[PromptVersion, ...] = ()
    image_versions: tuple[ImageVersion, ...] = ()
    state_history: tuple[StateChange, ...] = ()
    comments: tuple[Comment, ...] = field(default_factory=tuple)
    creative_versions: tuple[CreativeVersion, ...] = ()
    favorite: int | None = None  # the image version the team picked: what exports and reviews show first
    origin: str = ""  # "BATCH_ID:ITEM" for a draft a catalog batch wrote, so a resumed batch never writes it twice
    copied_from: str = ""  # the draft this one duplicates, so every list can tell the two apart

    def __post_init__(self):
        _check_fields(self)

    @property
    def copy(self) -> CopyVersion:
        """The newest copy version."""
        return self.copy_versions[-1]

    @property
    def prompt(self) -> PromptVersion:
        """The newest visual-prompt version."""
        return self.prompt_versions[-1]

    def prompt_version(self, n: int) -> PromptVersion:
        """Prompt version n, or the newest where n is unknown."""
        return next((p for p in self.prompt_versions if p.n == n), self.prompt)

    def image_version(self, n: int) -> ImageVersion | None:
        """Image version n, if the draft has it."""
        return next((v for v in self.image_versions if v.n == n), None)

    def new_image_settings(self) -> ImageSettings:
        """Settings for one more image of the draft: its newest image's (the defaults where it has none), one
        image, a new seed."""
        settings = self.image_versions[-1].settings if self.image_versions else ImageSettings()
        return dataclasses.replace(settings, seed=None, candidates=1)

    def matching_prompt_version(self, prompt: str, negative_prompt: str) -> int | None:
        """The newest prompt version with exactly this prompt pair, if any."""
        for version in reversed(self.prompt_versions):
            if version.prompt == prompt and version.negative_prompt == negative_prompt:
                return version.n
        return None

    def changed(self, **changes) -> "Draft":
        """A copy with the changes applied and updated_at stamped now."""
        return dataclasses.replace(self, **changes, updated_at=now())

    def to_dict(self) -> dict:
        """The stored form: plain JSON values, keys as the schema names them."""
        return {
            "id": self.id, "created_at": self.created_at, "created_by": self.created_by,
            "updated_at": self.updated_at, "brief": self.brief.to_dict(), "state": self.state.value,
            "archived": self.archived, "deleted": self.deleted,
            "copy_versions": [dataclasses.asdict(v) for v in self.copy_versions],
            "prompt_versions": [dataclasses.asdict(v) for v in self.prompt_versions],
            "image_versions": [v.to_dict() for v in self.image_versions],
            "state_history": [s.to_dict() for s in self.state_history],
            "comments": [dataclasses.asdict(c) for c in self.comments],
            "creative_versions": [dataclasses.asdict(c) for c in self.creative_versions],
            "favorite": self.favorite, "origin": self.origin,
            **({"copied_from": self.copied_from} if self.copied_from else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Draft":
        """A draft from its stored form, or a RecordError naming the field that is missing or malformed."""
        draft_id = str(data.get("id", "?")) if isinstance(data, dict) else "?"
        if not isinstance(data, dict):
            raise RecordError(draft_id, "record", f"must be an object, not {type(data).__name__}")
        current = "id"
        try:
            current = "brief"
            brief = Brief.from_dict(data["brief"])
            current = "state"
            state = ReviewState(data["state"])
            lists = {}
            for current, build in (("copy_versions", lambda d: CopyVersion(**d)),
                                   ("prompt_versions", lambda d: PromptVersion(**d)),
                                   ("image_versions", ImageVersion.from_dict),
                                   ("state_history", StateChange.from_dict),
                                   ("comments", lambda d: Comment(**d)),
                                   ("creative_versions", lambda d: CreativeVersion(**d))):
                items = data.get(current, [])
                if not isinstance(items, list):
                    raise TypeError(f"must be a list, not {type(items).__name__}")
                lists[current] = tuple(build(item) for item in items)
            current = "copy_versions"
            if not lists["copy_versions"] or not lists["prompt_versions"]:
                current = "copy_versions" if not lists["copy_versions"] else "prompt_versions"
                raise ValueError("must hold at least one version")
            current = "record"
            return cls(id=data["id"], created_at=data["created_at"], created_by=data["created_by"],
                       updated_at=data["updated_at"], brief=brief, state=state,
                       archived=bool(data.get("archived", False)), deleted=bool(data.get("deleted", False)),
                       favorite=data.get("favorite"), origin=str(data.get("origin") or ""),
                       copied_from=data.get("copied_from", ""), **lists)
        except KeyError as missing:
            raise RecordError(draft_id, str(missing).strip("'"), "is missing") from None
        except (TypeError, ValueError, AttributeError) as error:
            raise RecordError(draft_id, current, f"is malformed ({str(error)[:120]})") from None
