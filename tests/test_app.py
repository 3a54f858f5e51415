"""The Streamlit pages through AppTest, with the tiny profile's real models and a real history store."""
import re

import pytest
from streamlit.testing.v1 import AppTest

from core.studio.export import export_zip
from core.studio.history import HistoryStore



@pytest.fixture
def app(app_env, app_file):
    at = AppTest.from_file(app_file, default_timeout=300)
    at.session_state["reviewer"] = "Ana"
    return at.run()


def button(at, label):
    return next(b for b in at.button if b.label == label)


def images(at):
    return [element for element in at.main if type(element).__name__ == "Image"]


def write_brief(at, product="Café Serra Azul", cta="Peça já"):
    at.text_input(key="f_product").input(product)
    at.text_input(key="f_cta").input(cta)
    button(at, "Escrever").click()
    at.run()


def test_asks_the_reviewer_name_first(app_env, app_file):
    at = AppTest.from_file(app_file, default_timeout=60).run()
    assert not at.exception
    assert at.text_input[0].label == "Seu nome"
    assert not any(b.label == "Escrever" for b in at.button)


def test_empty_product_shows_the_error_not_a_traceback(app):
    write_brief(app, product="")
    assert not app.exception
    assert [e.value for e in app.error] == ["Produto: preencha este campo"]
    assert "brief" not in app.session_state


def test_every_bad_field_is_named_in_the_interface_language(app):
    app.text_input(key="f_tone").input("x" * 61)
    app.text_input(key="f_link").input("loja.com.br/vinho")
    write_brief(app, product="")
    [error] = [e.value for e in app.error]
    assert error.startswith("Produto: preencha este campo; Tom de voz: no máximo 60 caracteres (tem 61")
    assert "Link: precisa ser um endereço web que comece com http:// ou https://" in error
    app.selectbox(key="ui_language").set_value("en")
    app.run()
    button(app, "Write").click()
    app.run()
    [error] = [e.value for e in app.error]
    assert error.startswith("product must not be empty; tone must be at most 60 characters, not 61")
    assert app.selectbox(key="f_type").label == "Format"  # every label follows the switch
    app.selectbox(key="ui_language").set_value("es")
    app.run()
    button(app, "Escribir").click()
    app.run()
    assert app.error[0].value.startswith("Producto: completa este campo; Tono: como máximo 60 caracteres")


def test_a_paste_longer_than_a_field_is_refused_with_its_limit_not_cut(app):
    long_product = "Vinho tinto Serra Gaúcha Reserva 2021, envelhecido 18 meses em barricas de carvalho francês. " * 4
    write_brief(app, product=long_product)
    assert app.text_input(key="f_product").value == long_product  # nothing cut behind the user's back
    assert f"Produto: no máximo 300 caracteres (tem {len(long_product)}" in app.error[0].value
    assert "300" in app.text_input(key="f_product").help


def test_write_streams_copy_then_shows_editable_prompt_before_any_image(app, tmp_path):
    write_brief(app)
    assert not app.exception, app.exception
    copy = app.text_area(key="copy_edit").value
    assert copy, [e.value for e in app.error]  # the streamed copy ended up in the editable area
    prompt = app.text_area(key="prompt_edit")
    # the tiny model's answer is junk: the prompt is composed from the brief, in English, and the page says why
    assert prompt.value.startswith("professional advertising photograph of the advertised product")
    notes = [c.value for c in app.caption]
    assert any("o prompt de imagem do modelo não servia" in note for note in notes)
    assert any("descreva o produto em inglês" in note for note in notes)
    assert not images(app) and not app.session_state["images"]
    assert any("badge[" in m.value and "CTA" in m.value for m in app.markdown)
    store = HistoryStore(tmp_path / "data")
    [draft] = store.list_drafts()
    assert draft.copy_versions[0].text == copy and draft.created_by == "Ana"


