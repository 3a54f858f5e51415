"""The notebook face drawn by a real notebook in a real browser: the classic Jupyter notebook (ipywidgets 7, the
version Colab ships) in Chromium, the brief typed, the copy written, an image rendered and seen."""
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("nbclassic")

from core.studio.history import HistoryStore  # noqa: E402
from servers import notebook_server  # noqa: E402

SCREENSHOTS = Path(__file__).parent / "screenshots"


def test_the_notebook_studio_renders_in_a_real_browser_and_makes_a_post(chromium, model_cache, tmp_path):
    """The widgets really drawn in Chromium: the brief typed into the form, the copy written, a fast-mode image
    rendered and decoded by the browser, the draft in the store."""
    import nbformat
    from playwright.sync_api import expect, sync_playwright
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell('from notebook_app import open_studio\nopen_studio("Ana")')]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, tmp_path / "studio.ipynb")
    console: list[str] = []
    with notebook_server(tmp_path, model_cache) as (url, token, log), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1300, "height": 2800})
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.set_default_timeout(120_000)
        try:
            page.goto(f"{url}/nbclassic/notebooks/studio.ipynb?token={token}")
            page.wait_for_function("window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
                                   " && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.widget_manager")
            # A new widget manager first restores the kernel's existing widgets: it asks for the kernel's comms and
            # opens a second comm for each one it has no model of. A cell run before that request is answered
            # gets its fresh widgets opened twice, and parts of the form never draw or never answer clicks. So the
            # cell runs, as a person's would, once the restore is over: a second restore, awaited here, is answered
            # after the first (the kernel answers in order).
            page.evaluate("Jupyter.notebook.kernel.widget_manager._loadFromKernel()")
            page.evaluate("Jupyter.notebook.execute_all_cells()")
            field = lambda label: page.locator(".widget-text", has=page.get_by_text(label, exact=True)).locator(
                "input")
            field("Produto ou assunto").fill("Café Serra Azul")
            field("Chamada para ação").fill("Peça já")
            page.get_by_role("button", name="Escrever").click()
            expect(page.get_by_text("Rascunho salvo: Café Serra Azul").first).to_be_visible(timeout=300_000)
            page.get_by_role("button", name="Rápido (4 passos)").click()
            page.get_by_role("button", name="Gerar imagem").click()
            image = page.locator(".widget-image").first
            expect(image).to_be_visible(timeout=300_000)
            assert page.evaluate("el => el.naturalWidth", image.element_handle()) > 0  # decoded, not broken
            # the models loaded in this kernel without a library's progress bar or warning in the cell's output
            assert page.locator(".output_stderr").count() == 0, page.locator(".output_stderr").all_inner_texts()
            SCREENSHOTS.mkdir(exist_ok=True)  # the whole output, not the notebook's scrolled box
            page.evaluate("Jupyter.notebook.get_cells().forEach(cell => cell.output_area.unscroll_area())")
            page.screenshot(path=SCREENSHOTS / "notebook.png", full_page=True)
            image.screenshot(path=SCREENSHOTS / "notebook-image.png")
        except Exception:
            page.screenshot(path=tmp_path / "failed.png", full_page=True)
            print("browser console:", *console[-40:], sep="\n")
            print("server and kernel log:", log.read_text(errors="replace")[-4000:], sep="\n")
            raise
        finally:
            browser.close()
    [draft] = HistoryStore(tmp_path / "data").list_drafts()
    assert draft.brief.product == "Café Serra Azul" and draft.created_by == "Ana"
    [version] = draft.image_versions
    assert (version.settings.quality, version.settings.steps) == ("fast", 4)
