"""Files written so a crash never leaves half of one: the one atomic writer, ids for file names, built folders."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

TEMP_SUFFIX = ".tmp"


def write_json(data, path: Path, indent: int | None = 2) -> Path:
    """Write data as UTF-8 JSON, atomically."""
    payload = json.dumps(data, ensure_ascii=False, indent=indent).encode("utf-8")
    return atomic_write(Path(path), lambda handle: handle.write(payload))


def write_text(text: str, path: Path) -> Path:
    """Write text as UTF-8, atomically."""
    return atomic_write(Path(path), lambda handle: handle.write(text.encode("utf-8")))


def new_id() -> str:
    """A sortable unique id for file names: never derived from user text."""
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def atomic_write(path: Path, write) -> Path:
    """Call write(handle) on a temp file beside path, fsync it and rename it over path: a crash at any instant
    leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX, delete=False)
    try:
        with handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(handle.name, 0o666 & ~_umask())
        os.replace(handle.name, path)
        _fsync_directory(path.parent)  # the rename itself survives a power cut only once its folder is synced
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
    return path


def stray_temp_files(path: Path) -> list[Path]:
    """Temp files a writer killed mid-write left beside path."""
    return list(Path(path).parent.glob(f".{Path(path).name}.*{TEMP_SUFFIX}"))


def _fsync_directory(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def ensure_built(folder: Path, build) -> Path:
    """folder, built by build(tmp_folder) first if missing; the rename makes a half-built folder impossible, and a
    lock beside it makes processes that start together (server workers, test workers) build it once: a second
    builder would otherwise delete the folder the first one's process is already loading."""
    folder = Path(folder)
    if (folder / ".complete").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.parent / f".{folder.name}.lock")):
        if (folder / ".complete").exists():  # built by whoever held the lock before us
            return folder
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            build(staging)
            (staging / ".complete").write_text("built\n")
            if folder.exists():  # a build cut off before it completed
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def model_label(source: str) -> str:
    """How a model is named in records and image metadata: a hub id as it is, a local folder by its own name only
    (a path would tell whoever receives the image about the machine it was made on)."""
    if source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source:
        return Path(source.replace("\\", "/")).name or source
    return source


def file_stem(text: str, limit: int = 60) -> str:
    """A file name made from a product name people can read: accents dropped, lower case, words joined by
    hyphens, at most limit characters ("draft" when nothing is left)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    stem = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:limit].rstrip("-")
    return stem or "draft"