def test_edited_prompt_is_rendered_and_saved_as_an_image_version(app, tmp_path):
    write_brief(app)
    app.text_area(key="prompt_edit").input("a red bicycle leaning on a yellow wall, golden hour")
    app.slider(key="i_steps").set_value(2)
    app.radio(key="i_seed_mode").set_value("fixed")
    app.number_input(key="i_seed").set_value(123)
    button(app, "Gerar imagem").click()
    app.run()
    assert not app.exception, app.exception
    assert len(images(app)) == 1
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    image = draft.image_versions[0]
    assert image.seed == 123 and image.settings.steps == 2
    prompt = next(p for p in draft.prompt_versions if p.n == image.prompt_version)
    assert prompt.prompt == "a red bicycle leaning on a yellow wall, golden hour"
    button(app, "Refazer com a mesma semente").click()
    app.run()
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    assert [i.seed for i in draft.image_versions] == [123, 123]
    button(app, "Refazer com nova semente").click()
    app.run()
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    new_seed = draft.image_versions[-1].seed
    # every image of the session stays on the page, and the seed box agrees with the newest caption
    assert len(images(app)) == 3
    assert images(app)[0].proto.imgs[0].caption == f"semente {new_seed}"
    assert app.number_input(key="i_seed").value == new_seed
    # the fast mode: its LoRA's few steps, whatever the resting sliders say
    app.radio(key="i_quality").set_value("fast")
    app.run()
    assert app.slider(key="i_steps").disabled and app.checkbox(key="i_refiner").disabled
    button(app, "Gerar imagem").click()
    app.run()
    fast = HistoryStore(tmp_path / "data").list_drafts()[0].image_versions[-1]
    assert (fast.settings.quality, fast.settings.steps, fast.settings.use_refiner) == ("fast", 4, False)


def test_hand_edit_updates_badges_and_saves_a_version(app, tmp_path):
    write_brief(app)
    app.text_area(key="copy_edit").input("Café fresquinho toda manhã. Peça já! #cafe")
    app.run()
    labels = [m.value for m in app.markdown if "badge[" in m.value]
    assert any(":green-badge[:material/check_circle: CTA presente]" in label for label in labels)
    assert any("1/5 hashtags" in label for label in labels)
    button(app, "Salvar edição do texto").click()
    app.run()
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    assert draft.copy_versions[-1].text == "Café fresquinho toda manhã. Peça já! #cafe"


def test_a_visit_to_the_history_never_comes_back_as_an_empty_copy_to_save_over_the_draft(app, tmp_path):
    write_brief(app)
    assert not app.exception, app.exception
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    app.text_area(key="copy_edit").input(draft.copy.text + " Editado.")  # an unsaved edit, too
    app.run()
    app.switch_page("views/history.py")
    app.run()
    app.switch_page("views/generate.py")
    app.run()
    assert not app.exception, app.exception
    assert app.text_area(key="copy_edit").value == draft.copy.text + " Editado."  # the edit came back with it
    assert app.text_area(key="prompt_edit").value == draft.prompt.prompt
    app.text_area(key="copy_edit").input("")
    app.run()
    assert button(app, "Salvar edição do texto").disabled  # nothing on screen: nothing to save


def test_a_save_over_a_teammates_newer_version_is_refused_naming_both(app, tmp_path):
    write_brief(app)
    store = HistoryStore(tmp_path / "data")
    draft = store.list_drafts()[0]
    store.add_copy_version(draft.id, "A versão da Bia.", "Bia", base=1)  # saved from another browser meanwhile
    app.text_area(key="copy_edit").input("A versão da Ana.")
    app.run()
    button(app, "Salvar edição do texto").click()
    app.run()
    [error] = [e.value for e in app.error]
    assert "você partiu da versão 1, e Bia salvou a versão 2" in error
    assert [c.text for c in HistoryStore(tmp_path / "data").get(draft.id).copy_versions][1:] == ["A versão da Bia."]


def test_english_interface(app):
    app.selectbox(key="ui_language").set_value("en")
    app.run()
    assert any(b.label == "Write" for b in app.button)


@pytest.fixture
def history_app(app, tmp_path):
    from core.content.brief import Brief
    store = HistoryStore(tmp_path / "data")
    ids = {
        "cafe": store.create_draft(Brief(product="Café Serra Azul"), "Café bom. Peça já!", "a cup of coffee, warm light",
                                   "blurry", "Ana"),
        "tenis": store.create_draft(Brief(product="Tênis Corre+", content_type="x"), "Corra leve.",
                                    "running shoes on asphalt", "blurry", "Bia"),
    }
    store.set_state(ids["tenis"], "in_review", "Bia")
    store.close()
    app.switch_page("views/history.py")
    app.run()
    assert not app.exception, app.exception
    return app, ids


