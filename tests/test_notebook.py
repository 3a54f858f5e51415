"""The notebook face driven as a person would: fields typed, buttons clicked, results read from the widgets."""
import sys
import zipfile

import pytest

ipywidgets = pytest.importorskip("ipywidgets")

from core.studio.history import HistoryStore  # noqa: E402
from core.studio.root import get_studio  # noqa: E402
from notebook_app import NotebookStudio  # noqa: E402


@pytest.fixture
def notebook(app_env):
    return NotebookStudio("Ana", studio=get_studio())


def test_a_brief_becomes_a_draft_then_images_without_freezing_the_notebook(notebook, tmp_path):
    notebook.product.value = "Café Serra Azul"
    notebook.cta.value = "Peça já"
    notebook.write_button.click()
    assert notebook.write_button.disabled and not notebook.cancel_button.disabled  # the click returned at once
    assert notebook.wait(300)
    assert notebook.copy.value and notebook.prompt.value.startswith("professional advertising photograph")
    assert "Rascunho salvo: Café Serra Azul" in notebook.status.value
    assert "CTA" in notebook.rules.value and not notebook.write_button.disabled
    notebook.steps.value = 2
    notebook.render_button.click()
    assert notebook.wait(300)
    notebook.new_button.click()
    assert notebook.wait(300)
    [draft] = HistoryStore(tmp_path / "data").list_drafts()
    assert len(draft.image_versions) == 2 and len(notebook.gallery.children) == 2  # every image of the session
    assert notebook.seed.value == draft.image_versions[-1].seed  # the seed box agrees with the newest image
    assert notebook.gallery.children[0].children[0].value[:4] == b"\x89PNG"
    # the newest image extended to 9:16, as a new version that says where it came from
    notebook.edit_kind.value = "extend"
    notebook.target.value = "story"
    notebook.edit_button.click()
    assert notebook.wait(300)
    newest = HistoryStore(tmp_path / "data").get(draft.id).image_versions[-1]
    assert (newest.edit, newest.parent, newest.settings.size) == ("extend", 2, "768x1344")
    assert len(notebook.gallery.children) == 3
    # the fast mode, for the free T4: the trade is said and the controls it overrides rest
    notebook.quality.value = "fast"
    assert notebook.steps.disabled and notebook.quality_help.layout.display == ""
    notebook.render_button.click()
    assert notebook.wait(300)
    fast = HistoryStore(tmp_path / "data").get(draft.id).image_versions[-1]
    assert (fast.settings.quality, fast.settings.steps, fast.parent) == ("fast", 4, None)


def choose_file(upload, name: str, data: bytes) -> None:
    """What the browser sends when a file is picked in a FileUpload (ipywidgets 7's message; 8 sets value)."""
    if "data" in upload.trait_names():
        upload.metadata = [{"name": name, "type": "image/png", "size": len(data), "lastModified": 0}]
        upload.data = [data]
        upload._counter += 1
    else:
        from datetime import datetime, timezone
        upload.value = ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
                         "last_modified": datetime.now(timezone.utc)},)


def test_a_photo_uploaded_in_the_notebook_keeps_its_product_while_the_background_is_repainted(notebook, tmp_path):
    import io

    import numpy as np
    from PIL import Image, ImageDraw
    notebook.product.value = "Caixa de presente"
    notebook.write_button.click()
    assert notebook.wait(300)
    notebook.upload_button.click()  # nothing chosen yet: said, nothing saved
    assert "Foto do produto ou esboço" in notebook.status.value
    photo = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(photo).rectangle((200, 150, 400, 450), fill=(20, 90, 200, 255))
    data = io.BytesIO()
    photo.save(data, format="PNG")
    choose_file(notebook.upload, "caixa.png", data.getvalue())
    notebook.upload_button.click()
    assert "caixa.png entrou como imagem v1 (1024x1024)" in notebook.status.value
    assert notebook.region.value == "cutout" and len(notebook.gallery.children) == 1
    notebook.edit_kind.value = "inpaint"
    notebook.steps.value = 2
    notebook.edit_button.click()
    assert notebook.wait(300)
    store = HistoryStore(tmp_path / "data")
    [draft] = store.list_drafts()
    v1, v2 = draft.image_versions
    assert (v1.edit, v2.edit, v2.parent) == ("upload", "inpaint", 1)
    with Image.open(store.image_path(v1.file)) as before, Image.open(store.image_path(v2.file)) as after:
        before, after = np.array(before.convert("RGB")), np.array(after.convert("RGB"))
    box = before[:, :, 0] < 100
    assert np.array_equal(after[box], before[box]) and not np.array_equal(after[~box], before[~box])
    choose_file(notebook.upload, "notas.txt", b"not an image at all")
    notebook.upload_button.click()
    assert "“notas.txt” não é uma imagem que o estúdio lê" in notebook.status.value


