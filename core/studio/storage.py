"""The history's files. Drafts live in TinyDB files sharded by draft id, so a write rewrites one small shard and a
read parses only the shards that changed since it last looked. Every write is journaled first: a damaged shard is
rebuilt from its last snapshot plus its journal, so nothing acknowledged is lost. Only the history store uses this.

    FOLDER/meta.json             {"schema_version": 2}: written last by a migration, so its presence proves the layout
    FOLDER/drafts/NNN.json       a TinyDB file (table "drafts"), one document per draft whose id hashes to NNN
    FOLDER/drafts/NNN.journal    each document written to shard NNN since its last snapshot, one JSON line each,
                                 then a line "+" once the shard holds it (the write acknowledged)
    FOLDER/backups/NNN-*.json    snapshots of shard NNN; history-*.json are files of earlier layouts, kept
    FOLDER/images/               the rendered PNGs
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
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
from tinydb.table import Document

from core.errors import CoreError
from core.files import new_id, stray_temp_files, write_json, write_text

SCHEMA_VERSION = 2
SHARDS = 256
SNAPSHOT_EVERY_WRITES = 200  # per shard: then the shard is copied to backups and its journal starts afresh
SNAPSHOTS_KEPT = 3  # per shard
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class HistoryError(CoreError):
    """A history request that cannot be done: unknown draft, bad state change, bad name."""


class StoreError(HistoryError):
    """The history's files cannot be written or read: a full or read-only disk, or a file this app does not know."""


COMMITTED = b"+"  # the journal line after a document once the shard holds it
MARKED = b"#marked"  # a journal's first line where its writes are marked so (journals of earlier versions are not)


@dataclass(frozen=True)
class Recovery:
    """What the store had to do to a damaged or vanished file, for a visible warning."""

    damaged_file: Path | None  # where the damaged file was kept; None where the file had vanished
    restored_from: Path | None
    replayed: int = 0  # journaled writes put back on top of the snapshot
    shard_file: Path | None = None  # the file rebuilt

    def message(self) -> str:
        source = f"the backup {self.restored_from.name}" if self.restored_from else "its journal"
        if self.damaged_file is None:
            return (f"A history file ({self.shard_file.name if self.shard_file else '?'}) had vanished and was "
                    f"rebuilt from {source} ({self.replayed} saved changes replayed, none lost).")
        return (f"A history file was damaged and was restored from {source} ({self.replayed} saved changes "
                f"replayed, none lost). The damaged file is kept as {self.damaged_file.name}.")


class AtomicJSONStorage(Storage):
    """TinyDB storage written through the one atomic writer: a crash at any instant leaves either the old or the
    new file, never half of one."""

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


def shard_of(draft_id: str) -> int:
    """The shard a draft lives in, from its id alone."""
    return int.from_bytes(hashlib.blake2b(draft_id.encode(), digest_size=2).digest(), "big") % SHARDS


def doc_id_of(draft_id: str) -> int:
    """TinyDB's document id for a draft, from its id alone: never a per-process counter, so two processes or two
    store objects can never hand out the same one."""
    return int.from_bytes(hashlib.blake2b(draft_id.encode(), digest_size=7).digest(), "big")


# Legacy single-file layouts. LEGACY_MIGRATIONS[n] turns a version-n history.json (a dict of tables) into version
# n+1; version 1 is sharded by _migrate_legacy.
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


LEGACY_MIGRATIONS = [_migrate_0_to_1]