def shown_products(at):
    """Products in the list, as a reader sees them (markdown escapes removed)."""
    return [re.sub(r"\\(.)", r"\1", m.value.strip("*")) for m in at.markdown
            if m.value.startswith("**") and m.value.endswith("**")]


def test_history_filters(history_app):
    at, ids = history_app
    assert set(shown_products(at)) == {"Café Serra Azul", "Tênis Corre+"}
    at.selectbox(key="h_f_state").set_value("in_review")
    at.run()
    assert shown_products(at) == ["Tênis Corre+"]
    at.selectbox(key="h_f_state").set_value("")
    at.text_input(key="h_f_text").input("café")
    at.run()
    assert shown_products(at) == ["Café Serra Azul"]
    at.text_input(key="h_f_text").input("")
    at.selectbox(key="h_f_author").set_value("Bia")
    at.run()
    assert shown_products(at) == ["Tênis Corre+"]


def test_history_review_comment_and_rerender(history_app, tmp_path):
    at, ids = history_app
    draft_id = ids["cafe"]
    button = next(b for b in at.button if b.key == f"h_open_{draft_id}")
    button.click()
    at.run()
    # state change
    at.selectbox(key=f"h_state_{draft_id}").set_value("in_review")
    next(b for b in at.button if b.key == f"h_state_btn_{draft_id}").click()
    at.run()
    # comment
    at.text_area(key=f"h_comment_{draft_id}").input("Ficou ótimo, só trocar a foto")
    next(b for b in at.button if b.label == "Comentar").click()
    at.run()
    assert "Ficou ótimo, só trocar a foto" in [t.value for t in at.text]
    # re-render an edited prompt: a new image version
    at.text_area(key=f"h_prompt_{draft_id}").input("a latte art heart in a ceramic cup, top view")
    next(b for b in at.button if b.key == f"h_render_{draft_id}").click()
    at.run(timeout=600)
    assert not at.exception, at.exception
    draft = HistoryStore(tmp_path / "data").get(draft_id)
    assert draft.state == "in_review"
    assert draft.comments[0].author == "Ana"
    assert len(draft.image_versions) == 1
    assert draft.prompt_versions[-1].prompt == "a latte art heart in a ceramic cup, top view"
    assert len(images(at)) >= 1


def test_history_export_zip(history_app, tmp_path, tiny_images):
    import io
    import json
    import zipfile
    from core.image.settings import ImageSettings
    at, ids = history_app
    store = HistoryStore(tmp_path / "data")
    [image] = tiny_images.render("a cup of coffee, warm light", "blurry", ImageSettings(steps=1, seed=5))
    store.add_image_version(ids["cafe"], image, "Ana")
    at.multiselect(key="h_export").set_value([ids["cafe"], ids["tenis"]])
    at.run()
    assert [e.proto.label for e in at.main if type(e).__name__ == "DownloadButton"] == ["Baixar ZIP"]
    picker = at.multiselect(key="h_export")
    assert picker.placeholder == "Escolha…" and picker.format_func(ids["cafe"]).startswith("Café Serra Azul · ")
    archive = zipfile.ZipFile(io.BytesIO(export_zip(store, [ids["cafe"], ids["tenis"]])))
    cafe, tenis = f"cafe-serra-azul-{ids['cafe'][-8:]}", f"tenis-corre-{ids['tenis'][-8:]}"
    assert {f"{cafe}/copy.md", f"{tenis}/copy.md", f"{cafe}/image-v1.png",
            "manifest.json", "manifest.csv"} <= set(archive.namelist())
    page = archive.read(f"{cafe}/copy.md").decode()
    assert "## Texto" in page and "## Prompt visual (inglês)" in page and "- estado: rascunho" in page
    [row] = json.loads(archive.read("manifest.json"))
    assert row["seed"] == 5 and row["prompt"] == "a cup of coffee, warm light"


