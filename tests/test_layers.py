"""The layering of core: content ← text / image ← studio ← faces, with content free of torch, checked with ast."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
UI_LIBRARIES = {"streamlit", "ipywidgets", "IPython", "gradio"}
HEAVY = {"torch", "diffusers", "bitsandbytes", "accelerate", "PIL"}
# What each package of core may import from the others. Content sees only the text engine's interface, which is
# plain Python; engines never see the studio; nothing in core sees a face. The top-level helpers (errors, devices,
# files, downloads, compile cache) serve every layer and import no layer themselves.
HELPERS = {"core.errors", "core.messages", "core.devices", "core.memory", "core.files", "core.downloads"}
MAY_IMPORT = {
    "content": {"core.errors", "core.messages", "core.content", "core.text.engine"},
    "text": {*HELPERS, "core.content", "core.text"},
    "image": {*HELPERS, "core.content", "core.image"},
    "studio": {*HELPERS, "core.compile_cache", "core.profiles", "core.content", "core.text", "core.image",
               "core.studio"},
}


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names += [node.module or ""] + [f"{node.module}.{alias.name}" for alias in node.names
                                            if node.module == "core"]
    return names


def allowed(name: str, prefixes: set[str]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_core_never_imports_streamlit():
    for path in CORE.rglob("*.py"):
        for name in imports_of(path):
            assert name.split(".")[0] not in UI_LIBRARIES, f"{path.relative_to(ROOT)} imports {name}"


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_dependencies_point_one_way(package):
    for path in (CORE / package).rglob("*.py"):
        for name in imports_of(path):
            if name.startswith("core."):
                assert allowed(name, MAY_IMPORT[package]), f"{path.relative_to(ROOT)} imports {name}"


def test_the_top_level_helpers_import_no_layer():
    for helper in (*HELPERS, "core.compile_cache"):
        path = ROOT / (helper.replace(".", "/") + ".py")
        for name in imports_of(path):
            assert not allowed(name, {"core.content", "core.text", "core.image", "core.studio", "core.profiles"}), \
                f"{path.relative_to(ROOT)} imports {name}"


def test_content_imports_no_torch():
    for path in (CORE / "content").rglob("*.py"):
        for name in imports_of(path):
            assert name.split(".")[0] not in HEAVY, f"{path.relative_to(ROOT)} imports {name}"
    # and at run time, nothing it imports drags torch in
    modules = [f"core.content.{p.stem}" for p in (CORE / "content").glob("*.py") if p.stem != "__init__"]
    engines = {"torch", "diffusers", "bitsandbytes"}  # (the tokenizers library may bring PIL: harmless)
    code = f"import sys\nfor m in {modules!r}: __import__(m)\nprint(sorted(set(sys.modules) & {engines!r}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout


def test_faces_only_reach_core_through_public_modules():
    """The Streamlit face builds nothing heavy itself: it asks core's Studio for the worker, store and models."""
    for path in (ROOT / "streamlit_app").rglob("*.py"):
        for name in imports_of(path):
            assert not allowed(name, {"core.profiles", "core.studio.worker", "core.text.local", "core.image.sdxl"}) \
                or path.name == "ui.py" and name == "core.studio.worker", f"{path.relative_to(ROOT)} imports {name}"
