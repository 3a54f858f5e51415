"""The campaign pages through AppTest with the tiny models: brand kits, a kit-shaped draft with its finished
creative, a favourite image, and a catalog batch resumed from the batch page."""
from core.content.brand import BrandKit
from core.studio.batch import Batches, guess_columns, plan_batch, read_catalog
from core.studio.history import HistoryStore
from tests.test_app import app, button  # noqa: F401 (app is a fixture)
from tests.test_campaigns import catalog_csv


def test_a_kit_is_saved_from_its_page_and_a_bad_colour_is_named(app, tmp_path):
    app.switch_page("views/kits.py")
    app.run()
    assert not app.exception and [i.value for i in app.info] == ["Nenhum kit ainda: crie o primeiro abaixo."]
    app.text_input(key="k_name").input("Café Serra")
    app.text_input(key="k_colors").input("#3B2314, marrom")
    button(app, "Salvar kit").click()
    app.run()
    assert [e.value for e in app.error] == ["Cores: escreva as cores como #RRGGBB, por exemplo #1A2B3C "
                                            "(recebido “marrom”)"]
    assert HistoryStore(tmp_path / "data").kits.list() == []
    app.text_input(key="k_colors").input("#3B2314, #F2C14E")
    app.text_input(key="k_banned").input("barato, oferta imperdível")
    button(app, "Salvar kit").click()
    app.run()
    assert not app.exception and [s.value for s in app.success] == ["Kit Café Serra salvo (versão 1)."]
    [kit] = HistoryStore(tmp_path / "data").kits.list()
    assert kit.colors == ("#3B2314", "#F2C14E") and kit.banned_words == ("barato", "oferta imperdível")
    # a new version that bans what its own call to action says is refused naming both fields; v1 stays
    app.text_input(key="k_cta").input("Oferta imperdível: peça já")
    button(app, "Salvar kit").click()
    app.run()
    assert [e.value for e in app.error] == ["Palavras proibidas: “oferta imperdível” está proibida, mas Chamada "
                                            "para ação a usa (Oferta imperdível: peça já): nenhum texto com este "
                                            "kit passaria; tire-a de um dos dois"]
    assert [k.version for k in HistoryStore(tmp_path / "data").kits.list()] == [1]


def test_a_damaged_kit_record_costs_its_own_line_and_the_rest_of_the_page_works(app, tmp_path):
    import json
    store = HistoryStore(tmp_path / "data")
    good = store.kits.save(BrandKit("Café Serra", banned_words=("barato",)), "Ana")
    bad = store.kits.save(BrandKit("Marca Velha"), "Ana")
    path = tmp_path / "data" / "kits.json"
    data = json.loads(path.read_text())
    for document in data["kits"].values():
        if document["id"] == bad.id:
            document["versions"][-1]["hashtags"] = "#não-é-lista"
    path.write_text(json.dumps(data))
    app.switch_page("views/kits.py")
    app.run()
    assert not app.exception, app.exception
    assert any(bad.id in w.value and "Hashtags" in w.value for w in app.warning)
    app.selectbox(key="k_pick").set_value(good.id)
    app.run()
    assert not app.exception and app.text_input(key="k_banned").value == "barato"
    app.switch_page("views/generate.py")  # the kit picker of the generate page lists the readable kit
    app.run()
    assert not app.exception and app.selectbox(key="f_kit").options[1:] == ["Café Serra (v1)"]


def test_a_draft_under_a_kit_gets_a_creative_and_a_favourite(app, tmp_path):
    store = HistoryStore(tmp_path / "data")
    kit = store.kits.save(BrandKit("Café Serra", call_to_action="Peça já", colors=("#FFFFFF", "#3B2314"),
                                   visual_style="warm rustic tones"), "Ana")
    store.close()
    app.run()
    app.selectbox(key="f_kit").set_value(kit.id)
    app.text_input(key="f_product").input("Café Serra Azul")
    button(app, "Escrever").click()
    app.run()
    assert not app.exception, app.exception
    draft = HistoryStore(tmp_path / "data").list_drafts()[0]
    assert draft.brief.kit.id == kit.id and draft.brief.call_to_action == "Peça já"
    assert draft.prompt.prompt.endswith("warm rustic tones")
    app.slider(key="i_steps").set_value(2)
    button(app, "Gerar imagem").click()
    app.run()
    key = f"cr_{draft.id}"
    app.selectbox(key=f"{key}_format").set_value("story")
    app.text_input(key=f"{key}_headline").input("Um café que abraça")
    button(app, "Criar peça").click()
    app.run()
    assert not app.exception, app.exception
    [creative] = HistoryStore(tmp_path / "data").get(draft.id).creative_versions
    assert (creative.format, creative.headline, creative.cta) == ("story", "Um café que abraça", "Peça já")
    assert {"Baixar PNG", "Baixar JPEG"} <= {d.label for d in app.get("download_button")}
    # the history marks a favourite image
    app.switch_page("views/history.py")
    app.run()
    next(b for b in app.button if b.key == f"h_open_{draft.id}").click()
    app.run()
    next(b for b in app.button if b.key == f"h_fav_{draft.id}_1").click()
    app.run()
    assert not app.exception, app.exception
    assert HistoryStore(tmp_path / "data").get(draft.id).favorite == 1
    assert "★ Favorita" in [c.value for c in app.caption]


