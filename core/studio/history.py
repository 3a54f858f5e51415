"""Drafts, versions, review states and comments: the repository the pages, jobs and exports go through.

It hands out typed records (core.studio.records) and owns no file format itself: that is core.studio.storage."""
from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from core.content.brief import Brief
from core.files import new_id
from core.image.png import save_png, write_png
from core.image.creative import Creative
from core.image.engine import RenderedImage
from core.image.settings import ImageSettings
from core.image.uploads import Upload
from core.studio.kits import KitStore
from core.studio.records import (IMAGE_NAME, Comment, CopyVersion, CreativeVersion, Draft, ImageVersion,
                                 PromptVersion, RecordError, ReviewState, StateChange, now)
from core.studio.storage import (SHARDS, HistoryError, HistoryFiles, Recovery, StoreError, store_error,
                                 shard_of)

MAX_AUTHOR = 60
MAX_COMMENT = 2000
MAX_COPY = 10_000
DRAFT_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")


def check_author(author: str) -> str:
    """The reviewer's name, or a HistoryError naming the problem."""
    if not isinstance(author, str) or not author.strip():
        raise HistoryError("empty", field="author", value=author)
    if len(author) > MAX_AUTHOR:
        raise HistoryError("too_long_field", field="author", value=author, limit=MAX_AUTHOR, length=len(author))
    if bad := next((c for c in author if ord(c) < 32), None):
        raise HistoryError("control_character", field="author", value=author, char=f"U+{ord(bad):04X}")
    return author.strip()


