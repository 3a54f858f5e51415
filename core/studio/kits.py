"""The team's brand kits, kept in the history folder: every save a new version, old versions kept, so a draft can
always show the kit it was written under. Only this repository touches the kits' files.

    FOLDER/kits.json                     a TinyDB file (table "kits"): a document per kit, all its versions
    FOLDER/kits/ID-vN-logo.png           the logo of version N of kit ID (a version without a new logo keeps the
    FOLDER/kits/ID-vN-font.ttf|.otf      last one's file name), and its font
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from PIL import Image
from tinydb import TinyDB
from tinydb.table import Document

from core.content.brand import BrandKit, KitError
from core.files import atomic_write, new_id
from core.image.brand_assets import read_font, read_logo
from core.image.png import write_png
from core.studio.records import now
from core.studio.storage import AtomicJSONStorage, HistoryError, HistoryFiles, doc_id_of, store_error

KIT_FILE = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}-v[0-9]+-(?:logo\.png|font\.(?:ttf|otf))$")


@dataclasses.dataclass(frozen=True)
class KitAsset:
    """A logo or font file as a face received it, checked when the kit is saved."""

    data: bytes
    name: str = ""


class KitStore:
    """Brand kits, read and written as BrandKit values under the history's file lock."""

    def __init__(self, files: HistoryFiles):
        self.files = files
        self.path = files.folder / "kits.json"
        self.folder = files.folder / "kits"
        self.skipped: list[HistoryError] = []  # the kits the last list() could not read

    def _documents(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            with TinyDB(self.path, storage=AtomicJSONStorage) as db:
                return {str(doc.get("id")): dict(doc) for doc in db.table("kits", cache_size=0).all()}
        except ValueError:
            raise HistoryError("kits_unreadable", file=str(self.path)) from None

    def save(self, kit: BrandKit, author: str, logo: KitAsset | None = None, font: KitAsset | None = None) -> BrandKit:
        """Save kit as a new version (its first, where kit.id is empty) and return it with its id and version. A new
        logo or font replaces the last version's; otherwise the kit's own logo_file and font_file are kept, so ""
        removes them."""
        if self.files.read_only:
            raise self.files.read_only
        # 1. the kit's rules against each other, and the files, checked before anything is written
        kit.check_rules()
        logo_image = read_logo(logo.data, logo.name) if logo is not None else None
        font_extension = read_font(font.data, font.name) if font is not None else None
        with self.files.locked():
            documents = self._documents()
            # 2. the version number, and names for the new files
            kit_id = kit.id or new_id()
            if kit.id and kit.id not in documents:
                raise HistoryError("no_kit", value=kit.id)
            versions = documents.get(kit_id, {}).get("versions", [])
            clash = next((d for i, d in documents.items() if i != kit_id and
                          d["versions"][-1]["name"].casefold() == kit.name.casefold()), None)
            if clash is not None:
                raise HistoryError("kit_name_taken", field="kit_name", value=kit.name)
            version = len(versions) + 1
            for name in (kit.logo_file, kit.font_file):
                if name and not self._known(name):
                    raise HistoryError("bad_image_name", field="kit", value=name)
            saved = dataclasses.replace(kit, id=kit_id, version=version)
            written = []
            try:
                if logo_image is not None:
                    saved = dataclasses.replace(saved, logo_file=f"{kit_id}-v{version}-logo.png")
                    written.append(write_png(self.folder / saved.logo_file, logo_image))
                if font is not None:
                    saved = dataclasses.replace(saved, font_file=f"{kit_id}-v{version}-font{font_extension}")
                    written.append(atomic_write(self.folder / saved.font_file,
                                                lambda handle: handle.write(font.data)))
                # 3. the record, every earlier version kept
                document = {"id": kit_id, "versions": [*versions, {**saved.to_dict(), "saved_by": author,
                                                                   "saved_at": now()}]}
                with TinyDB(self.path, storage=AtomicJSONStorage) as db:
                    db.table("kits", cache_size=0).upsert(Document(document, doc_id=doc_id_of(kit_id)))
            except OSError as error:
                for path in written:
                    path.unlink(missing_ok=True)
                raise store_error(error, f"save the brand kit {kit.name!r}", self.files.folder) from None
        return saved

    def get(self, kit_id: str, version: int | None = None) -> BrandKit:
        """Version version of a kit (its newest where None), or a HistoryError."""
        document = self._documents().get(kit_id)
        if document is None:
            raise HistoryError("no_kit", value=kit_id)
        try:
            versions = document["versions"]
            chosen = versions[-1] if version is None else next((v for v in versions if v["version"] == version),
                                                               None)
            if chosen is None:
                raise HistoryError("no_kit", value=f"{kit_id} v{version}")
            return BrandKit.from_dict(chosen)
        except KitError as error:  # a field the kit's own checks refuse
            raise HistoryError("kit_unreadable", value=kit_id, reason=error.message) from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise HistoryError("kit_unreadable", value=kit_id, reason=f"{type(error).__name__}: {error}") from None

    def named(self, name: str) -> BrandKit:
        """The newest version of the kit called name (case and spacing aside), or a HistoryError listing the kits."""
        for kit in self.list():
            if kit.name.casefold() == name.strip().casefold():
                return kit
        raise HistoryError("no_kit_named", field="kit", value=name,
                           allowed=", ".join(kit.name for kit in self.list()) or "—")

    def list(self) -> list[BrandKit]:
        """The newest version of every kit, by name. A kit whose stored record cannot be read is left out and named
        in self.skipped, so one bad record never takes a page down."""
        kits, self.skipped = [], []
        for kit_id in self._documents():
            try:
                kits.append(self.get(kit_id))
            except HistoryError as error:
                self.skipped.append(error)
        return sorted(kits, key=lambda kit: kit.name.casefold())

    def logo(self, kit: BrandKit) -> Image.Image | None:
        """The kit's logo as RGBA, if it has one and the file is there."""
        path = self.asset_path(kit.logo_file) if kit.logo_file else None
        if path is None or not path.exists():
            return None
        with Image.open(path) as logo:
            return logo.convert("RGBA")

    def font_path(self, kit: BrandKit | None) -> Path | None:
        """The kit's own font file, or None for the shipped font."""
        if kit is None or not kit.font_file:
            return None
        path = self.asset_path(kit.font_file)
        return path if path.exists() else None

    def asset_path(self, name: str) -> Path:
        """The path of a kit's logo or font; names this store did not give are refused."""
        if not self._known(name):
            raise HistoryError("bad_image_name", field="kit", value=str(name))
        return self.folder / name

    @staticmethod
    def _known(name: str) -> bool:
        return isinstance(name, str) and bool(KIT_FILE.match(name))

    def export(self, kit: BrandKit) -> dict[str, bytes]:
        """The kit's files for an export: kit.json, and its logo and font where it has them."""
        files = {"kit.json": json.dumps(kit.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")}
        for name in (kit.logo_file, kit.font_file):
            if name and (path := self.asset_path(name)).exists():
                files[name.rsplit("-", 1)[-1]] = path.read_bytes()
        return files

