"""Catalog batches: a CSV or XLSX of products becomes a draft per row and channel, under one brand kit, written (and
rendered) one after another on the studio's worker. The batch's state is a file of its own, saved after every
item, and each draft records the item it came from, so a batch stopped by a restart resumes where it was: nothing
redone, nothing lost. Bad rows are reported naming the row and the column; the rest go on."""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.content.brand import BrandKit
from core.content.brief import Brief, Language, parse_content_type, parse_keywords
from core.errors import BriefError, CoreError, SettingsError
from core.files import new_id, write_json
from core.image.settings import ImageSettings
from core.messages import Message
from core.studio.export import COLUMN, HEADINGS, MANIFEST_HEADINGS, export_zip, table_headings
from core.studio.history import DRAFT_ID, HistoryStore
from core.studio.jobs import render_post, write_post
from core.studio.progress import Progress
from core.studio.spreadsheets import write_csv, write_xlsx
from core.studio.records import now
from core.studio.storage import HistoryError, store_error

MAX_CATALOG_BYTES = 5 * 1024 * 1024
MAX_CATALOG_ROWS = 500
CATALOG_FORMATS = ("csv", "xlsx")
# What a catalog's headings are usually called, in the three languages, for each brief field (folded: lower case,
# no accents). The team can map the columns otherwise before the batch starts.
COLUMN_NAMES = {
    "product": ("produto", "product", "producto", "nome", "name", "nombre", "item"),
    "key_facts": ("fatos principais", "fatos", "key facts", "facts", "datos clave", "caracteristicas", "features",
                  "descricao", "description", "descripcion", "detalhes", "details"),
    "price": ("preco", "price", "precio", "valor"),
    "link": ("link", "url", "enlace", "site", "pagina"),
    "audience": ("publico", "audience", "publico alvo", "target"),
    "tone": ("tom", "tone", "tono"),
    "keywords": ("palavras-chave", "palavras chave", "keywords", "palabras clave"),
    "call_to_action": ("cta", "chamada para acao", "call to action", "llamada a la accion"),
    "content_type": ("canal", "channel", "formato", "content type"),
    "language": ("idioma", "language", "lingua", "lengua"),
    "brand_notes": ("notas da marca", "brand notes", "notas de marca", "observacoes", "notes", "notas"),
}
PRICE_LABEL = {Language.PT_BR: "Preço", Language.EN: "Price", Language.ES: "Precio"}


@dataclass(frozen=True)
class Catalog:
    """A spreadsheet's headings and rows, every cell as text. formulas: the cells (row index in rows, column
    index) that hold a formula with no saved result, as the formula and the cell's name (such as C3): their text is
    empty, and a row that needs one is refused naming the cell."""

    headers: list[str]
    rows: list[list[str]]
    formulas: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)


def read_catalog(data: bytes, name: str) -> Catalog:
    """The first sheet of an XLSX, or a CSV (comma, semicolon or tab separated; UTF-8 or Windows-1252), as a Catalog;
    a SettingsError naming the file where it is too big, unreadable, empty or too long."""
    if len(data) > MAX_CATALOG_BYTES:
        raise SettingsError("catalog", name, "upload_too_large", size=f"{len(data) / 1024 / 1024:.1f}",
                            limit=f"{MAX_CATALOG_BYTES / 1024 / 1024:.0f}")
    kind = Path(name).suffix.lower().lstrip(".")
    if kind not in CATALOG_FORMATS:
        raise SettingsError("catalog", name, "catalog_unreadable", allowed=", ".join(CATALOG_FORMATS))
    try:
        table = _xlsx_rows(data) if kind == "xlsx" else _csv_rows(data)
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, csv.Error):
        raise SettingsError("catalog", name, "catalog_unreadable", allowed=", ".join(CATALOG_FORMATS)) from None
    table = [row for row in table if any(cell.strip() or isinstance(cell, _Formula) for cell in row)]
    if len(table) < 2:
        raise SettingsError("catalog", name, "catalog_empty")
    if len(table) - 1 > MAX_CATALOG_ROWS:
        raise SettingsError("catalog", name, "catalog_too_long", count=len(table) - 1, limit=MAX_CATALOG_ROWS)
    headers = [cell.strip() for cell in table[0]]
    rows = [row + [""] * (len(headers) - len(row)) for row in table[1:]]
    formulas = {(r, c): (cell.formula, cell.cell) for r, row in enumerate(rows) for c, cell in enumerate(row)
                if isinstance(cell, _Formula)}
    return Catalog(headers, [[str(cell) for cell in row] for row in rows], formulas)


