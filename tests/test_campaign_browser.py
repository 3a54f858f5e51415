"""A campaign in a real headless Chromium: create a brand kit with its logo, run variants under it, pick a favourite
image, and download a finished creative."""
import io

from PIL import Image

from core.studio.history import HistoryStore
from test_browser import CHROMIUM_FLAGS, SCREENSHOTS, open_as_ana, open_expander, server, settle  # noqa: F401
from test_campaigns import logo_png


def test_kit_variants_favourite_and_creative_in_chromium(server, chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    expect.set_options(timeout=240_000)
    logo = tmp_path / "logo.png"
    logo.write_bytes(logo_png())
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = open_as_ana(browser, server, height=2400)
        # 1. a kit, with its logo
        page.get_by_role("link", name="Kits de marca").click()
        settle(page)
        page.get_by_label("Nome do kit (cliente ou marca)", exact=True).fill("Café Serra")
        page.get_by_label("Palavras proibidas (separadas por vírgula)", exact=True).fill("barato")
        page.get_by_label("Cores (#RRGGBB, a primeira para o texto, a segunda para o botão)",
                                     exact=True).fill(
            "#FFFFFF, #3B2314")
        page.get_by_label("CTA padrão", exact=True).fill("Peça já")
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(logo))
        settle(page)
        page.get_by_role("button", name="Salvar kit").click()
        settle(page)
        expect(page.get_by_text("Kit Café Serra salvo (versão 1).")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "kit.png"), full_page=True)
        # 2. variants under the kit
        page.get_by_role("link", name="Gerar").click()
        settle(page)
        page.get_by_label("Produto ou assunto", exact=True).fill("Café Serra Azul")
        page.get_by_label("Kit da marca", exact=True).click()
        page.get_by_role("option", name="Café Serra (v1)").click()
        open_expander(page, "Variantes", "Ângulos (2 a 4)")
        page.get_by_role("button", name="Gerar variantes").click()
        settle(page)
        favourites = page.get_by_role("button", name="Marcar como favorita")
        expect(favourites).to_have_count(2)
        expect(page.locator("strong", has_text="Benefício")).to_be_visible()  # the variants' labels
        expect(page.locator("strong", has_text="Emoção")).to_be_visible()
        favourites.nth(1).click()
        settle(page)
        expect(page.get_by_text("★ Favorita")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "variants.png"), full_page=True)
        drafts = HistoryStore(tmp_path / "data").list_drafts()
        assert sorted(d.brief.angle for d in drafts) == ["benefit", "emotion"]
        assert all(d.brief.kit.name == "Café Serra" for d in drafts)
        assert sum(d.favorite == 1 for d in drafts) == 1
        # 3. a creative of the favourite's draft, downloaded
        page.get_by_role("button", name="Abrir esta").nth(1).click()
        settle(page)
        page.get_by_role("button", name="Criar peça").click()
        settle(page)
        with page.expect_download() as download:
            page.get_by_role("button", name="Baixar JPEG").first.click()
        with Image.open(io.BytesIO(download.value.path().read_bytes())) as creative:
            assert (creative.format, creative.size) == ("JPEG", (1080, 1080))
        page.screenshot(path=str(SCREENSHOTS / "creative.png"), full_page=True)
        browser.close()
