"""Drafts, versions, review states and comments, kept in TinyDB behind one repository class that never loses work."""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import re
import shutil
import threading
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from core.content.brief import Brief
from core.errors import CoreError
from core.image.sdxl import RenderedImage
from core.files import new_id
from core.image.png import save_png

SCHEMA_VERSION = 1
BACKUPS_KEPT = 10
BACKUP_EVERY_WRITES = 200
MAX_AUTHOR = 60
MAX_COMMENT = 2000
MAX_COPY = 10_000
IMAGE_NAME = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}\.png$")
DRAFT_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")

STATES = ("draft", "in_review", "approved", "changes_requested")
TRANSITIONS = {
    "draft": {"in_review"},
    "in_review": {"approved", "changes_requested", "draft"},
    "changes_requested": {"in_review", "draft"},
    "approved": {"in_review"},
}


class HistoryError(CoreError):
    """A history request that cannot be done: unknown draft, bad state change, bad name."""


@dataclass(frozen=True)
class Recovery:
    """What start-up had to do to a damaged database, for a visible warning."""

    damaged_file: Path
    restored_from: Path | None

    def message(self) -> str:
        source = f"the backup {self.restored_from.name}" if self.restored_from else "nothing (no good backup: empty)"
        return (f"The history database was damaged and was restored from {source}. "
                f"The damaged file is kept as {self.damaged_file.name}.")


class AtomicJSONStorage(Storage):
    """TinyDB storage that writes a temp file in the same folder, fsyncs it and renames it over the old one,
    so a crash at any instant leaves either the old or the new database, never half of one."""

    def __init__(self, path: str):
        self.path = Path(path)

    def read(self):
        if not self.path.exists():
            return None
        text = self.path.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None

    def write(self, data) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def close(self) -> None:
        pass


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_author(author: str) -> str:
    """The reviewer's name, or a HistoryError naming the problem."""
    if not isinstance(author, str) or not author.strip():
        raise HistoryError(f"author must not be empty (got {author!r})")
    if len(author) > MAX_AUTHOR or any(ord(c) < 32 for c in author):
        raise HistoryError(f"author must be at most {MAX_AUTHOR} printable characters (got {author[:80]!r})")
    return author.strip()


# Ordered migrations: MIGRATIONS[n] turns a version-n database (as a dict of tables) into version n+1.
def _migrate_0_to_1(tables: dict) -> dict:
    """Version 0 kept one flat record per generation; version 1 keeps drafts with versions and reviews."""
    drafts = {}
    for key, old in tables.get("posts", {}).items():
        at = old.get("created", _now())
        author = old.get("author") or "unknown"
        draft = {
            "id": old.get("id") or new_id(), "created_at": at, "created_by": author, "updated_at": at,
            "brief": old.get("brief", {}), "state": "draft", "archived": False,
            "copy_versions": [{"n": 1, "text": old.get("copy", ""), "author": author, "at": at, "source": "model"}],
            "prompt_versions": [{"n": 1, "prompt": old.get("prompt", ""), "negative_prompt":
                                 old.get("negative_prompt", ""), "author": author, "at": at, "source": "model"}],
            "image_versions": [], "state_history": [], "comments": [],
        }
        if old.get("image"):
            draft["image_versions"].append({"n": 1, "file": Path(old["image"]).name, "seed": old.get("seed"),
                                            "prompt_version": 1, "author": author, "at": at})
        drafts[str(key)] = draft
    return {"drafts": drafts, "meta": {"1": {"schema_version": 1}}}


MIGRATIONS = [_migrate_0_to_1]


