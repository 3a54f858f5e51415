"""Campaign work for agencies: brand kits shaping copy and image prompts, finished creatives at every channel size,
catalog batches that resume, storyboards, and the command line's kit, batch and creative commands."""
import dataclasses
import io

import pytest
from openpyxl import Workbook
from PIL import Image, ImageDraw

from core.cli import main
from core.content.brand import BrandKit, KitError
from core.content.brief import Brief
from core.content.copywriting import write_copy
from core.errors import SettingsError
from core.image.brand_assets import SHIPPED_FONT
from core.image.creative import FORMATS, compose, contrast_ratio, relative_luminance
from core.image.engine import RenderedImage
from core.image.settings import ImageSettings
from core.studio.batch import Batches, export_batch, guess_columns, item_message, plan_batch, read_catalog, run_batch
from core.studio.creatives import creative_file, headline_of, make_creative, storyboard_pdf
from core.studio.history import HistoryStore
from core.studio.jobs import write_post
from core.studio.kits import KitAsset
from core.studio.progress import JobCancelled, Progress
from tests.fake_engines import ScriptedEngine

KIT = BrandKit("Natura Viva", voice="próxima e calorosa", required_words=("Natura Viva",),
               banned_words=("barato", "promoção"), hashtags=("#NaturaViva",), call_to_action="Compre já",
               colors=("#FFDD00", "#1A2B3C"), visual_style="soft pastel tones, botanical",
               negative_prompt="plastic, neon")
GOOD_COPY = ("Descubra o novo sérum da Natura Viva: hidratação profunda para a sua pele todos os dias. "
             "Compre já #NaturaViva")
VISUAL = "PROMPT: a glass serum bottle on a marble table, morning light, fresh leaves\nNEGATIVE: blurry, text"
LONG_PT = ("Hidratação profunda por vinte e quatro horas com ácido hialurônico e vitamina C, para uma pele luminosa "
           "e saudável todos os dias, sem oleosidade e com fragrância suave de flores brasileiras: aproveite o "
           "lançamento exclusivo na nossa loja online e nas farmácias parceiras de todo o Brasil")


def logo_png(opaque: bool = False) -> bytes:
    logo = Image.new("RGBA", (240, 100), (255, 255, 255, 255 if opaque else 0))
    ImageDraw.Draw(logo).ellipse((10, 10, 230, 90), fill=(20, 90, 200, 255))
    buffer = io.BytesIO()
    logo.save(buffer, format="PNG")
    return buffer.getvalue()


def busy_picture(size=(1024, 1024)) -> Image.Image:
    """Black and white stripes with a mid-grey patch: no single text colour reads on it without a scrim."""
    image = Image.new("RGB", size, (128, 128, 128))
    draw = ImageDraw.Draw(image)
    for x in range(0, size[0], 24):
        draw.rectangle((x, 0, x + 11, size[1]), fill=(250, 250, 250))
        draw.rectangle((x + 12, 0, x + 17, size[1]), fill=(5, 5, 5))
    return image


# -- brand kits ---------------------------------------------------------------------------------------------------
def test_a_banned_word_is_a_violation_in_the_briefs_language_and_the_repair_fixes_it():
    brief = Brief("Sérum facial").under_kit(KIT)
    assert brief.call_to_action == "Compre já"  # the kit's CTA where the brief gives none
    engine = ScriptedEngine("Sérum barato da Natura Viva, hidratação para a pele todos os dias. Compre já",
                            GOOD_COPY)
    draft = write_copy(brief, engine)
    assert [v.code for v in draft.repair_reasons] == ["banned_words"]
    assert draft.repair == "regenerated" and draft.publishable and draft.text == GOOD_COPY
    asked = engine.chats[1][-1]["content"]  # the rewrite was told, in Portuguese, which word the kit bans
    assert "o kit da marca proíbe estas palavras, usadas no texto: barato" in asked
    first_prompt = engine.chats[0][1]["content"]
    assert "Nunca use estas palavras: barato, promoção" in first_prompt and "#NaturaViva" in first_prompt


