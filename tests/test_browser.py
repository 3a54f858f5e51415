"""End to end in a real headless Chromium: write a brief, edit the visual prompt, render, see the image."""
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core.studio.history import HistoryStore
from servers import studio_server

ROOT = Path(__file__).parents[1]
SCREENSHOTS = ROOT / "tests" / "screenshots"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def server(tmp_path, model_cache):
    with studio_server(tmp_path, model_cache) as url:
        yield url


def settle(page):
    """Wait until the app has finished its current run, so no element from the run before lingers."""
    from playwright.sync_api import expect
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=240_000)


def open_as_ana(browser, url: str, height: int):
    """A page of the studio, past the name prompt."""
    page = browser.new_page(viewport={"width": 1400, "height": height})
    page.set_default_timeout(120_000)
    page.goto(url)
    page.get_by_label("Seu nome").fill("Ana")
    page.get_by_role("button", name="Entrar").click()
    return page


def write_a_brief(page) -> None:
    page.get_by_label("Produto ou assunto", exact=True).fill("Café Serra Azul")
    page.get_by_label("Chamada para ação", exact=True).fill("Peça já")
    page.get_by_role("button", name="Escrever").click()
    settle(page)


def open_expander(page, label: str, inside: str) -> None:
    """Open an expander until what it holds shows: a rerun still under way on a loaded machine can redraw it
    closed just after the click."""
    for _ in range(5):
        if page.get_by_text(inside).first.is_visible():
            return
        page.get_by_text(label).first.click()
        page.wait_for_timeout(1000)
        settle(page)
    raise AssertionError(f"{label!r} never showed {inside!r}")


def test_brief_to_image_in_chromium(server, chromium):
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    expect.set_options(timeout=240_000)  # the first write loads the models; a busy CI machine is slow
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = open_as_ana(browser, server, height=1800)
        write_a_brief(page)
        prompt = page.get_by_label("Prompt", exact=True)
        expect(prompt).to_be_visible()
        expect(page.locator("img")).to_have_count(0)  # the prompt is there before any image
        prompt.fill("a red bicycle leaning on a yellow wall, golden hour")
        prompt.press("Control+Enter")
        settle(page)
        open_expander(page, "Configurações da imagem", "Fixa")
        page.get_by_text("Fixa").first.click()
        settle(page)
        page.get_by_role("button", name="Gerar imagem").click()
        settle(page)
        image = page.locator("[data-testid='stImage'] img").first
        expect(image).to_be_visible(timeout=240_000)
        expect(page.get_by_text("semente 42")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "generate.png"), full_page=True)
        page.get_by_role("link", name="Histórico").click()
        settle(page)
        expect(page.get_by_text("Histórico e revisão")).to_be_visible()
        page.get_by_role("button", name="Abrir").first.click()
        settle(page)
        expect(page.get_by_label("Prompt", exact=True)).to_have_value(
            "a red bicycle leaning on a yellow wall, golden hour")
        expect(page.locator("[data-testid='stImage'] img").nth(1)).to_be_visible()  # the version, beside its thumbnail
        page.screenshot(path=str(SCREENSHOTS / "history.png"), full_page=True)
        browser.close()


def test_brief_to_copy_in_chromium_from_a_text_server(tmp_path, model_cache, chromium):
    """The same page with the copy coming from a real OpenAI-compatible server (`transformers serve`)."""
    from playwright.sync_api import expect, sync_playwright

    from core.files import ensure_built
    from core.text.tiny_llama import build_tiny_llama
    from servers import text_server

    folder = ensure_built(model_cache / "tiny-llama", build_tiny_llama)
    with text_server(folder, tmp_path / "hub") as (url, _), \
            studio_server(tmp_path, model_cache, STUDIO_TEXT_ENGINE="openai", STUDIO_OPENAI_BASE_URL=url,
                          STUDIO_OPENAI_MODEL=str(folder)) as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = open_as_ana(browser, app, height=1400)
        expect(page.get_by_text(f"Servidor de texto: {folder} @ {url}")).to_be_visible()
        write_a_brief(page)
        expect(page.get_by_label("Prompt", exact=True)).to_be_visible()
        expect(page.get_by_text("Rascunho salvo")).to_be_visible()
        browser.close()