def test_comparing_images_follows_the_newest_version_after_new_ones_arrive(history_app, tmp_path, tiny_images):
    from core.image.settings import ImageSettings
    at, ids = history_app
    store = HistoryStore(tmp_path / "data")
    [image] = tiny_images.render("a cup of coffee, warm light", "blurry", ImageSettings(steps=1, seed=5))
    for _ in range(3):
        store.add_image_version(ids["cafe"], image, "Ana")
    next(b for b in at.button if b.key == f"h_open_{ids['cafe']}").click()
    at.run()
    right = next(s for s in at.selectbox if s.key.startswith(f"h_cmp_b_{ids['cafe']}"))
    assert right.value == 3
    right.set_value(2)  # looked at an older pair
    at.run()
    for _ in range(4):  # then four more versions in the same session
        store.add_image_version(ids["cafe"], image, "Ana")
    at.run()
    assert not at.exception, at.exception
    pair = [s.value for s in at.selectbox if s.key.startswith(f"h_cmp_") and ids["cafe"] in s.key]
    assert pair == [6, 7]


def test_a_duplicate_is_named_apart_everywhere_and_both_are_exported(history_app, tmp_path):
    import io
    import zipfile
    at, ids = history_app
    copy_id = HistoryStore(tmp_path / "data").duplicate(ids["cafe"], "Bia")
    at.run()
    picker = at.multiselect(key="h_export")
    labels = [picker.format_func(option) for option in picker.options] if callable(picker.format_func) else \
        list(picker.options)
    assert len(set(labels)) == len(labels) == 3, labels
    assert [label for label in labels if label.startswith("cópia de Café Serra Azul · ")] != []
    picker.set_value([ids["cafe"], copy_id])
    at.run()
    assert not at.exception, at.exception
    [download] = [e for e in at.main if type(e).__name__ == "DownloadButton"]
    names = zipfile.ZipFile(io.BytesIO(export_zip(HistoryStore(tmp_path / "data"), [ids["cafe"], copy_id]))).namelist()
    assert {f"cafe-serra-azul-{ids['cafe'][-8:]}/copy.md", f"cafe-serra-azul-{copy_id[-8:]}/copy.md"} <= set(names)
    assert len(names) == len(set(names))  # no name twice in the archive
    assert any("cópia de" in c.value for c in at.caption)  # the duplicate's card says whose copy it is


from hypothesis import HealthCheck, given, settings as hsettings, strategies as hst  # noqa: E402

field_text = hst.one_of(hst.text(max_size=300), hst.just(""), hst.text(alphabet="\x00\x07\n\t<>&\"'`*#[]()!", max_size=40))


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(product=field_text, audience=field_text, tone=field_text, keywords=field_text, cta=field_text)
def test_generated_bad_briefs_never_crash_the_page(app, tmp_path, product, audience, tone, keywords, cta):
    from core.content.brief import Brief, parse_keywords
    from core.errors import BriefError
    store = HistoryStore(tmp_path / "data")
    before = len(store.list_drafts())
    for key, value in (("f_product", product), ("f_audience", audience), ("f_tone", tone),
                       ("f_keywords", keywords), ("f_cta", cta)):
        app.text_input(key=key).input(value)
    try:
        Brief(product=product, audience=audience, tone=tone, keywords=parse_keywords(keywords), call_to_action=cta)
        expected_error = None
    except BriefError as error:
        expected_error = error.text("pt-BR")
    button(app, "Escrever").click()
    app.run()
    assert not app.exception, app.exception
    if expected_error:
        assert [e.value for e in app.error] == [expected_error]
        assert len(store.list_drafts()) == before  # nothing half-saved
    else:
        assert not app.error
        assert len(store.list_drafts()) == before + 1


def test_a_malformed_draft_does_not_take_the_history_page_down(history_app, tmp_path):
    from core.studio.storage import shard_of
    at, ids = history_app
    store = HistoryStore(tmp_path / "data")
    document = store.files.documents(shard_of(ids["tenis"]))[ids["tenis"]]
    with store.files.locked():
        store.files.write({**document, "copy_versions": "não é uma lista"}, "damage a record")
    at.run()
    assert not at.exception, at.exception
    assert shown_products(at) == ["Café Serra Azul"]
    assert any(ids["tenis"] in w.value and "copy_versions" in w.value for w in at.warning)