def test_a_brief_sent_while_the_models_load_shows_their_loading_then_is_written(app_env):
    """The notebook starts loading the models when it opens (a new Colab session loads them while the brief is
    typed); a brief sent meanwhile waits behind that load showing how far it has come, then is written."""
    import threading
    import time
    from core.profiles import Environment
    from core.studio.root import Studio
    release = threading.Event()

    class FirstStart(Studio):
        """The tiny studio loading its models at start as the full profile does, the load held until released (a
        first download takes minutes)."""
        loads_at_start = True

        def _load_and_accelerate(self, job):
            job.enter("loading_text")
            release.wait(120)
            super()._load_and_accelerate(job)

    studio = FirstStart(Environment.read(), device="cpu")
    notebook = NotebookStudio("Ana", studio=studio)
    assert studio.warming_up is not None  # loading since the notebook opened, before any click
    notebook.product.value = "Café Serra Azul"
    notebook.write_button.click()
    deadline = time.monotonic() + 30
    while "Carregando o modelo de texto" not in notebook.status.value and time.monotonic() < deadline:
        notebook._ui.drain()
        time.sleep(0.1)
    assert "Carregando o modelo de texto" in notebook.status.value, notebook.status.value
    release.set()
    assert notebook.wait(300)
    assert "Rascunho salvo: Café Serra Azul" in notebook.status.value and studio.warming_up is None


def test_bad_input_is_a_short_message_in_the_interface_language(app_env):
    english = NotebookStudio("Ana", language="en", studio=get_studio())
    english.link.value = "loja.com.br"
    english.write_button.click()
    assert "product must not be empty" in english.status.value and "link must be a web address" in english.status.value
    assert "Traceback" not in english.status.value and english.job is None
    with pytest.raises(Exception) as refused:
        NotebookStudio("  ", studio=get_studio())
    assert "Nome: preencha este campo" in refused.value.text("pt-BR")


def test_the_history_tab_shares_the_store_opens_and_exports(notebook, tmp_path):
    from core.content.brief import Brief
    store = HistoryStore(tmp_path / "data")  # a teammate's draft, written by another face
    draft_id = store.create_draft(Brief(product="Tênis Corre+", content_type="x", call_to_action="Corra"),
                                  "Corra leve. Corra!", "running shoes on asphalt", "blurry", "Bia")
    notebook.refresh_history()
    assert [value for _, value in notebook.drafts.options] == [draft_id]
    notebook.drafts.value = draft_id
    notebook.open_button.click()
    assert notebook.copy.value == "Corra leve. Corra!" and notebook.widget.selected_index == 0
    assert "Tênis Corre+" in notebook.review.value and "rascunho" in notebook.review.value
    notebook.next_state.value = "in_review"
    notebook.state_button.click()
    notebook.comment_button.click()  # an empty comment is refused, in the interface's words
    assert "Comentário: preencha este campo" in notebook.history_status.value
    notebook.comment.value = "Trocar a foto"
    notebook.comment_button.click()
    again = HistoryStore(tmp_path / "data").get(draft_id)
    assert again.state == "in_review" and [(c.author, c.text) for c in again.comments] == [("Ana", "Trocar a foto")]
    assert "Trocar a foto" in notebook.comments.value
    path = notebook.export(tmp_path)
    assert path.name.startswith("tenis-corre-") and "tenis-corre-" in zipfile.ZipFile(path).namelist()[0]
    # the copy and the prompt edited in the history tab: a new copy version, then a render of the new prompt
    notebook.history_copy.value = "Corra mais leve. Corra!"
    notebook.history_copy_button.click()
    notebook.history_prompt.value = "running shoes on a wet track at dawn"
    notebook.history_render_button.click()
    assert notebook.wait(300)
    again = HistoryStore(tmp_path / "data").get(draft_id)
    assert [c.text for c in again.copy_versions][-1] == "Corra mais leve. Corra!"
    [image] = again.image_versions
    assert again.prompt_version(image.prompt_version).prompt == "running shoes on a wet track at dawn"
    card = notebook.recent.children[0]  # the draft's card now shows its new image
    assert card.children[0].value[:4] == b"\x89PNG" and card.children[1].description == "Tênis Corre+"