def test_a_missing_required_word_is_named_and_case_and_accents_do_not_hide_a_banned_one():
    brief = Brief("Sérum facial", language="es").under_kit(KIT)
    draft = write_copy(brief, ScriptedEngine("Un sérum hidratante, ¡en PROMOCAO! para tu piel cada día. Compre já",
                                             "Un sérum hidratante en PROMOÇÃO para tu piel cada día. Compre já"))
    texts = [v.text("es") for v in draft.violations]
    assert "el kit de la marca prohíbe estas palabras, usadas en el texto: promoção" in texts
    assert "el kit de la marca exige estas palabras, que faltan en el texto: Natura Viva" in texts


def test_the_kits_style_reaches_the_saved_visual_prompt_and_the_draft_records_the_kit_version(tmp_path):
    store = HistoryStore(tmp_path)
    kit = store.kits.save(KIT, "ana")
    result = write_post(Progress(), Brief("Sérum facial").under_kit(kit), lambda: ScriptedEngine(GOOD_COPY, VISUAL),
                        store, "ana")
    saved = store.get(result.draft_id)
    assert saved.prompt.prompt.endswith(", soft pastel tones, botanical")
    assert saved.prompt.negative_prompt == "blurry, text, plastic, neon"
    assert (saved.brief.kit.id, saved.brief.kit.version) == (kit.id, 1)
    store.kits.save(dataclasses.replace(kit, voice="formal"), "bia")  # the kit moves on; the draft keeps v1
    assert HistoryStore(tmp_path).get(result.draft_id).brief.kit.voice == "próxima e calorosa"
    assert store.kits.get(kit.id).version == 2 and store.kits.get(kit.id, 1).voice == "próxima e calorosa"


def test_every_bad_kit_field_is_named_at_once_in_portuguese():
    with pytest.raises(KitError) as error:
        BrandKit(" ", colors=("vermelho",), hashtags=("semhash",), required_words=("Sol",), banned_words=("sol",))
    said = error.value.text("pt-BR")
    for part in ("Nome do kit: preencha este campo", "Cores: escreva as cores como #RRGGBB", "“vermelho”",
                 "Hashtags: use hashtags como #MinhaMarca", "Palavras proibidas: estas palavras estão ao mesmo "
                 "tempo exigidas e proibidas: “sol”"):
        assert part in said


@pytest.mark.parametrize("fields, other, found", [
    ({"banned_words": ("grátis",), "call_to_action": "Teste grátis hoje"}, "Chamada para ação", "Teste grátis hoje"),
    ({"banned_words": ("GRATIS",), "hashtags": ("#Frete", "#gratis")}, "Hashtags", "#gratis"),
    ({"banned_words": ("barato",), "required_words": ("Preço barato",)}, "Palavras obrigatórias", "Preço barato"),
    ({"banned_words": ("oferta relâmpago",), "call_to_action": "Aproveite a Oferta  Relampago!"}, "Chamada para ação",
     "Aproveite a Oferta  Relampago!")])
def test_a_kit_that_bans_what_it_requires_is_refused_naming_both_fields(fields, other, found):
    with pytest.raises(KitError) as error:
        BrandKit("Marca C", **fields).check_rules()
    said = error.value.text("pt-BR")
    assert said.startswith("Palavras proibidas: “") and f"mas {other} a usa ({found})" in said
    assert "no copy under this kit could pass" in error.value.text("en")


def test_a_banned_word_inside_a_longer_word_is_no_contradiction():
    kit = BrandKit("Marca D", banned_words=("sol",), call_to_action="Compre o protetor solar", hashtags=("#Solar",))
    kit.check_rules()


def test_logo_and_font_are_checked_before_anything_is_saved(tmp_path):
    store = HistoryStore(tmp_path)
    for logo, code in ((logo_png(opaque=True), "logo_opaque"), (b"GIF89a" + b"\0" * 40, "logo_not_png")):
        with pytest.raises(SettingsError) as error:
            store.kits.save(KIT, "ana", logo=KitAsset(logo, "logo"))
        assert error.value.code == code and error.value.field == "logo"
    with pytest.raises(SettingsError) as error:
        store.kits.save(KIT, "ana", font=KitAsset(SHIPPED_FONT.read_bytes()[:5000], "cortada.ttf"))
    assert error.value.code == "not_a_font" and "cortada.ttf" in error.value.text("pt-BR")
    assert store.kits.list() == [] and not any((tmp_path / "kits").glob("*"))  # nothing half-saved
    kit = store.kits.save(KIT, "ana", logo=KitAsset(logo_png(), "logo.png"),
                          font=KitAsset(SHIPPED_FONT.read_bytes(), "marca.ttf"))
    assert store.kits.logo(kit).mode == "RGBA" and store.kits.font_path(kit).suffix == ".ttf"
    with pytest.raises(Exception) as taken:
        store.kits.save(BrandKit("NATURA viva"), "bia")
    assert "já existe outro kit da marca" in taken.value.text("pt-BR")