class _Formula(str):
    """An XLSX cell holding a formula whose result the file does not keep (openpyxl writes none; Excel and Sheets
    save one): empty text that remembers the formula and the cell's name."""

    def __new__(cls, formula: str, cell: str):
        made = super().__new__(cls, "")
        made.formula, made.cell = formula, cell
        return made


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")  # Excel's CSV on Windows in Brazil and Spain
    if "\x00" in text:
        raise ValueError("binary data")
    first = text.splitlines()[0] if text.strip() else ""
    separator = max(";,\t", key=first.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=separator)]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's cells as text: a formula's saved result where the file keeps one, else a _Formula."""
    from openpyxl import load_workbook  # only where a spreadsheet is read: it is slow to import
    from openpyxl.utils import get_column_letter
    values = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    formulas = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        rows = []
        pairs = zip(values.worksheets[0].iter_rows(values_only=True, max_row=MAX_CATALOG_ROWS + 2),
                    formulas.worksheets[0].iter_rows(values_only=True, max_row=MAX_CATALOG_ROWS + 2))
        for number, (row, written) in enumerate(pairs, start=1):
            cells = []
            for column, (value, source) in enumerate(zip(row, written), start=1):
                if value is None and isinstance(source, str) and source.startswith("="):
                    cells.append(_Formula(source, f"{get_column_letter(column)}{number}"))
                else:
                    cells.append("" if value is None else _cell_text(value))
            rows.append(cells)
        return rows
    finally:
        values.close()
        formulas.close()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def guess_columns(headers: list[str]) -> dict[str, str]:
    """For each brief field, the catalog heading that names it, where one does."""
    folded = {_fold(header): header for header in headers}
    found = {}
    for name, names in COLUMN_NAMES.items():
        heading = next((folded[n] for n in names if n in folded), None)
        if heading is not None:
            found[name] = heading
    return found


def _fold(text: str) -> str:
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return re.sub(r"[\s_]+", " ", plain).strip()


@dataclass
class BatchItem:
    """One draft to write: a catalog row on one channel, its brief (None where the row is bad), and how it went."""

    row: int  # the row's number in the spreadsheet, headings being row 1
    channel: str
    brief: dict | None
    status: str = "pending"  # pending | written (the draft saved, its image not yet) | done | failed
    draft_id: str = ""
    error: dict | None = None  # {"code", "params"} of what went wrong
    problems: list = field(default_factory=list)  # the saved copy's broken rules, {"code", "params"} each


@dataclass
class Batch:
    """A catalog batch: its items and the settings they share."""

    id: str
    name: str
    author: str
    created_at: str
    language: str
    kit: dict | None
    images: bool
    items: list[BatchItem] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(item.status == status for item in self.items)

    @property
    def with_problems(self) -> int:
        """Items done whose saved copy still breaks a rule: done, but not ready to publish."""
        return sum(item.status == "done" and bool(item.problems) for item in self.items)

    @property
    def finished(self) -> bool:
        return all(item.status in ("done", "failed") for item in self.items)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Batch":
        items = [BatchItem(**item) for item in data.get("items", [])]
        return cls(**{**{k: data[k] for k in cls.__dataclass_fields__ if k != "items"}, "items": items})


def plan_batch(catalog: Catalog, columns: dict[str, str], channels: list[str], language: str = "pt-BR",
               kit: BrandKit | None = None) -> list[BatchItem]:
    """An item per row and channel (a row's own channel column, where mapped and filled, instead of channels);
    a bad row becomes failed items whose error names the row, the column and the problem."""
    if "product" not in columns:
        raise SettingsError("columns", ", ".join(catalog.headers), "catalog_no_product")
    for heading in columns.values():
        if heading not in catalog.headers:
            raise SettingsError("columns", heading, "not_one_of", allowed=", ".join(catalog.headers))
    for channel in channels:
        parse_content_type(channel)
    items = []
    for index, (number, row) in enumerate(enumerate(catalog.rows, start=2)):
        cell = {name: row[catalog.headers.index(heading)].strip() for name, heading in columns.items()}
        row_channels = [cell["content_type"]] if cell.get("content_type") else list(channels)
        unsaved = next(((heading, *catalog.formulas[index, catalog.headers.index(heading)])
                        for heading in columns.values() if (index, catalog.headers.index(heading)) in catalog.formulas),
                       None)
        if unsaved is not None:  # a value the file does not hold: never guess it, never drop it silently
            heading, formula, name = unsaved
            items += [BatchItem(number, channel, None, "failed", error={
                "code": "catalog_formula", "params": {"row": number, "column": heading, "cell": name,
                                                      "value": formula}}) for channel in row_channels]
            continue
        for channel in row_channels:
            try:
                brief = _brief_of(cell, channel, language, kit)
                items.append(BatchItem(number, channel, brief.to_dict()))
            except BriefError as error:
                problem = error.problems[0]
                column = columns.get(problem.field, columns.get("product"))
                if problem.field == "content_type":
                    column = columns.get("content_type", problem.field)
                items.append(BatchItem(number, channel, None, "failed", error={
                    "code": "catalog_row", "params": {"row": number, "column": column,
                                                      "problem": [{"code": p.code, "params": _plain(p.params)}
                                                                  for p in error.problems]}}))
    return items


def _brief_of(cell: dict[str, str], channel: str, language: str, kit: BrandKit | None) -> Brief:
    language = cell.get("language") or language  # a row's own language column wins, checked by the brief
    facts = cell.get("key_facts", "")
    if cell.get("price"):
        label = PRICE_LABEL.get(Language(language) if language in {l.value for l in Language} else Language.PT_BR)
        facts = "\n".join(filter(None, [facts, f"{label}: {cell['price']}"]))
    brief = Brief(product=cell.get("product", ""), content_type=channel, language=language,
                  audience=cell.get("audience", ""), tone=cell.get("tone", ""),
                  keywords=parse_keywords(cell.get("keywords", "")), call_to_action=cell.get("call_to_action", ""),
                  key_facts=facts, link=cell.get("link", ""), brand_notes=cell.get("brand_notes", ""))
    return brief.under_kit(kit)


def _plain(params: Mapping) -> dict:
    """params as JSON keeps them: a Message (a text server's failure, say) as its code and parameters, so each face
    still words it in its own language; anything else as its English text."""
    return {k: v if isinstance(v, (str, int, float, bool, type(None)))
            else {"code": v.code, "params": _plain(v.params)} if isinstance(v, Message) else str(v)
            for k, v in params.items()}


def _from_plain(params: Mapping) -> dict:
    """The parameters _plain kept, with its Messages made Messages again."""
    def back(value):
        if isinstance(value, list):
            return [back(item) for item in value]
        if isinstance(value, dict) and set(value) == {"code", "params"}:
            return Message(value["code"], _from_plain(value["params"]))
        return value
    return {name: back(value) for name, value in params.items()}


def item_message(item: BatchItem) -> Message | None:
    """What went wrong with an item, for each face to word in its language."""
    return Message(item.error["code"], _from_plain(item.error["params"])) if item.error else None


def item_problems(item: BatchItem) -> list[Message]:
    """The rules an item's saved copy still breaks, for each face to word in its language."""
    return [Message(problem["code"], _from_plain(problem["params"])) for problem in item.problems]


class Batches:
    """The batches of a history folder, a JSON file each, written atomically under the history's lock."""

    def __init__(self, store: HistoryStore):
        self.store = store
        self.folder = store.folder / "batches"
        self.skipped: list[HistoryError] = []  # the batches the last list() could not read

    def create(self, name: str, items: list[BatchItem], author: str, language: str, kit: BrandKit | None,
               images: bool) -> Batch:
        batch = Batch(new_id(), name, author, now(), language, kit.to_dict() if kit else None, images, items)
        self.save(batch)
        return batch

    def save(self, batch: Batch) -> None:
        try:
            with self.store.files.locked():
                write_json(batch.to_dict(), self.folder / f"{batch.id}.json")
        except OSError as error:
            raise store_error(error, "save the batch", self.folder) from None

    def get(self, batch_id: str) -> Batch:
        if not isinstance(batch_id, str) or not DRAFT_ID.match(batch_id):  # ids from core.files.new_id, as drafts
            raise HistoryError("no_batch", value=str(batch_id))
        path = self.folder / f"{batch_id}.json"
        try:
            return Batch.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise HistoryError("no_batch", value=batch_id) from None
        except (ValueError, TypeError, KeyError, AttributeError):
            raise HistoryError("batch_unreadable", value=batch_id) from None

    def list(self) -> list[Batch]:
        """Every batch, newest first; one whose file cannot be read is left out and named in self.skipped."""
        found, self.skipped = [], []
        for path in sorted(self.folder.glob("*.json"), reverse=True):
            try:
                found.append(self.get(path.stem))
            except HistoryError as error:
                self.skipped.append(error)
        return found


def run_batch(progress: Progress, batches: Batches, batch_id: str, text_model: Callable, image_model: Callable | None,
              author: str, settings: ImageSettings = ImageSettings(),
              on_item: Callable[[Batch], None] | None = None) -> Batch:
    """Write (and, where the batch asks, render) every item not done yet, saving the batch after each (and telling on_item). An item whose
    draft a stopped run already saved is picked up, not written again. Cancelling stops between steps; what was
    saved stays."""
    store = batches.store
    batch = batches.get(batch_id)
    # 1. drafts an earlier, stopped run saved after its last batch write
    origins = {d.origin: d.id for d in store.list_drafts() if d.origin.startswith(f"{batch.id}:")}
    for index, item in enumerate(batch.items):
        if item.status == "pending" and f"{batch.id}:{index}" in origins:
            item.status, item.draft_id = "written", origins[f"{batch.id}:{index}"]
    batches.save(batch)

    def count() -> None:
        done, failed = batch.count("done"), batch.count("failed")
        progress.items = (done, failed, len(batch.items) - done - failed)
    for index, item in enumerate(batch.items):
        if item.status in ("done", "failed"):
            continue
        progress.check_cancelled()
        count()
        try:
            # 2. the copy and visual prompt, saved as a draft marked with the item
            if item.status == "pending":
                brief = Brief.from_dict(item.brief)
                result = write_post(progress, brief, text_model, store, author, origin=f"{batch.id}:{index}")
                item.status, item.draft_id = "written", result.draft_id
                item.problems = [{"code": v.code, "params": _plain({"actual": v.actual, "limit": v.limit,
                                                                    **v.params})} for v in result.copy.violations]
                batches.save(batch)
            # 3. its image, with the draft's prompt
            if batch.images and image_model is not None:
                progress.check_cancelled()
                prompt = store.get(item.draft_id).prompt
                render_post(progress, item.draft_id, prompt.prompt, prompt.negative_prompt, settings, image_model,
                            store, author)
            item.status = "done"
        except CoreError as error:
            if error.code == "job_cancelled":
                batches.save(batch)
                raise
            item.status = "failed"
            item.error = {"code": error.code, "params": _plain(error.params)}
        batches.save(batch)
        count()
        if on_item:
            on_item(batch)
    progress.progress = 1.0
    return batch


# batch.csv's columns, headed for a manager in each language
BATCH_HEADINGS = {"row": ("linha", "row", "fila"), "channel": HEADINGS["channel"],
                  "product": MANIFEST_HEADINGS["product"], "status": ("situação", "status", "estado"),
                  "error": ("erro", "error", "error"),
                  "problems": ("problemas no texto", "copy problems", "problemas del texto"),
                  "draft_id": MANIFEST_HEADINGS["draft_id"],
                  "copy": ("texto", "copy", "texto"), "images": ("imagens", "images", "imágenes")}
STATUS_WORDS = {"pending": ("pendente", "pending", "pendiente"), "written": ("texto pronto", "copy written",
                                                                           "texto listo"),
                "done": ("pronto", "done", "listo"), "failed": ("com erro", "failed", "con error"),
                "done_with_problems": ("pronto com problemas", "done with problems", "listo con problemas")}


def export_batch(store: HistoryStore, batch: Batch, language: str = "pt-BR") -> bytes:
    """The batch's drafts as one ZIP (as export_zip makes it), with batch.csv and batch.xlsx: a line per item with
    its row, channel, status, error, copy and image files, headed and worded in language, no cell a formula."""
    done = [item.draft_id for item in batch.items if item.draft_id]
    archive_bytes = export_zip(store, done, language)
    column = COLUMN.get(language, 0)
    rows = []
    for item in batch.items:
        product = (item.brief or {}).get("product", "")
        copy_text, images = "", ""
        if item.draft_id:
            draft = store.get(item.draft_id)
            product, copy_text = draft.brief.product, draft.copy.text
            images = " ".join(f"image-v{v.n}.png" for v in draft.image_versions)
        message = item_message(item)
        shown = "done_with_problems" if item.status == "done" and item.problems else item.status
        status = STATUS_WORDS[shown][column] if shown in STATUS_WORDS else item.status
        problems = "; ".join(problem.text(language) for problem in item_problems(item))
        rows.append([item.row, item.channel, product, status, message.text(language) if message else "", problems,
                     item.draft_id, copy_text, images])
    headings = table_headings(list(BATCH_HEADINGS), BATCH_HEADINGS, language)
    buffer = io.BytesIO(archive_bytes)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("batch.csv", write_csv(headings, rows, language))
        archive.writestr("batch.xlsx", write_xlsx(headings, rows, "batch"))
    return buffer.getvalue()