def test_the_notebook_face_never_imports_streamlit():
    import subprocess
    code = "import notebook_app, sys; print('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_colab_notebook_offers_the_free_notebook_path_first_and_keeps_data_on_drive():
    import json
    from pathlib import Path
    cells = json.loads((Path(__file__).parents[1] / "colab.ipynb").read_text())["cells"]
    text = ["".join(cell["source"]) for cell in cells]
    notebook = next(i for i, t in enumerate(text) if "Estúdio no notebook (plano gratuito)" in t and t.startswith("##"))
    web = next(i for i, t in enumerate(text) if "streamlit_app.launcher" in t)
    assert notebook < web and any("open_studio(" in t for t in text[notebook:web])
    assert any("drive.mount" in t and "STUDIO_DATA_DIR" in t for t in text[:notebook])
    for cell, source in zip(cells, text):
        if cell["cell_type"] == "code":  # every cell is Python once the shell lines are left out
            compile("\n".join(line for line in source.splitlines() if not line.lstrip().startswith("!")), "cell",
                    "exec")


def test_the_colab_notebook_runs_headless_and_keeps_the_drafts_on_drive(model_cache, tmp_path, monkeypatch):
    """colab.ipynb executed cell by cell in a real kernel (nbclient), as on Colab's free tier: the install and web
    cells left out, Drive replaced by a local folder; a draft written through the notebook's widgets lands there."""
    import json
    from pathlib import Path

    nbclient = pytest.importorskip("nbclient")
    import nbformat
    root = Path(__file__).parents[1]
    drive = tmp_path / "drive"
    (drive / "MyDrive").mkdir(parents=True)
    for name, value in {"STUDIO_PROJECT": str(root), "STUDIO_DRIVE": str(drive), "STUDIO_PROFILE": "tiny",
                        "STUDIO_MODEL_CACHE": str(model_cache)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STUDIO_DATA_DIR", raising=False)
    notebook = nbformat.reads((root / "colab.ipynb").read_text(), as_version=4)
    notebook.cells = [cell for cell in notebook.cells
                      if not {"install", "web"} & set(cell.get("metadata", {}).get("tags", []))]
    notebook.cells.append(nbformat.v4.new_code_cell(
        'studio.product.value = "Café Serra Azul"\nstudio.write_button.click()\nassert studio.wait(300)\n'
        'import json\nprint(json.dumps({"folder": str(studio.store.folder), '
        '"drafts": [d.brief.product for d in studio.store.list_drafts()], "status": studio.status.value}))'))
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a cell error
    outputs = ["".join(o.get("text", "") for o in cell.get("outputs", [])) for cell in notebook.cells
               if cell.cell_type == "code"]
    assert any(f"Rascunhos guardados no Drive: {drive / 'MyDrive' / 'content-studio'}" in o for o in outputs)
    studio_cell = next(c for c in notebook.cells if "open_studio(" in c.source)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in studio_cell.outputs)
    result = json.loads(outputs[-1].strip().splitlines()[-1])
    assert result["drafts"] == ["Café Serra Azul"] and "Rascunho salvo" in result["status"]
    assert Path(result["folder"]).resolve().is_relative_to((drive / "MyDrive" / "content-studio").resolve())




def test_a_brand_kit_is_chosen_in_the_notebook_and_its_rules_show_as_badges(app_env, tmp_path):
    from core.content.brand import BrandKit
    kit = get_studio().store.kits.save(BrandKit("Café Serra", banned_words=("barato",), call_to_action="Peça já"),
                                       "Ana")
    notebook = NotebookStudio("Ana", studio=get_studio())
    notebook.kit.value = kit.id
    notebook.product.value = "Café Serra Azul"
    brief = notebook.brief_from_form()
    assert (brief.kit.id, brief.kit.version, brief.call_to_action) == (kit.id, 1, "Peça já")
    notebook.write_button.click()
    assert notebook.wait(300)
    notebook.copy.value = "Um café barato e bom. Peça já"
    assert "o kit da marca proíbe estas palavras, usadas no texto: barato" in notebook.rules.value
    assert HistoryStore(tmp_path / "data").list_drafts()[0].brief.kit.name == "Café Serra"


def test_a_record_naming_a_path_outside_the_store_costs_only_its_own_line(notebook, tmp_path):
    from core.content.brief import Brief
    from core.studio.storage import shard_of
    store = HistoryStore(tmp_path / "data")
    good = store.create_draft(Brief(product="Café Serra Azul"), "Café bom.", "coffee", "blurry", "Bia")
    bad = store.create_draft(Brief(product="Tênis Corre+"), "Corra.", "shoes", "blurry", "Bia")
    document = store.files.documents(shard_of(bad))[bad]
    with store.files.locked():
        store.files.write({**document, "image_versions": [{"n": 1, "file": "../../etc/passwd", "seed": 1,
                                                           "prompt_version": 1, "author": "Bia", "at": "x"}]},
                          "damage a record")
    notebook.refresh_history()
    assert [value for _, value in notebook.drafts.options] == [good]
    assert bad in notebook.history_status.value and "image_versions" in notebook.history_status.value