@pytest.mark.parametrize("damage, field", [
    ({"image_versions": [{"n": 1, "file": "../../etc/passwd", "seed": 1, "prompt_version": 1, "author": "Ana",
                          "at": "2026-12-07T10:00:00+00:00"}]}, "image_versions"),
    ({"comments": [{"author": "Ana", "text": ["não", "é", "texto"], "at": "2026-12-07T10:00:00+00:00"}]}, "comments"),
    ({"favorite": "../../x"}, "record"),
    ({"creative_versions": [{"n": 1, "file": "/etc/shadow", "format": "feed", "image_version": 1, "headline": "h",
                             "cta": "c", "template": "t", "author": "Ana", "at": "x", "contrast": 4.5,
                             "scrim": False}]}, "creative_versions")])
def test_one_record_with_a_hostile_field_costs_only_its_own_card(history_app, tmp_path, damage, field):
    from core.studio.storage import shard_of
    at, ids = history_app
    store = HistoryStore(tmp_path / "data")
    document = store.files.documents(shard_of(ids["tenis"]))[ids["tenis"]]
    with store.files.locked():
        store.files.write({**document, **damage}, "damage a record")
    at.run()
    assert not at.exception, at.exception
    assert shown_products(at) == ["Café Serra Azul"]
    assert any(ids["tenis"] in w.value and field in w.value for w in at.warning)
    next(b for b in at.button if b.key == f"h_open_{ids['cafe']}").click()  # the rest of the page still works
    at.run()
    assert not at.exception, at.exception
    archive = export_zip(HistoryStore(tmp_path / "data"), [ids["cafe"]])
    assert archive[:2] == b"PK"