# -- finished creatives -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FORMATS))
def test_long_portuguese_text_stays_in_the_safe_area_and_readable_at_every_size(name):
    logo = Image.open(io.BytesIO(logo_png())).convert("RGBA")
    for picture in (busy_picture(), Image.new("RGB", (1024, 1024), (250, 248, 240))):
        creative = compose(picture, name, LONG_PT, "Compre já no site", KIT.colors, logo)
        fmt = FORMATS[name]
        assert creative.image.size == (fmt.width, fmt.height)
        left, top, right, bottom = fmt.safe_box
        for box in creative.text_boxes:  # measured from the drawn glyphs
            assert left <= box[0] and top <= box[1] and box[2] <= right and box[3] <= bottom, (name, box)
        # the headline's contrast measured on the pixels: its ink against what is behind it, scrim included
        headline = creative.text_boxes[:-1]
        pixels = [p for box in headline for p in creative.image.crop(box).get_flattened_data()]
        pixels.sort(key=relative_luminance)
        assert contrast_ratio(pixels[len(pixels) // 50], pixels[-len(pixels) // 50]) >= 4.5
        assert creative.contrast >= 4.5 and creative.cta_contrast >= 4.5
    assert creative.scrim is False  # the plain light picture needed none


def test_the_busy_picture_gets_a_scrim_and_a_short_headline_is_set_large():
    short = compose(busy_picture(), "instagram_square", "Novo sérum", "", ("#FFDD00",))
    long = compose(busy_picture(), "instagram_square", LONG_PT * 3, "", ("#FFDD00",))
    assert short.scrim and short.font_size > long.font_size
    assert long.cut and long.text_boxes  # far too long for the square: cut with an ellipsis, still inside


def test_a_creative_is_a_versioned_file_of_the_draft_and_exports_as_jpeg(tmp_path):
    store = HistoryStore(tmp_path)
    kit = store.kits.save(KIT, "ana", logo=KitAsset(logo_png(), "logo.png"))
    draft_id = store.create_draft(Brief("Sérum facial").under_kit(kit), "Pele nova em 7 dias! Hidratação #NaturaViva",
                                  "serum", "blurry", "ana")
    store.add_image_version(draft_id, RenderedImage(busy_picture((896, 1152)), 1, "serum", "blurry",
                                                    ImageSettings(width=896, height=1152), [], True), "ana")
    draft = store.get(draft_id)
    assert headline_of(draft) == "Pele nova em 7 dias!"
    first = make_creative(store, draft_id, 1, "instagram_portrait", headline_of(draft), "Compre já", "ana")
    second = make_creative(store, draft_id, 1, "story", "Outro título", "Compre já", "bia", template="top")
    saved = HistoryStore(tmp_path).get(draft_id)
    assert [(c.n, c.format, c.author) for c in saved.creative_versions] == [
        (1, "instagram_portrait", "ana"), (2, "story", "bia")]
    with Image.open(io.BytesIO(creative_file(store, second, "JPEG"))) as jpeg:
        assert (jpeg.format, jpeg.size) == ("JPEG", (1080, 1920))
    with Image.open(store.image_path(first.file)) as png:
        assert png.size == (1080, 1350)


# -- catalog batches ----------------------------------------------------------------------------------------------
def catalog_csv(rows: int = 20) -> bytes:
    lines = ["Produto;Preço;Link;Público"]
    for i in range(rows):
        product = "" if i == 6 else f"Sérum {i}"
        link = "loja sem endereço" if i == 13 else f"https://loja.com.br/p{i}"
        lines.append(f"{product};R$ {i}9,90;{link};mulheres 30+")
    return "\n".join(lines).encode("cp1252")  # as Excel saves CSV on Windows in Brazil


def canned_writer(items: int) -> ScriptedEngine:
    return ScriptedEngine(*[GOOD_COPY, VISUAL] * items)


def test_a_catalog_with_two_bad_rows_gives_eighteen_drafts_and_two_named_errors_and_resumes(tmp_path):
    store = HistoryStore(tmp_path)
    kit = store.kits.save(KIT, "ana")
    catalog = read_catalog(catalog_csv(), "produtos.csv")
    columns = guess_columns(catalog.headers)
    assert columns == {"product": "Produto", "price": "Preço", "link": "Link", "audience": "Público"}
    batches = Batches(store)
    batch = batches.create("produtos.csv", plan_batch(catalog, columns, ["instagram"], "pt-BR", kit), "ana",
                           "pt-BR", kit, images=False)
    errors = [item_message(item).text("pt-BR") for item in batch.items if item.status == "failed"]
    assert errors == ["linha 8, coluna Produto: Produto: preencha este campo",
                      "linha 15, coluna Link: Link: precisa ser um endereço web que comece com http:// ou https://, "
                      "sem espaços (recebido “loja sem endereço”)"]
    # 1. stopped after five drafts, as a restart or a cancel would
    progress = Progress()
    engine = canned_writer(19)  # one more than needed: what is left proves nothing was written twice

    def stop_after_five(state) -> None:
        if state.count("done") == 5:
            progress.cancel_requested.set()
    with pytest.raises(JobCancelled):
        run_batch(progress, batches, batch.id, lambda: engine, None, "ana", on_item=stop_after_five)
    # 2. the process died after saving a draft but before the batch file said so
    stopped = batches.get(batch.id)
    fifth = next(i for i, item in enumerate(stopped.items) if item.status == "done" and item.row == 6)
    stopped.items[fifth].status, stopped.items[fifth].draft_id = "pending", ""
    batches.save(stopped)
    # 3. resumed: nothing written twice, nothing lost
    resumed = Progress()
    finished = run_batch(resumed, batches, batch.id, lambda: engine, None, "ana")
    assert resumed.items == (18, 2, 0)
    from core.labels import phase_text
    assert phase_text(resumed, 0, "pt-BR").startswith("18 prontos · 2 com erro · 0 faltando — ")
    drafts = store.list_drafts()
    assert len(drafts) == 18 and finished.count("done") == 18 and finished.count("failed") == 2
    assert len({d.origin for d in drafts}) == 18 and engine.answers == [GOOD_COPY, VISUAL]
    facts = next(d for d in drafts if d.brief.product == "Sérum 3").brief.key_facts
    assert facts == "Preço: R$ 39,90"
    archive = export_batch(store, finished, "pt-BR")
    import zipfile
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        table = zipped.read("batch.csv").decode("utf-8-sig").splitlines()
    assert len(table) == 21 and table[0].startswith('"linha";"canal";"produto";"situação"')
    assert any("linha 15, coluna Link" in line for line in table)


def test_an_item_that_failed_on_the_text_server_is_worded_in_each_language_after_a_restart(tmp_path):
    from core.text.openai_engine import OpenAIEngine, ServerSpec
    from servers import free_port
    store = HistoryStore(tmp_path)
    catalog = read_catalog(catalog_csv(1), "produtos.csv")
    batch = Batches(store).create("produtos.csv", plan_batch(catalog, guess_columns(catalog.headers), ["instagram"],
                                                             "pt-BR", None), "ana", "pt-BR", None, images=False)
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    run_batch(Progress(), Batches(store), batch.id, lambda: OpenAIEngine(ServerSpec(url, "llama3")), None, "ana")
    item = Batches(HistoryStore(tmp_path)).get(batch.id).items[0]  # read back from its file, as a restart does
    assert item.status == "failed"
    assert item_message(item).text("es").startswith(f"no se pudo contactar el servidor de texto en {url}: ")
    assert item_message(item).text("pt-BR").startswith(f"não foi possível falar com o servidor de texto em {url}: ")


def test_an_xlsx_catalog_reads_like_a_csv_and_a_bad_file_is_named():
    book = Workbook()
    sheet = book.active
    sheet.append(["Nome", "Canal", "Preço"])
    sheet.append(["Café Serra Azul", "x", 29.9])
    sheet.append(["Bolsa", "tiktok", 10])
    buffer = io.BytesIO()
    book.save(buffer)
    catalog = read_catalog(buffer.getvalue(), "catalogo.xlsx")
    columns = guess_columns(catalog.headers)
    items = plan_batch(catalog, columns, ["instagram"])
    assert [(item.channel, item.status) for item in items] == [("x", "pending"), ("tiktok", "failed")]
    assert item_message(items[1]).text("en").startswith("row 3, column Canal: content type must be one of")
    for data, name, code in ((b"\x89PNG junk", "foto.xlsx", "catalog_unreadable"), (b"Produto\n", "v.csv",
                                                                                    "catalog_empty")):
        with pytest.raises(SettingsError) as error:
            read_catalog(data, name)
        assert error.value.code == code and name in error.value.text("pt-BR")


# -- storyboards and the command line -----------------------------------------------------------------------------
def test_a_storyboard_pdf_has_a_page_per_script(tmp_path):
    store = HistoryStore(tmp_path)
    script = "Cena 1: Manhã na cozinha\nVisual: café\nCena 2: O primeiro gole\nVisual: xícara\nCena 3: Peça já\n" \
             "Visual: logo"
    ids = [store.create_draft(Brief(f"Café {n}", content_type="video_script"), script, "coffee", "blurry", "ana")
           for n in range(2)]
    for scene in (1, 2, 3):
        store.add_image_version(ids[0], RenderedImage(busy_picture((768, 1344)), scene, "coffee", "blurry",
                                                      ImageSettings(width=768, height=1344), [], True), "ana",
                                scene=scene)
    pdf = storyboard_pdf(store, ids)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") == 2


def test_the_command_line_saves_a_kit_and_refuses_a_bad_one_in_one_line(tmp_path, capsys):
    logo = tmp_path / "logo.png"
    logo.write_bytes(logo_png())
    data = str(tmp_path / "data")
    assert main(["kit", "save", "--name", "Café Serra", "--colors", "#3B2314,#F2C14E", "--banned", "barato",
                 "--logo", str(logo), "--data-dir", data]) == 0
    assert main(["kit", "save", "--name", "café serra", "--voice", "acolhedora", "--data-dir", data]) == 0
    kit = HistoryStore(data).kits.named("Café Serra")
    assert (kit.version, kit.voice, kit.banned_words, bool(kit.logo_file)) == (2, "acolhedora", ("barato",), True)
    assert main(["kit", "save", "--name", "Outra", "--colors", "azul", "--data-dir", data]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: colours must be written as #RRGGBB") and "azul" in error
    assert main(["kit", "save", "--name", "Marca C", "--banned", "grátis", "--cta", "Teste grátis hoje",
                 "--data-dir", data]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "“grátis” is banned, yet call to action uses it (Teste grátis hoje)" in error
    assert [kit.name for kit in HistoryStore(data).kits.list()] == ["Café Serra"]  # nothing saved


def test_the_export_carries_the_creatives_the_kit_and_the_favourite(tmp_path):
    import json
    import zipfile

    from core.studio.export import export_zip
    store = HistoryStore(tmp_path)
    kit = store.kits.save(KIT, "ana", logo=KitAsset(logo_png(), "logo.png"))
    draft_id = store.create_draft(Brief("Sérum facial").under_kit(kit), GOOD_COPY, "serum", "blurry", "ana")
    for seed in (1, 2):
        store.add_image_version(draft_id, RenderedImage(busy_picture(), seed, "serum", "blurry", ImageSettings(), [],
                                                        True), "ana")
    store.set_favorite(draft_id, 2, "bia")
    make_creative(store, draft_id, 2, "linkedin", "Pele nova", "Compre já", "ana")
    with zipfile.ZipFile(io.BytesIO(export_zip(store, [draft_id]))) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        copy_md = archive.read(next(n for n in names if n.endswith("copy.md"))).decode()
    assert any(n.endswith("creative-c1-linkedin.png") for n in names)
    assert {"kits/natura-viva-v1/kit.json", "kits/natura-viva-v1/logo.png"} <= set(names)
    assert [(m["image_version"], m["favorite"]) for m in manifest] == [(1, False), (2, True)]
    assert "- kit da marca: Natura Viva (v1)" in copy_md


def test_a_creative_starts_from_the_image_in_its_formats_shape_else_the_favourite(tmp_path):
    from core.studio.creatives import source_for
    store = HistoryStore(tmp_path)
    draft_id = store.create_draft(Brief("Sérum facial"), GOOD_COPY, "serum", "blurry", "ana")
    for size in ((1024, 1024), (768, 1344), (1024, 1024)):
        store.add_image_version(draft_id, RenderedImage(busy_picture(size), 1, "serum", "blurry",
                                                        ImageSettings(width=size[0], height=size[1]), [], True), "ana")
    store.set_favorite(draft_id, 1, "ana")
    draft = store.get(draft_id)
    assert source_for(draft, "story") == 2  # the extension to 9:16, not a crop
    assert source_for(draft, "instagram_square") == 1  # the favourite among the square ones
    assert source_for(draft, "linkedin") == 1  # none at 1344x768: the favourite, cropped
    made = make_creative(store, draft_id, None, "story", "Título", "", "ana")
    assert made.image_version == 2


def test_a_batch_whose_copy_breaks_a_rule_is_done_with_problems_everywhere_and_the_cli_says_so(tmp_path, capsys):
    import zipfile
    store = HistoryStore(tmp_path)
    lines = "Produto;Idioma;Notas da marca\nSérum 1;es;sem exageros\nSérum 2;pt-BR;\nSérum 3;fr;\n"
    catalog = read_catalog(lines.encode("utf-8"), "produtos.csv")
    columns = guess_columns(catalog.headers)
    assert columns["language"] == "Idioma" and columns["brand_notes"] == "Notas da marca"
    items = plan_batch(catalog, columns, ["instagram"], "pt-BR", None)
    assert [item.status for item in items] == ["pending", "pending", "failed"]  # "fr" refused naming the cell
    assert item_message(items[2]).text("pt-BR").startswith("linha 4, coluna Idioma")
    assert items[0].brief["language"] == "es" and items[0].brief["brand_notes"] == "sem exageros"
    batch = Batches(store).create("produtos.csv", items, "ana", "pt-BR", None, images=False)
    # the model forgets the CTA ("Compre já" is asked of every row) both times: done, but with problems
    brief_cta = [dataclasses.replace(Brief.from_dict(item.brief), call_to_action="Compre já").to_dict()
                 if item.brief else None for item in batch.items]
    for item, brief in zip(batch.items, brief_cta):
        item.brief = brief
    Batches(store).save(batch)
    lost = "Descubra o novo sérum da Natura Viva: hidratação profunda para a sua pele todos os dias."
    finished = run_batch(Progress(), Batches(store), batch.id, lambda: ScriptedEngine(*[lost, lost, VISUAL] * 2),
                         None, "ana")
    assert finished.count("done") == 2 and finished.with_problems == 2
    with zipfile.ZipFile(io.BytesIO(export_batch(store, finished, "pt-BR"))) as zipped:
        table = zipped.read("batch.csv").decode("utf-8-sig")
    assert table.count("pronto com problemas") == 2 and "a chamada para ação “Compre já” não aparece" in table


def test_the_command_line_exits_non_zero_when_a_saved_copy_breaks_a_rule_unless_allowed(tmp_path, monkeypatch,
                                                                                           model_cache, capsys):
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(model_cache))
    catalog = tmp_path / "produtos.csv"
    catalog.write_text("Produto;CTA\nSérum 1;Compre já\n", encoding="utf-8")
    common = [str(catalog), "--profile", "tiny", "--no-images", "--data-dir", str(tmp_path / "data")]
    # the tiny model's random weights never write the CTA
    assert main(["batch", *common, "--out", str(tmp_path / "a.zip")]) == 1
    said = capsys.readouterr().err
    assert "done with problems" in said and "call to action" in said
    assert main(["batch", *common, "--allow-problems", "--out", str(tmp_path / "b.zip")]) == 0
    assert "1 done with problems" in capsys.readouterr().err