class HistoryFiles:
    """The history folder on disk. One lock guards every write (sessions run on their own threads and TinyDB is not
    thread-safe); a file lock keeps other processes out while a shard is read, changed and written."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.backups = self.folder / "backups"
        self.drafts = self.folder / "drafts"
        self.meta_path = self.folder / "meta.json"
        self.legacy_path = self.folder / "history.json"
        self.read_only: StoreError | None = None  # why writes are refused, shown to the team
        self.recoveries: list[Recovery] = []
        self._lock = threading.RLock()
        self._depth = 0
        self._cache: dict[int, tuple[tuple, dict[str, dict]]] = {}  # shard -> (file stamp, documents by id)
        self._journaled: dict[int, int] = {}  # shard -> journal lines since its snapshot
        try:
            for path in (self.folder, self.images, self.backups, self.drafts):
                path.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.folder / ".lock", "a+")
        except OSError as error:
            raise store_error(error, "open the history", self.folder) from None

    # -- locking -------------------------------------------------------------------------------------------
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

    # -- start-up ------------------------------------------------------------------------------------------
    def open(self) -> None:
        """Clear what a killed writer left, then adopt the folder: the current layout as it is, an earlier one
        migrated (its file kept in backups), anything unrecognised kept untouched with writes refused."""
        with self.locked():
            for path in [*self.drafts.glob("*.json"), self.meta_path, self.legacy_path]:
                for stray in stray_temp_files(path):
                    stray.unlink(missing_ok=True)
            meta = _read_json(self.meta_path) if self.meta_path.exists() else None
            if self.meta_path.exists():
                version = meta.get("schema_version") if isinstance(meta, dict) else None
                if version != SCHEMA_VERSION:
                    self._refuse_writes(self.meta_path, f"it says schema_version {version!r}; this app reads "
                                                        f"{SCHEMA_VERSION}")
                elif self.legacy_path.exists():  # a migration that stopped just before putting the old file away
                    self._put_legacy_away()
            elif self.legacy_path.exists():
                self._migrate_legacy()
            elif any(self.drafts.glob("*.json")):
                self._refuse_writes(self.drafts, "draft files are there but meta.json, which marks the layout, "
                                                 "is missing")
            else:
                write_json({"schema_version": SCHEMA_VERSION}, self.meta_path)

    def _refuse_writes(self, path: Path, why: str) -> None:
        self.read_only = StoreError("unrecognised", file=str(path), reason=why, backups=str(self.backups))

    def _migrate_legacy(self) -> None:
        tables = _read_json(self.legacy_path)
        if tables is None:  # damaged: the newest readable backup of the old layout
            for backup in sorted(self.backups.glob("history-*.json"), reverse=True):
                if (tables := _read_json(backup)) is not None:
                    damaged = self.legacy_path.with_name(f"history.damaged-{new_id()}.json")
                    os.replace(self.legacy_path, damaged)
                    shutil.copyfile(backup, self.legacy_path)
                    self.recoveries.append(Recovery(damaged, backup))
                    break
        if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
            self._refuse_writes(self.legacy_path, "it is not a TinyDB file this app can read")
            return
        version = next(iter(tables.get("meta", {}).values()), {}).get("schema_version")
        if version is None and "posts" in tables and "drafts" not in tables:
            version = 0  # the first layout had no marker; its one table is what proves it
        if version not in (0, 1):
            self._refuse_writes(self.legacy_path, f"it has no recognised schema marker (tables: "
                                                  f"{', '.join(sorted(tables)) or 'none'})")
            return
        for step in LEGACY_MIGRATIONS[version:]:
            tables = step(tables)
        by_shard: dict[int, list[dict]] = {}
        for document in tables["drafts"].values():
            if isinstance(document, dict) and isinstance(document.get("id"), str):
                by_shard.setdefault(shard_of(document["id"]), []).append(document)
        for shard, documents in by_shard.items():  # each shard written once; a rerun after a crash starts afresh
            with TinyDB(self.shard_path(shard), storage=AtomicJSONStorage) as db:
                table = db.table("drafts", cache_size=0)
                table.truncate()
                table.insert_multiple(Document(d, doc_id=doc_id_of(d["id"])) for d in documents)
        write_json({"schema_version": SCHEMA_VERSION}, self.meta_path)  # last: it proves the migration finished
        self._put_legacy_away()

    def _put_legacy_away(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        os.replace(self.legacy_path, self.backups / f"history-{stamp}-before-sharding.json")

    # -- shards --------------------------------------------------------------------------------------------
    def shard_path(self, shard: int) -> Path:
        return self.drafts / f"{shard:03d}.json"

    def journal_path(self, shard: int) -> Path:
        return self.drafts / f"{shard:03d}.journal"

    def documents(self, shard: int) -> dict[str, dict]:
        """The drafts of one shard by id, parsed again only when the file changed; a damaged shard is rebuilt."""
        return self.stamped_documents(shard)[1]

    def stamped_documents(self, shard: int) -> tuple[tuple, dict[str, dict]]:
        """(the file stamp they were read at, the drafts of one shard by id): the stamp changes with every write."""
        path = self.shard_path(shard)
        stamp = _stamp(path)
        cached = self._cache.get(shard)
        if cached and cached[0] == stamp:
            return cached
        table = _drafts_table(path) if stamp else {}
        # the shard file is gone while its journal or a snapshot says it held drafts: deleted, never emptied
        lost = not stamp and (_count_lines(self.journal_path(shard)) > 0 or self._snapshots(shard) != [])
        if table is None or lost:
            with self.locked():
                self._recover(shard)
            return self.stamped_documents(shard)
        documents = {}
        for document in table.values():
            if isinstance(document, dict):
                documents[str(document.get("id"))] = document
        self._cache[shard] = (stamp, documents)
        return stamp, documents

    def write(self, document: dict, what: str) -> None:
        """Journal the draft document, then write it into its shard. Call under locked(). what names the change
        in a disk-full message."""
        if self.read_only:
            raise self.read_only
        shard = shard_of(document["id"])
        journal = self.journal_path(shard)
        # 1. the journal first: once this line is on disk the write survives a damaged shard
        line = (json.dumps(document, ensure_ascii=False) + "\n").encode("utf-8")
        size = journal.stat().st_size if journal.exists() else 0
        if size == 0:
            line = MARKED + b"\n" + line
        try:
            with open(journal, "ab") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            _truncate(journal, size)
            raise store_error(error, what, self.folder) from None
        # 2. the shard, through TinyDB and the atomic writer
        try:
            with TinyDB(self.shard_path(shard), storage=AtomicJSONStorage) as db:
                db.table("drafts", cache_size=0).upsert(Document(document, doc_id=doc_id_of(document["id"])))
        except OSError as error:
            _truncate(journal, size)  # not acknowledged: recovery must not replay it
            raise store_error(error, what, self.folder) from None
        except ValueError:  # the shard was damaged under us: rebuilt from snapshot and journal, this line included
            self._commit(journal)
            self._recover(shard)
        else:
            # 3. the write is acknowledged: marked so, a recovery replays it; without the mark (killed before
            # this line) a recovery leaves it out, as the caller never heard it was saved
            self._commit(journal)
        # 4. now and then a snapshot, and the journal starts afresh
        if shard not in self._journaled:
            self._journaled[shard] = _count_writes(journal) - 1
        self._journaled[shard] += 1
        if self._journaled[shard] >= SNAPSHOT_EVERY_WRITES:
            self._snapshot(shard)

    @staticmethod
    def _commit(journal: Path) -> None:
        try:  # no fsync: the shard is on disk already, and a lost mark only costs the replay of a saved write
            with open(journal, "ab") as handle:
                handle.write(COMMITTED + b"\n")
        except OSError:
            pass

    def _snapshots(self, shard: int) -> list[Path]:
        """The shard's snapshots, newest first."""
        return sorted(self.backups.glob(f"{shard:03d}-*.json"), reverse=True)

    def _snapshot(self, shard: int) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        target = self.backups / f"{shard:03d}-{stamp}.json"
        try:
            shutil.copyfile(self.shard_path(shard), target.with_suffix(".tmp"))
            os.replace(target.with_suffix(".tmp"), target)
            write_text("", self.journal_path(shard))  # after the copy: a crash between them only replays twice
            self._journaled[shard] = 0
            for old in sorted(self.backups.glob(f"{shard:03d}-*.json"), reverse=True)[SNAPSHOTS_KEPT:]:
                old.unlink(missing_ok=True)
        except OSError:  # a snapshot is a convenience: the journal still holds every write
            target.with_suffix(".tmp").unlink(missing_ok=True)

    def _recover(self, shard: int) -> None:
        """Rebuild a damaged shard from its newest readable snapshot and its journal; keep the damaged file."""
        path = self.shard_path(shard)
        if _stamp(path) and _drafts_table(path) is not None:
            return  # another thread or process mended it first
        damaged = None
        if path.exists():  # kept for inspection; a vanished file is named as such, never as a file kept
            damaged = path.with_name(f"{path.stem}.damaged-{new_id()}.json")
            os.replace(path, damaged)
        documents: dict[str, dict] = {}
        source = None
        for snapshot in self._snapshots(shard):
            if (table := _drafts_table(snapshot)) is not None:
                documents = {d["id"]: d for d in table.values() if isinstance(d, dict)}
                source = snapshot
                break
        replayed = 0
        for document in _acknowledged(self.journal_path(shard)):
            documents[document["id"]] = document
            replayed += 1
        write_json({"drafts": {str(doc_id_of(i)): d for i, d in documents.items()}}, path, indent=None)
        if damaged is None and source is None and replayed == 0:
            return  # only a first write that was killed before it was acknowledged: nothing to restore or report
        self.recoveries.append(Recovery(damaged, source, replayed, path))

    def close(self) -> None:
        self._lock_file.close()