class HistoryStore:
    """The team's drafts, read and written as records. Reads come from shards parsed once per change; every
    read-modify-write holds the history's file lock, so any number of store objects and processes can share a
    folder."""

    def __init__(self, folder: Path | str):
        self.files = HistoryFiles(folder)
        self.folder, self.images = self.files.folder, self.files.images
        self.files.open()
        self.kits = KitStore(self.files)  # the brand kits live in the same folder, under the same lock
        # shard -> (file stamp, drafts by id, search text by id): parsed records of the shard's last contents
        self._parsed: dict[int, tuple[tuple, dict[str, Draft], dict[str, str]]] = {}
        self._unreadable: dict[int, list[RecordError]] = {}

    @property
    def recovery(self) -> Recovery | None:
        """The last repair the store made to a damaged file, if any."""
        return self.files.recoveries[-1] if self.files.recoveries else None

    @property
    def skipped(self) -> list[RecordError]:
        """The stored drafts that could not be read, by the shards read so far, for a visible warning."""
        return [error for errors in self._unreadable.values() for error in errors]

    @property
    def read_only(self) -> StoreError | None:
        """Why the store refuses writes (an unrecognised file), or None."""
        return self.files.read_only

    def _shard(self, shard: int) -> tuple[dict[str, Draft], dict[str, str]]:
        stamp, documents = self.files.stamped_documents(shard)
        cached = self._parsed.get(shard)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
        drafts, haystacks, unreadable = {}, {}, []
        for draft_id, document in documents.items():
            try:
                draft = Draft.from_dict(document)
            except RecordError as error:
                unreadable.append(error)
                continue
            drafts[draft_id] = draft
            haystacks[draft_id] = " ".join([*(str(v) for v in draft.brief.to_dict().values()), draft.copy.text,
                                            draft.prompt.prompt]).casefold()
        self._parsed[shard] = (stamp, drafts, haystacks)
        self._unreadable[shard] = unreadable
        return drafts, haystacks

    def _save(self, draft: Draft, what: str) -> None:
        self.files.write(draft.to_dict(), what)

    def _update(self, draft_id: str, change: Callable[[Draft], Draft], what: str) -> Draft:
        """Replace one draft by change(draft) under the lock; returns the new draft."""
        with self.files.locked():
            draft = change(self.get(draft_id)).changed()
            self._save(draft, what)
            return draft

    # -- drafts -------------------------------------------------------------------------------------------
    def create_draft(self, brief: Brief, copy_text: str, prompt: str, negative_prompt: str, author: str,
                     model: str = "", origin: str = "", copied_from: str = "") -> str:
        """Save a new draft with its first copy and prompt versions (written by model, if given); returns its id.
        origin marks a draft a batch wrote (see Draft.origin)."""
        author = check_author(author)
        _check_copy(copy_text)
        at = now()
        draft = Draft(id=new_id(), created_at=at, created_by=author, updated_at=at, brief=brief,
                      copy_versions=(CopyVersion(1, copy_text, author, at, model=model),),
                      prompt_versions=(PromptVersion(1, prompt, negative_prompt, author, at, model=model),),
                      origin=origin, copied_from=copied_from)
        with self.files.locked():
            while self.files.documents(shard_of(draft.id)).get(draft.id):  # ids are random: this never loops long
                draft = dataclasses.replace(draft, id=new_id())
            self._save(draft, f"save the new draft for {brief.product!r}")
        return draft.id

    def get(self, draft_id: str) -> Draft:
        """One draft with all its versions, or a HistoryError (a RecordError where it is unreadable)."""
        if not isinstance(draft_id, str) or not DRAFT_ID.match(draft_id):
            raise HistoryError("bad_draft_id", field="draft_id", value=str(draft_id))
        drafts, _ = self._shard(shard_of(draft_id))
        if draft_id in drafts:
            return drafts[draft_id]
        document = self.files.documents(shard_of(draft_id)).get(draft_id)
        if document is None:
            raise HistoryError("no_draft", value=draft_id)
        return Draft.from_dict(document)  # unreadable: the RecordError names the field

    def add_copy_version(self, draft_id: str, text: str, author: str, source: str = "edit",
                         base: int | None = None) -> int:
        """A new copy version (edited by hand or rewritten by the model); returns its number. base: the copy
        version the edit started from; where the draft has a newer one by now (a teammate saved meanwhile), the
        save is refused naming both, so nobody's version is buried unseen. An empty copy is refused."""
        author = check_author(author)
        _check_copy(text)
        if not text.strip():
            raise HistoryError("empty", field="copy")

        def change(draft: Draft) -> Draft:
            _check_base(draft, base, draft.copy)
            return _reopened(draft.changed(copy_versions=(
                *draft.copy_versions, CopyVersion(len(draft.copy_versions) + 1, text, author, now(), source))), author)
        return len(self._update(draft_id, change, "save the copy version").copy_versions)

    def add_prompt_version(self, draft_id: str, prompt: str, negative_prompt: str, author: str,
                           source: str = "edit", base: int | None = None) -> int:
        """A new visual-prompt version; returns its number. base: as for add_copy_version."""
        author = check_author(author)

        def change(draft: Draft) -> Draft:
            _check_base(draft, base, draft.prompt)
            return _reopened(_with_prompt(draft, prompt, negative_prompt, author, source), author)
        return len(self._update(draft_id, change, "save the visual prompt version").prompt_versions)

    def add_image_version(self, draft_id: str, rendered: RenderedImage, author: str, parent: int | None = None,
                          edit: str = "", strength: float | None = None,
                          mask: Image.Image | None = None, scene: int | None = None) -> ImageVersion:
        """Save the PNG (named by a new id, prompt metadata inside) and record it as a new image version; an edit
        records the version it started from, its kind and strength, and its mask (saved beside the image)."""
        author = check_author(author)
        self.get(draft_id)
        if self.read_only:
            raise self.read_only
        stem = new_id()
        file_name, mask_file = f"{stem}.png", (f"{stem}-mask.png" if mask is not None else "")
        try:
            save_png(rendered, self.image_path(file_name))
            if mask is not None:
                write_png(self.image_path(mask_file), mask)
        except OSError as error:
            self._remove_files(file_name, mask_file)
            raise store_error(error, "save the image", self.images) from None

        def change(draft: Draft) -> Draft:
            prompt_version = draft.matching_prompt_version(rendered.prompt, rendered.negative_prompt)
            if prompt_version is None:
                draft = _with_prompt(draft, rendered.prompt, rendered.negative_prompt, author, "edit")
                prompt_version = len(draft.prompt_versions)
            seed = None if edit == "upload" else rendered.seed
            image = ImageVersion(n=len(draft.image_versions) + 1, file=file_name, seed=seed,
                                 prompt_version=prompt_version, author=author, at=now(), settings=rendered.settings,
                                 models=tuple(rendered.model_names), test_weights=rendered.test_weights,
                                 parent=parent, edit=edit, strength=strength, mask_file=mask_file, scene=scene)
            return _reopened(draft.changed(image_versions=(*draft.image_versions, image)), author)
        try:
            return self._update(draft_id, change, "save the image version").image_versions[-1]
        except HistoryError:
            self._remove_files(file_name, mask_file)  # no record points at them
            raise

    def add_upload(self, draft_id: str, upload: Upload, author: str) -> ImageVersion:
        """The team's own photo or sketch as a new image version of the draft, to edit like a render: no seed, no
        model, the draft's current prompt, and the cut-out (if the file had transparency) saved as its mask."""
        prompt = self.get(draft_id).prompt
        settings = ImageSettings(width=upload.image.width, height=upload.image.height, candidates=1)
        rendered = RenderedImage(image=upload.image, seed=0, prompt=prompt.prompt,
                                 negative_prompt=prompt.negative_prompt, settings=settings, model_names=[],
                                 test_weights=False, metadata={"edit": "upload", "upload_name": upload.name})
        return self.add_image_version(draft_id, rendered, author, edit="upload", mask=upload.product)

    def add_creative(self, draft_id: str, creative: Creative, image_version: int, headline: str, cta: str,
                     template: str, author: str) -> CreativeVersion:
        """Save a composed creative (PNG, named by a new id) as the draft's next creative version."""
        author = check_author(author)
        self.get(draft_id)
        if self.read_only:
            raise self.read_only
        file_name = f"{new_id()}.png"
        try:
            write_png(self.image_path(file_name), creative.image)
        except OSError as error:
            self._remove_files(file_name)
            raise store_error(error, "save the creative", self.images) from None

        def change(draft: Draft) -> Draft:
            version = CreativeVersion(len(draft.creative_versions) + 1, file_name, creative.format.name,
                                      image_version, headline, cta, template, author, now(), creative.contrast,
                                      creative.scrim)
            return draft.changed(creative_versions=(*draft.creative_versions, version))
        try:
            return self._update(draft_id, change, "save the creative").creative_versions[-1]
        except HistoryError:
            self._remove_files(file_name)
            raise

    def set_favorite(self, draft_id: str, image_version: int | None, author: str) -> None:
        """Mark image version image_version as the draft's favourite (None: no favourite)."""
        check_author(author)

        def change(draft: Draft) -> Draft:
            if image_version is not None and draft.image_version(image_version) is None:
                raise HistoryError("no_image_version", value=image_version)
            return draft.changed(favorite=image_version)
        self._update(draft_id, change, "save the favourite image")

    def set_state(self, draft_id: str, state: ReviewState | str, author: str) -> None:
        """Move a draft along the review flow; a change the flow does not allow is a HistoryError."""
        author = check_author(author)
        try:
            state = ReviewState(state)
        except ValueError:
            raise HistoryError("not_one_of", field="state", value=state,
                               allowed=", ".join(s.value for s in ReviewState)) from None

        def change(draft: Draft) -> Draft:
            if state not in draft.state.next_states:
                raise HistoryError("bad_transition", state=draft.state.value, target=state.value)
            return draft.changed(state=state, state_history=(
                *draft.state_history, StateChange(draft.state, state, author, now())))
        self._update(draft_id, change, "save the review state")

    def add_comment(self, draft_id: str, text: str, author: str) -> None:
        """A comment on the draft, with its author and time."""
        author = check_author(author)
        if not isinstance(text, str) or not text.strip():
            raise HistoryError("empty", field="comment", value=text)
        if len(text) > MAX_COMMENT:
            raise HistoryError("too_long_field", field="comment", value=text, limit=MAX_COMMENT, length=len(text))
        self._update(draft_id, lambda d: d.changed(comments=(*d.comments, Comment(author, text, now()))),
                     "save the comment")

    def archive(self, draft_id: str, author: str, archived: bool = True) -> None:
        """Hide a draft from the list (deleting archives it); archive(..., archived=False) restores it."""
        author = check_author(author)
        event = "archived" if archived else "restored"
        self._update(draft_id, lambda d: d.changed(archived=archived, state_history=(
            *d.state_history, StateChange(d.state, d.state, author, now(), event))), f"save the {event} draft")

    def delete(self, draft_id: str, author: str, deleted: bool = True) -> None:
        """Move a draft to the bin (out of every list but the bin's), or back out of it with deleted=False. Nothing
        is erased: the record and its images stay, so a delete can always be undone."""
        author = check_author(author)
        event = "deleted" if deleted else "undeleted"
        self._update(draft_id, lambda d: d.changed(deleted=deleted, state_history=(
            *d.state_history, StateChange(d.state, d.state, author, now(), event))), f"save the {event} draft")

    def duplicate(self, draft_id: str, author: str) -> str:
        """A new draft with the same brief and the newest copy and prompt (no images, no review); returns its id."""
        source = self.get(draft_id)
        return self.create_draft(source.brief, source.copy.text, source.prompt.prompt, source.prompt.negative_prompt,
                                 author, source.copy.model, copied_from=source.id)

    def list_drafts(self, state: ReviewState | str | None = None, content_type: str | None = None,
                    author: str | None = None, text: str | None = None, archived: bool = False,
                    deleted: bool = False) -> list[Draft]:
        """Drafts matching every filter given, newest first. text searches the brief, copy and prompts; deleted=True
        lists the bin (archived or not).

        A stored draft that cannot be read is left out and named in self.skipped, so one bad record never takes
        the list down."""
        needle = (text or "").casefold().strip()
        state = ReviewState(state) if state else None

        def matches(draft: Draft) -> bool:
            if draft.deleted != deleted or (not deleted and draft.archived != archived):
                return False
            if state and draft.state is not state:
                return False
            if content_type and draft.brief.content_type.value != content_type:
                return False
            if author and author.casefold() not in {draft.created_by.casefold(),
                                                    *(v.author.casefold() for v in draft.copy_versions)}:
                return False
            return True

        found = []
        for shard in range(SHARDS):
            drafts, haystacks = self._shard(shard)
            found += [d for d in drafts.values() if matches(d) and (not needle or needle in haystacks[d.id])]
        return sorted(found, key=lambda d: d.updated_at + d.id, reverse=True)

    def authors(self) -> list[str]:
        """Everyone who made a draft, for the filter list."""
        return sorted({d.created_by for shard in range(SHARDS) for d in self._shard(shard)[0].values()})

    # -- files ----------------------------------------------------------------------------------------------
    def source_image(self, draft_id: str, n: int) -> tuple[ImageVersion, Image.Image]:
        """Image version n of a draft and its pixels, to start an edit from; a HistoryError where it is missing."""
        version = self.get(draft_id).image_version(n)
        path = self.image_path(version.file) if version is not None else None
        if path is None or not path.exists():
            raise HistoryError("no_image_version", value=n)
        with Image.open(path) as image:
            return version, image.convert("RGB")

    def cut_out(self, version: ImageVersion) -> Image.Image | None:
        """An uploaded version's product cut-out (white where the photo was opaque), if it has one."""
        if version.edit != "upload" or not version.mask_file:
            return None
        path = self.image_path(version.mask_file)
        if not path.exists():
            return None
        with Image.open(path) as mask:
            return mask.convert("L")

    def image_path(self, file_name: str) -> Path:
        """The path of an image file in the images folder; names that are not our generated ids are refused."""
        if not isinstance(file_name, str) or not IMAGE_NAME.match(file_name):
            raise HistoryError("bad_image_name", field="image", value=str(file_name))
        path = (self.images / file_name).resolve()
        if path.parent != self.images.resolve():
            raise HistoryError("bad_image_name", field="image", value=file_name)
        return path

    def _remove_files(self, *names: str) -> None:
        """Remove what a failed save left, as far as the disk lets us; the save's own error is the one to report."""
        for name in filter(None, names):
            with contextlib.suppress(OSError):
                self.image_path(name).unlink(missing_ok=True)

    def close(self) -> None:
        self.files.close()