def test_an_unrecognised_history_file_makes_the_app_read_only_and_says_which(app_env, app_file, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.json").write_text('{"drafts": {}}')
    at = AppTest.from_file(app_file, default_timeout=60)
    at.session_state["reviewer"] = "Ana"
    at.run()
    assert not at.exception, at.exception
    assert any("somente para leitura" in e.value and "history.json" in e.value for e in at.error)
    assert (data / "history.json").read_text() == '{"drafts": {}}'


def test_history_shows_the_brief_duplicates_and_deletes_with_undo(history_app, tmp_path):
    at, ids = history_app
    next(b for b in at.button if b.key == f"h_open_{ids['cafe']}").click()
    at.run()
    assert not at.exception, at.exception
    assert any(e.label == "Briefing deste rascunho" for e in at.expander)
    # duplicate: a second draft with the same brief and copy, opened at once
    next(b for b in at.button if b.key == f"h_dup_{ids['cafe']}").click()
    at.run()
    store = HistoryStore(tmp_path / "data")
    copies = [d for d in store.list_drafts() if d.brief.product == "Café Serra Azul"]
    assert len(copies) == 2 and {d.copy.text for d in copies} == {"Café bom. Peça já!"}
    assert any("Cópia criada: Café Serra Azul" in s.value for s in at.success)
    # delete: out of the list, into the bin, with an undo that brings it back
    next(b for b in at.button if b.key == f"h_open_{ids['tenis']}").click()
    at.run()
    next(b for b in at.button if b.key == f"h_del_{ids['tenis']}").click()
    at.run()
    assert "Tênis Corre+" not in shown_products(at)
    assert any("Rascunho movido para a lixeira: Tênis Corre+" in i.value for i in at.info)
    at.checkbox(key="h_f_deleted").check()
    at.run()
    assert shown_products(at) == ["Tênis Corre+"]
    at.checkbox(key="h_f_deleted").uncheck()
    next(b for b in at.button if b.key == "h_undo").click()
    at.run()
    assert "Tênis Corre+" in shown_products(at)
    events = [s.event for s in HistoryStore(tmp_path / "data").get(ids["tenis"]).state_history]
    assert events[-2:] == ["deleted", "undeleted"]  # recorded, and nothing was erased


def test_a_draft_reopens_in_generate_from_its_address(app, tmp_path):
    from core.content.brief import Brief
    store = HistoryStore(tmp_path / "data")
    draft_id = store.create_draft(Brief(product="Tênis Corre+", content_type="x", call_to_action="Corra"),
                                  "Corra leve. Corra!", "running shoes on asphalt", "blurry", "Bia")
    app.query_params["draft"] = draft_id
    app.run()
    assert not app.exception, app.exception
    assert app.text_area(key="copy_edit").value == "Corra leve. Corra!"
    assert app.text_area(key="prompt_edit").value == "running shoes on asphalt"


def test_history_edits_an_image_extends_it_and_shows_the_lineage(history_app, tmp_path, tiny_images):
    from core.image.settings import ImageSettings
    at, ids = history_app
    draft_id = ids["cafe"]
    store = HistoryStore(tmp_path / "data")
    [image] = tiny_images.render("a cup of coffee, warm light", "blurry", ImageSettings(steps=1, seed=5,
                                                                                         use_refiner=False))
    store.add_image_version(draft_id, image, "Ana")
    next(b for b in at.button if b.key == f"h_open_{draft_id}").click()
    at.run()
    key = f"h_edit_{draft_id}"
    at.radio(key=f"{key}_kind").set_value("inpaint")
    at.run()
    assert any(i.proto.imgs[0].caption == "A região em vermelho será refeita; o resto fica idêntico." for i in images(at))
    at.slider(key=f"{key}_x").set_value((0, 50))
    next(b for b in at.button if b.key == f"{key}_go").click()
    at.run(timeout=600)
    assert not at.exception, at.exception
    at.radio(key=f"{key}_kind").set_value("extend")
    at.run()
    at.selectbox(key=f"{key}_target").set_value("story")
    next(b for b in at.button if b.key == f"{key}_go").click()
    at.run(timeout=600)
    assert not at.exception, at.exception
    v1, v2, v3 = HistoryStore(tmp_path / "data").get(draft_id).image_versions
    assert (v2.edit, v2.parent, v2.mask_file != "") == ("inpaint", 1, True)
    assert (v3.edit, v3.parent, v3.settings.size) == ("extend", 2, "768x1344")  # the next edit starts from v2
    captions = [i.proto.imgs[0].caption for i in images(at)]
    assert any("região refeita de v1" in c for c in captions)
    assert any("v2 estendida para 768x1344" in c for c in captions)
    assert any(e.label == "Comparar imagens (antes e depois)" for e in at.expander)


def test_an_uploaded_cut_out_offers_its_background_to_repaint_and_keeps_the_product(history_app, tmp_path):
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    from core.image.uploads import read_upload
    at, ids = history_app
    draft_id = ids["cafe"]
    photo = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(photo).rectangle((200, 150, 400, 450), fill=(20, 90, 200, 255))
    data = io.BytesIO()
    photo.save(data, format="PNG")
    HistoryStore(tmp_path / "data").add_upload(draft_id, read_upload(data.getvalue(), "caixa.png"), "Bia")
    next(b for b in at.button if b.key == f"h_open_{draft_id}").click()
    at.run()
    assert "v1 · foto enviada · Bia" in [i.proto.imgs[0].caption for i in images(at)]
    key = f"h_edit_{draft_id}"
    at.radio(key=f"{key}_kind").set_value("inpaint")
    at.run()
    region = at.radio(key=f"{key}_region")
    assert region.options == ["Retângulo", "Pincel", "Recorte do produto"] and region.value == "cutout"
    next(b for b in at.button if b.key == f"{key}_go").click()
    at.run(timeout=600)
    assert not at.exception, at.exception
    store = HistoryStore(tmp_path / "data")
    v1, v2 = store.get(draft_id).image_versions
    assert (v2.edit, v2.parent) == ("inpaint", 1)
    with Image.open(store.image_path(v1.file)) as before, Image.open(store.image_path(v2.file)) as after:
        before, after = np.array(before.convert("RGB")), np.array(after.convert("RGB"))
    box = before[:, :, 0] < 100  # the blue box on white
    assert 0.1 < box.mean() < 0.3
    assert np.array_equal(after[box], before[box]) and not np.array_equal(after[~box], before[~box])


def test_open_in_generate_from_the_history_brings_the_draft(history_app):
    at, ids = history_app
    next(b for b in at.button if b.key == f"h_open_{ids['tenis']}").click()
    at.run()
    next(b for b in at.button if b.key == f"h_reopen_{ids['tenis']}").click()
    at.run()
    assert not at.exception, at.exception
    assert at.text_area(key="copy_edit").value == "Corra leve."
    assert at.text_area(key="prompt_edit").value == "running shoes on asphalt"