def _stamp(path: Path) -> tuple:
    try:
        status = path.stat()
    except FileNotFoundError:
        return ()
    return status.st_ino, status.st_mtime_ns, status.st_size


def _read_json(path: Path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _drafts_table(path: Path) -> dict | None:
    """The drafts table of a shard or snapshot file, or None where the file is not a readable one."""
    tables = _read_json(path)
    if tables is None or not isinstance(tables.get("drafts", {}), dict):
        return None
    return tables.get("drafts", {})


def _count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _count_writes(path: Path) -> int:
    """The documents a journal holds (its acknowledgement marks aside)."""
    data = path.read_bytes() if path.exists() else b""
    return data.count(b"\n") - data.count(COMMITTED + b"\n") - data.startswith(MARKED + b"\n")


def _acknowledged(journal: Path) -> list[dict]:
    """The journal's documents whose write was acknowledged: each one followed by its mark. A journal of an
    earlier version has no marks at all; every whole line of it was acknowledged. A torn line never was."""
    try:
        lines = journal.read_bytes().splitlines()
    except FileNotFoundError:
        return []
    marked = bool(lines) and lines[0] == MARKED
    found = []
    for index, raw in enumerate(lines):
        if raw in (COMMITTED, MARKED):
            continue
        try:
            document = json.loads(raw)
        except ValueError:
            continue  # a torn line: that write was never acknowledged
        if not isinstance(document, dict) or "id" not in document:
            continue
        if marked and (index + 1 >= len(lines) or lines[index + 1] != COMMITTED):
            continue  # killed between the journal and the shard: the caller never heard it was saved
        found.append(document)
    return found


def _truncate(path: Path, size: int) -> None:
    try:
        with open(path, "r+b") as handle:
            handle.truncate(size)
    except OSError:
        pass


def store_error(error: OSError, what: str, folder: Path) -> StoreError:
    """The StoreError for a failed write: disk full, or another cause named."""
    if error.errno in DISK_FULL:
        return StoreError("disk_full", folder=str(folder), action=what)
    return StoreError("write_failed", folder=str(folder), action=what, reason=error.strerror or str(error))