def _reopened(draft: Draft, author: str) -> Draft:
    """An approved draft whose content changed goes back to review: the approval covered what the reviewer saw."""
    if draft.state is not ReviewState.APPROVED:
        return draft
    change = StateChange(ReviewState.APPROVED, ReviewState.IN_REVIEW, author, now(), "changed_after_approval")
    return draft.changed(state=ReviewState.IN_REVIEW, state_history=(*draft.state_history, change))


def _with_prompt(draft: Draft, prompt: str, negative_prompt: str, author: str, source: str) -> Draft:
    version = PromptVersion(len(draft.prompt_versions) + 1, prompt, negative_prompt, author, now(), source)
    return draft.changed(prompt_versions=(*draft.prompt_versions, version))


def _check_base(draft: Draft, base: int | None, newest) -> None:
    """Refuse an edit of version base where the draft has moved on to a newer one."""
    if base is not None and newest.n != base:
        raise HistoryError("draft_moved_on", value=draft.brief.product, base=base, current=newest.n,
                           author=newest.author, at=newest.at[:16].replace("T", " "))


def _check_copy(text: str) -> None:
    if not isinstance(text, str):
        raise HistoryError("not_text", field="copy", value=type(text).__name__)
    if len(text) > MAX_COPY:
        raise HistoryError("too_long_field", field="copy", value=text, limit=MAX_COPY, length=len(text))
