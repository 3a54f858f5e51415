"""The history's files: the TinyDB file written atomically, the lock that keeps writers apart, backups, recovery
of a damaged file, and schema migrations. Only the history store uses this module."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tinydb import TinyDB
from tinydb.storages import Storage

from core.errors import CoreError
from core.files import new_id, stray_temp_files, write_json

SCHEMA_VERSION = 1
BACKUPS_KEPT = 10


class HistoryError(CoreError):
    """A history request that cannot be done: unknown draft, bad state change, bad name, unusable file."""


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
    """TinyDB storage written through the one atomic writer: a crash at any instant leaves either the old or the
    new database, never half of one."""

    def __init__(self, path: str):
        self.path = Path(path)

    def read(self):
        if not self.path.exists():
            return None
        text = self.path.read_text(encoding="utf-8")
        return json.loads(text) if text.strip() else None

    def write(self, data) -> None:
        write_json(data, self.path, indent=None)

    def close(self) -> None:
        pass


# Ordered migrations: MIGRATIONS[n] turns a version-n database (as a dict of tables) into version n+1.
def _migrate_0_to_1(tables: dict) -> dict:
    """Version 0 kept one flat record per generation; version 1 keeps drafts with versions and reviews."""
    drafts = {}
    for key, old in tables.get("posts", {}).items():
        at = old.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds")
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


class HistoryFiles:
    """The history folder on disk. One lock guards every read and write (sessions run on their own threads and
    TinyDB is not thread-safe); a file lock keeps a second process out too."""

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

    @contextmanager
    def locked(self):
        """Hold the thread lock and, once per outermost holder, the file lock."""
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def open(self) -> tuple[TinyDB, Recovery | None]:
        """Clear what a killed writer left, recover a damaged file, migrate an old one, back it up, and open it."""
        with self.locked():
            for stray in stray_temp_files(self.db_path):
                stray.unlink(missing_ok=True)
            recovery = self._recover_if_damaged()
            self._migrate()
            self.backup()  # one per start, besides the periodic ones: a bad session can always be rolled back
            return TinyDB(self.db_path, storage=AtomicJSONStorage), recovery

    def backup(self) -> Path | None:
        """Copy the database into the backups folder, keeping the newest ones."""
        with self.locked():
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

    def close(self) -> None:
        self._lock_file.close()

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

    def _migrate(self) -> None:
        if not self.db_path.exists():
            write_json({"meta": {"1": {"schema_version": SCHEMA_VERSION}}}, self.db_path, indent=None)
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
        write_json(data, self.db_path, indent=None)