def test_the_batch_page_lists_named_errors_and_resumes_a_batch(app, tmp_path):
    store = HistoryStore(tmp_path / "data")
    catalog = read_catalog(catalog_csv(4), "produtos.csv")
    batch = Batches(store).create("produtos.csv", plan_batch(catalog, guess_columns(catalog.headers),
                                                             ["x"]), "Ana", "pt-BR", None, images=False)
    damaged = Batches(store).create("outro.csv", [], "Ana", "pt-BR", None, images=False)
    path = Batches(store).folder / f"{damaged.id}.json"
    path.write_text(path.read_text().replace('"items": []', '"items": ["não é um item"]'))
    store.close()
    app.switch_page("views/batch.py")
    app.run()
    assert not app.exception, app.exception
    captions = [c.value for c in app.caption]
    assert "0 prontos · 0 com erro · 4 faltando" in captions
    assert [w.value for w in app.warning if damaged.id in w.value] == [f"o lote “{damaged.id}” está danificado"]
    button(app, "Retomar").click()
    app.run()
    assert not app.exception, app.exception
    finished = Batches(HistoryStore(tmp_path / "data")).get(batch.id)
    assert finished.count("done") == 4 and len(HistoryStore(tmp_path / "data").list_drafts()) == 4
    assert "4 prontos · 0 com erro · 0 faltando" in [c.value for c in app.caption]
    assert any(d.label == "Baixar ZIP do lote" for d in app.get("download_button"))


def test_variants_make_a_draft_per_angle_with_images_and_a_favourite_each(app, tmp_path):
    app.text_input(key="f_product").input("Café Serra Azul")
    app.multiselect(key="v_angles").set_value(["urgency"])
    button(app, "Gerar variantes").click()
    app.run()
    assert [e.value for e in app.error] == ["Ângulos: escolha de 2 a 4 ângulos diferentes (recebido “urgency”)"]
    app.multiselect(key="v_angles").set_value(["social_proof", "urgency"])
    app.slider(key="v_images").set_value(2)
    button(app, "Gerar variantes").click()
    app.run()
    assert not app.exception, app.exception
    drafts = HistoryStore(tmp_path / "data").list_drafts()
    assert sorted(d.brief.angle for d in drafts) == ["social_proof", "urgency"]
    assert all(len(d.image_versions) == 2 and d.origin.startswith("variants:") for d in drafts)
    assert [m.value for m in app.markdown if m.value in ("**Prova social**", "**Urgência**")] == [
        "**Urgência**", "**Prova social**"]  # side by side in the angles' order
    chosen = next(d for d in drafts if d.brief.angle == "urgency")
    next(b for b in app.button if b.key == f"v_fav_{chosen.id}_2").click()
    app.run()
    assert HistoryStore(tmp_path / "data").get(chosen.id).favorite == 2


def test_a_video_script_gets_a_frame_per_scene_and_a_storyboard_pdf(app, tmp_path):
    from core.content.brief import Brief
    store = HistoryStore(tmp_path / "data")
    script = "Cena 1: Manhã na serra\nVisual: neblina sobre o cafezal\nCena 2: O primeiro gole\nVisual: xícara fumegante"
    draft_id = store.create_draft(Brief("Café Serra Azul", content_type="video_script"), script, "coffee", "blurry",
                                  "Ana")
    store.close()
    app.switch_page("views/history.py")
    app.run()
    next(b for b in app.button if b.key == f"h_open_{draft_id}").click()
    app.run()
    next(b for b in app.button if b.key == f"h_sb_{draft_id}").click()
    app.run()
    assert not app.exception, app.exception
    draft = HistoryStore(tmp_path / "data").get(draft_id)
    assert [(v.scene, v.settings.size) for v in draft.image_versions] == [(1, "768x1344"), (2, "768x1344")]
    assert draft.prompt_versions[-1].prompt != "coffee"  # each scene got a prompt of its own
    captions = {e.proto.imgs[0].caption for e in app.main if type(e).__name__ == "Image"}
    assert {"Cena 1", "Cena 2"} <= captions
    assert any(d.label == "Baixar storyboard em PDF" for d in app.get("download_button"))


def test_no_label_or_message_key_is_written_twice():
    """A dict literal keeps the last of two equal keys silently: one face's label would show another's words."""
    import ast
    from pathlib import Path
    root = Path(__file__).parents[1]
    for module in ("core/labels.py", "core/messages.py"):
        for node in ast.walk(ast.parse((root / module).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                assert len(keys) == len(set(keys)), (module, sorted({k for k in keys if keys.count(k) > 1}))


def test_a_creative_can_extend_its_image_to_the_format_first(app, tmp_path):
    from core.content.brief import Brief
    from core.image.engine import RenderedImage
    from core.image.settings import ImageSettings
    from PIL import Image
    store = HistoryStore(tmp_path / "data")
    draft_id = store.create_draft(Brief("Café Serra Azul"), "Um café que abraça. Peça já", "a cup of coffee",
                                  "blurry", "Ana")
    picture = Image.new("RGB", (1024, 1024), (120, 80, 40))
    store.add_image_version(draft_id, RenderedImage(picture, 7, "a cup of coffee", "blurry", ImageSettings(steps=2),
                                                    [], True), "Ana")
    store.close()
    app.switch_page("views/history.py")
    app.run()
    next(b for b in app.button if b.key == f"h_open_{draft_id}").click()
    app.run()
    key = f"cr_{draft_id}"
    app.selectbox(key=f"{key}_format").set_value("story")
    app.checkbox(key=f"{key}_extend").check()
    button(app, "Criar peça").click()
    app.run()
    assert not app.exception, app.exception
    draft = HistoryStore(tmp_path / "data").get(draft_id)
    extension = draft.image_versions[-1]
    assert (extension.edit, extension.parent, extension.settings.size) == ("extend", 1, "768x1344")
    [creative] = draft.creative_versions
    assert (creative.format, creative.image_version) == ("story", extension.n)