class HistoryStore:
    """The team's drafts. One lock guards every read and write (sessions run on their own threads and TinyDB is
    not thread-safe); a file lock keeps a second process out too."""

    def __init__(self, folder: Path | str, backups_kept: int = BACKUPS_KEPT):
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.backups = self.folder / "backups"
        self.db_path = self.folder / "history.json"
        self.backups_kept = backups_kept
        for path in (self.folder, self.images, self.backups):
            path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._lock_file = open(self.folder / ".lock", "a+")
        self._writes = 0
        self.recovery: Recovery | None = None
        with self._locked():
            for stray in self.folder.glob(f".{self.db_path.name}.*.tmp"):  # left by a writer killed mid-write
                stray.unlink(missing_ok=True)
            self.recovery = self._recover_if_damaged()
            self._migrate()
            self.backup()  # one per start, besides the periodic ones: a bad session can always be rolled back
            self.db = TinyDB(self.db_path, storage=AtomicJSONStorage)
            self.drafts = self.db.table("drafts", cache_size=0)

    # -- safety -------------------------------------------------------------------------------------------
    @contextmanager
    def _locked(self):
        with self._lock:
            self._depth += 1
            if self._depth == 1:  # the file lock is taken once, by the outermost holder of the thread lock
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _readable(self, path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            return None
        return data

    def _recover_if_damaged(self) -> Recovery | None:
        if not self.db_path.exists() or self._readable(self.db_path) is not None:
            return None
        damaged = self.db_path.with_name(f"history.damaged-{new_id()}.json")
        os.replace(self.db_path, damaged)
        for backup in sorted(self.backups.glob("history-*.json"), reverse=True):
            if self._readable(backup) is not None:
                shutil.copyfile(backup, self.db_path)
                return Recovery(damaged, backup)
        return Recovery(damaged, None)

    def backup(self) -> Path | None:
        """Copy the database into the backups folder, keeping the newest ones."""
        with self._locked():
            if not self.db_path.exists():
                return None
            # microsecond names sort by age, which is how recovery finds the newest good one
            stamp = datetime.now(timezone.utc)
            target = self.backups / f"history-{stamp:%Y%m%d-%H%M%S-%f}.json"
            while target.exists():
                stamp = stamp.replace(microsecond=(stamp.microsecond + 1) % 1_000_000)
                target = self.backups / f"history-{stamp:%Y%m%d-%H%M%S-%f}.json"
            shutil.copyfile(self.db_path, target)
            for old in sorted(self.backups.glob("history-*.json"), reverse=True)[self.backups_kept:]:
                old.unlink(missing_ok=True)
            return target

    def _migrate(self) -> None:
        if not self.db_path.exists():
            AtomicJSONStorage(str(self.db_path)).write({"meta": {"1": {"schema_version": SCHEMA_VERSION}}})
            return
        data = self._readable(self.db_path)
        version = next(iter(data.get("meta", {}).values()), {}).get("schema_version", 0)
        if version > SCHEMA_VERSION:
            raise HistoryError(f"the history database has schema_version {version}, newer than this app "
                               f"({SCHEMA_VERSION}); update the app")
        if version == SCHEMA_VERSION:
            return
        self.backup()  # before any migration touches the file
        for step in MIGRATIONS[version:]:
            data = step(data)
        AtomicJSONStorage(str(self.db_path)).write(data)

    def _written(self) -> None:
        self._writes += 1
        if self._writes % BACKUP_EVERY_WRITES == 0:
            self.backup()

    def _update(self, draft_id: str, change) -> dict:
        """Apply change(draft) to one draft under the lock and write it; returns the new draft."""
        with self._locked():
            draft = self.get(draft_id)
            change(draft)
            draft["updated_at"] = _now()
            self.drafts.update(_replace_with(draft), Query().id == draft_id)
            self._written()
            return draft

    # -- drafts -------------------------------------------------------------------------------------------
    def create_draft(self, brief: Brief, copy_text: str, prompt: str, negative_prompt: str, author: str) -> str:
        """Save a new draft with its first copy and prompt versions; returns its id."""
        author = check_author(author)
        _check_copy(copy_text)
        at = _now()
        draft_id = new_id()
        draft = {
            "id": draft_id, "created_at": at, "created_by": author, "updated_at": at, "brief": brief.to_dict(),
            "state": "draft", "archived": False, "state_history": [], "comments": [],
            "copy_versions": [{"n": 1, "text": copy_text, "author": author, "at": at, "source": "model"}],
            "prompt_versions": [{"n": 1, "prompt": prompt, "negative_prompt": negative_prompt, "author": author,
                                 "at": at, "source": "model"}],
            "image_versions": [],
        }
        with self._locked():
            self.drafts.insert(draft)
            self._written()
        return draft_id

    def get(self, draft_id: str) -> dict:
        """One draft with all its versions, or a HistoryError."""
        if not isinstance(draft_id, str) or not DRAFT_ID.match(draft_id):
            raise HistoryError(f"draft id must look like 20260101-120000-0123abcd (got {str(draft_id)[:80]!r})")
        with self._locked():
            found = self.drafts.get(Query().id == draft_id)
        if found is None:
            raise HistoryError(f"no draft with id {draft_id!r}")
        return dict(found)

    def add_copy_version(self, draft_id: str, text: str, author: str, source: str = "edit") -> int:
        """A new copy version (edited by hand or rewritten by the model); returns its number."""
        author = check_author(author)
        _check_copy(text)
        def change(draft):
            draft["copy_versions"].append({"n": len(draft["copy_versions"]) + 1, "text": text, "author": author,
                                           "at": _now(), "source": source})
        return len(self._update(draft_id, change)["copy_versions"])

    def add_prompt_version(self, draft_id: str, prompt: str, negative_prompt: str, author: str,
                           source: str = "edit") -> int:
        """A new visual-prompt version; returns its number."""
        author = check_author(author)
        def change(draft):
            draft["prompt_versions"].append({"n": len(draft["prompt_versions"]) + 1, "prompt": prompt,
                                             "negative_prompt": negative_prompt, "author": author, "at": _now(),
                                             "source": source})
        return len(self._update(draft_id, change)["prompt_versions"])

    def add_image_version(self, draft_id: str, rendered: RenderedImage, author: str) -> int:
        """Save the PNG (named by a new id, prompt metadata inside) and record it as a new image version."""
        author = check_author(author)
        self.get(draft_id)
        file_name = f"{new_id()}.png"
        save_png(rendered, self.image_path(file_name))
        s = rendered.settings

        def change(draft):
            prompt_version = _matching_prompt_version(draft, rendered.prompt, rendered.negative_prompt)
            if prompt_version is None:
                draft["prompt_versions"].append({"n": len(draft["prompt_versions"]) + 1, "prompt": rendered.prompt,
                                                 "negative_prompt": rendered.negative_prompt, "author": author,
                                                 "at": _now(), "source": "edit"})
                prompt_version = len(draft["prompt_versions"])
            draft["image_versions"].append({
                "n": len(draft["image_versions"]) + 1, "file": file_name, "seed": rendered.seed,
                "width": s.width, "height": s.height, "steps": s.steps, "guidance": s.guidance,
                "use_refiner": s.use_refiner, "refiner_switch": s.refiner_switch, "models": rendered.model_names,
                "test_weights": rendered.test_weights, "prompt_version": prompt_version, "author": author,
                "at": _now()})
        return len(self._update(draft_id, change)["image_versions"])

    def set_state(self, draft_id: str, state: str, author: str) -> None:
        """Move a draft along the review flow; a change the flow does not allow is a HistoryError."""
        author = check_author(author)
        if state not in STATES:
            raise HistoryError(f"state must be one of: {', '.join(STATES)} (got {state!r})")

        def change(draft):
            if state not in TRANSITIONS[draft["state"]]:
                raise HistoryError(f"a draft in state {draft['state']!r} cannot move to {state!r}")
            draft["state_history"].append({"from": draft["state"], "to": state, "author": author, "at": _now()})
            draft["state"] = state
        self._update(draft_id, change)

    def add_comment(self, draft_id: str, text: str, author: str) -> None:
        """A comment on the draft, with its author and time."""
        author = check_author(author)
        if not isinstance(text, str) or not text.strip():
            raise HistoryError("comment must not be empty")
        if len(text) > MAX_COMMENT:
            raise HistoryError(f"comment must be at most {MAX_COMMENT} characters (got {len(text)})")
        self._update(draft_id, lambda d: d["comments"].append({"author": author, "text": text, "at": _now()}))

    def archive(self, draft_id: str, author: str, archived: bool = True) -> None:
        """Hide a draft from the list (deleting archives it); archive(..., archived=False) restores it."""
        author = check_author(author)
        def change(draft):
            draft["archived"] = archived
            draft["state_history"].append({"from": draft["state"], "to": draft["state"], "author": author,
                                           "at": _now(), "event": "archived" if archived else "restored"})
        self._update(draft_id, change)

    def list_drafts(self, state: str | None = None, content_type: str | None = None, author: str | None = None,
                    text: str | None = None, archived: bool = False) -> list[dict]:
        """Drafts matching every filter given, newest first. text searches the brief, copy and prompts."""
        needle = (text or "").casefold().strip()

        def matches(draft) -> bool:
            if draft.get("archived", False) != archived:
                return False
            if state and draft["state"] != state:
                return False
            if content_type and draft["brief"].get("content_type") != content_type:
                return False
            if author and author.casefold() not in {draft["created_by"].casefold(),
                                                    *(v["author"].casefold() for v in draft["copy_versions"])}:
                return False
            if needle:
                haystack = json.dumps([draft["brief"], draft["copy_versions"][-1]["text"],
                                       draft["prompt_versions"][-1]["prompt"]], ensure_ascii=False).casefold()
                return needle in haystack
            return True

        with self._locked():
            found = [dict(d) for d in self.drafts.all() if matches(d)]
        return sorted(found, key=lambda d: d["updated_at"] + d["id"], reverse=True)

    def authors(self) -> list[str]:
        """Everyone who made a draft, for the filter list."""
        with self._locked():
            return sorted({d["created_by"] for d in self.drafts.all()})

    # -- files ----------------------------------------------------------------------------------------------
    def image_path(self, file_name: str) -> Path:
        """The path of an image file in the images folder; names that are not our generated ids are refused."""
        if not isinstance(file_name, str) or not IMAGE_NAME.match(file_name):
            raise HistoryError(f"image name must be a generated id such as 20260101-120000-0123abcd.png "
                               f"(got {str(file_name)[:80]!r})")
        path = (self.images / file_name).resolve()
        if path.parent != self.images.resolve():
            raise HistoryError(f"image name {file_name!r} points outside the image folder")
        return path

    def export_zip(self, draft_ids: list[str]) -> bytes:
        """A ZIP of the drafts: copy as Markdown, images, and a JSON and CSV manifest of prompts and seeds."""
        buffer = io.BytesIO()
        manifest = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for draft_id in draft_ids:
                draft = self.get(draft_id)
                archive.writestr(f"{draft_id}/copy.md", _markdown(draft))
                prompts = {p["n"]: p for p in draft["prompt_versions"]}
                for image in draft["image_versions"]:
                    name = f"{draft_id}/image-v{image['n']}.png"
                    path = self.image_path(image["file"])
                    if path.exists():
                        archive.write(path, name)
                    prompt = prompts.get(image.get("prompt_version"), draft["prompt_versions"][-1])
                    manifest.append({"draft_id": draft_id, "product": draft["brief"].get("product", ""),
                                     "state": draft["state"], "image_version": image["n"], "file": name,
                                     "prompt": prompt["prompt"], "negative_prompt": prompt["negative_prompt"],
                                     "seed": image.get("seed"), "size": f"{image.get('width')}x{image.get('height')}",
                                     "steps": image.get("steps"), "guidance": image.get("guidance"),
                                     "test_weights": image.get("test_weights", False)})
            archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
            table = io.StringIO()
            writer = csv.DictWriter(table, fieldnames=list(manifest[0]) if manifest else ["draft_id"])
            writer.writeheader()
            writer.writerows(manifest)
            archive.writestr("manifest.csv", table.getvalue())
        return buffer.getvalue()

    def close(self) -> None:
        with self._locked():
            self.db.close()
        self._lock_file.close()


def _replace_with(new: dict):
    def transform(document):
        document.clear()
        document.update(new)
    return transform


def _matching_prompt_version(draft: dict, prompt: str, negative: str) -> int | None:
    for version in reversed(draft["prompt_versions"]):
        if version["prompt"] == prompt and version["negative_prompt"] == negative:
            return version["n"]
    return None


def _check_copy(text: str) -> None:
    if not isinstance(text, str):
        raise HistoryError(f"copy must be text (got {type(text).__name__})")
    if len(text) > MAX_COPY:
        raise HistoryError(f"copy must be at most {MAX_COPY} characters (got {len(text)})")


def _markdown(draft: dict) -> str:
    brief = draft["brief"]
    copy = draft["copy_versions"][-1]
    prompt = draft["prompt_versions"][-1]
    lines = [f"# {brief.get('product', '')}", "",
             f"- channel: {brief.get('content_type', '')}", f"- language: {brief.get('language', '')}",
             f"- state: {draft['state']}", f"- copy version: {copy['n']} by {copy['author']}", "",
             "## Copy", "", copy["text"], "", "## Visual prompt", "", prompt["prompt"], "",
             f"Negative: {prompt['negative_prompt']}", ""]
    if draft["comments"]:
        lines += ["## Comments", ""] + [f"- **{c['author']}** ({c['at']}): {c['text']}" for c in draft["comments"]]
    return "\n".join(lines) + "\n"