def test_a_reload_mid_render_finds_the_job_and_its_draft_again(server, chromium):
    """A refresh (or a tunnel that reconnects) during a render: the page comes back to the same draft, reattaches
    to the running job, and shows its image when it is done."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=240_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = open_as_ana(browser, server, height=1800)
        write_a_brief(page)
        expect(page.get_by_label("Prompt", exact=True)).to_be_visible()
        assert "draft=" in page.url
        page.get_by_role("button", name="Gerar imagem").click()
        expect(page.get_by_role("button", name="Cancelar")).to_be_visible()
        assert "job=" in page.url
        page.reload()
        page.get_by_label("Seu nome").fill("Ana")
        page.get_by_role("button", name="Entrar").click()
        settle(page)
        expect(page.get_by_label("Prompt", exact=True)).not_to_have_value("")  # the same draft, reopened
        expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()
        assert "job=" not in page.url  # read once: a second reload does not watch it again
        browser.close()


def test_an_image_is_repainted_brushed_extended_and_a_photo_uploaded_in_chromium(server, chromium, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=240_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = open_as_ana(browser, server, height=2400)
        write_a_brief(page)
        page.get_by_role("button", name="Gerar imagem").click()
        settle(page)
        expect(page.locator("[data-testid='stImage'] img").first).to_be_visible()
        page.get_by_role("link", name="Histórico").click()
        settle(page)
        page.get_by_role("button", name="Abrir").first.click()
        settle(page)
        open_expander(page, "Editar uma imagem", "Partir da imagem")
        page.get_by_text("Refazer uma região").click()
        settle(page)
        expect(page.get_by_text("A região em vermelho será refeita")).to_be_visible()
        page.get_by_role("button", name="Aplicar edição").click()
        settle(page)
        shows_version(page, 2)
        # 2. brush strokes over the preview: a diagonal line, repainted from v1
        open_expander(page, "Editar uma imagem", "Partir da imagem")
        page.get_by_role("radio", name="Pincel").check(force=True)
        settle(page)
        canvas = page.locator("canvas.paint")
        expect(canvas).to_be_visible()
        brush_a_diagonal(page, canvas)
        canvas.screenshot(path=str(SCREENSHOTS / "brush.png"))
        settle(page)
        page.get_by_role("button", name="Aplicar edição").click()
        settle(page)
        shows_version(page, 3)
        # 3. the newest image extended to Stories/Reels
        open_expander(page, "Editar uma imagem", "Partir da imagem")
        page.get_by_text("Estender para outro formato").click()
        settle(page)
        open_expander(page, "Editar uma imagem", "Formato de destino")  # the first format offered: Stories/Reels
        page.get_by_role("button", name="Aplicar edição").click()
        settle(page)
        shows_version(page, 4)
        # 4. the team's own product photo, cut out on transparency: its background repainted, the product kept
        open_expander(page, "Usar uma foto sua", "Foto do produto ou esboço")
        page.locator("input[type='file']").set_input_files(str(product_photo(tmp_path)))
        expect(page.get_by_text("produto.png")).to_be_visible()
        settle(page)
        page.get_by_role("button", name="Adicionar como nova versão").click()
        settle(page)
        shows_version(page, 5)
        expect(page.get_by_text("v5 · foto enviada · Ana")).to_be_visible()
        open_expander(page, "Editar uma imagem", "Partir da imagem")
        page.get_by_text("Refazer uma região").click()
        settle(page)
        expect(page.get_by_role("radio", name="Recorte do produto")).to_be_checked()
        page.screenshot(path=str(SCREENSHOTS / "upload.png"), full_page=True)
        expect(page.get_by_role("button", name="Aplicar edição")).to_have_count(1, timeout=30_000)
        page.get_by_role("button", name="Aplicar edição").click()
        settle(page)
        shows_version(page, 6)
        page.screenshot(path=str(SCREENSHOTS / "edit.png"), full_page=True)
        browser.close()
    store = HistoryStore(tmp_path / "data")
    [draft] = store.list_drafts()
    versions = store.get(draft.id).image_versions
    assert [(v.n, v.edit, v.parent) for v in versions] == [
        (1, "", None), (2, "inpaint", 1), (3, "inpaint", 2), (4, "extend", 3), (5, "upload", None), (6, "inpaint", 5)]
    with Image.open(store.image_path(versions[2].mask_file)) as brushed:  # the strokes, scaled to the image
        painted = np.array(brushed.convert("L")) > 0
    assert 0.01 < painted.mean() < 0.3 and painted[358, 460] and not painted[900, 100]
    with Image.open(store.image_path(versions[4].file)) as photo, Image.open(store.image_path(versions[5].file)) as new:
        before, after = np.array(photo.convert("RGB")), np.array(new.convert("RGB"))
    product = before[:, :, 2] < 100  # the yellow disc on white
    assert np.array_equal(after[product], before[product]) and not np.array_equal(after[~product], before[~product])


def brush_a_diagonal(page, canvas) -> None:
    """Brush a diagonal line over the preview until the page says how much is painted. On a loaded machine the
    canvas can be visible a moment before its script listens, or be redrawn by a rerun still under way, and the
    stroke is lost; the same stroke again paints the same pixels, so it is drawn again (at most three times)."""
    from playwright.sync_api import expect
    painted = page.get_by_text(re.compile(r"^Pintado: [1-9][0-9]?% da imagem"))
    for attempt in range(3):
        settle(page)
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
        page.mouse.down()
        for step in range(1, 11):
            x, y = 0.2 + step * 0.05, 0.2 + step * 0.03
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y)
        page.mouse.up()
        try:
            expect(painted).to_be_visible(timeout=30_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def shows_version(page, n: int) -> None:
    """Wait for image version n in the draft's images, by its caption."""
    from playwright.sync_api import expect
    expect(page.get_by_text(re.compile(f"^v{n} · ")).first).to_be_visible()


def product_photo(folder: Path) -> Path:
    """A product on a transparent background, as a team cuts one out: a yellow disc."""
    photo = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    ImageDraw.Draw(photo).ellipse((250, 250, 550, 550), fill=(240, 180, 20, 255))
    photo.save(folder / "produto.png")
    return folder / "produto.png"
