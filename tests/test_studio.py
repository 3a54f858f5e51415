"""One Studio per process, and one post flow for every face: the Streamlit app and the command line run the same
steps and leave the same records; the command line survives what the app survives."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.cli import main
from core.image.placement import MemoryPolicy
from core.studio.root import get_studio
from fake_engines import OutOfMemoryOnce, OutOfMemoryOnGPUPolicy, copy_of


def cli(out, *extra):
    return main(["generate", "--product", "Café Serra Azul", "--cta", "Peça já", "--out", str(out), "--steps", "2",
                 "--seed", "123", "--quiet", *extra])


def test_clearing_streamlit_caches_hands_back_the_same_studio(app_env):
    import streamlit as st
    from streamlit_app import resources
    first = resources.studio()
    st.cache_resource.clear()
    again = resources.studio()
    assert again is first and again.worker is first.worker and again.store is first.store
    assert get_studio() is first


def test_cli_survives_out_of_memory_as_the_app_does(app_env, tiny_images, tiny_text, tmp_path):
    studio = get_studio()
    image = copy_of(tiny_images, OutOfMemoryOnGPUPolicy)
    text = OutOfMemoryOnce(tiny_text.model, tiny_text.tokenizer, tiny_text.spec)
    studio.install(text=text, image=image)
    assert cli(tmp_path / "out") == 0
    assert text.failed and image.policy is MemoryPolicy.MODEL_OFFLOAD  # retried, then more frugal
    [png] = (tmp_path / "out").glob("*.png")
    [draft] = studio.store.list_drafts()
    assert png.stem == draft.id and draft.image_versions[0].seed == 123


def test_app_and_cli_leave_the_same_records(app_env, app_file, tmp_path):
    # the app: write, then render with a fixed seed
    at = AppTest.from_file(app_file, default_timeout=300)
    at.session_state["reviewer"] = "Ana"
    at.run()
    at.text_input(key="f_product").input("Café Serra Azul")
    at.text_input(key="f_cta").input("Peça já")
    next(b for b in at.button if b.label == "Escrever").click()
    at.run()
    at.slider(key="i_steps").set_value(2)
    at.radio(key="i_seed_mode").set_value("fixed")
    at.number_input(key="i_seed").set_value(123)
    next(b for b in at.button if b.label == "Gerar imagem").click()
    at.run()
    assert not at.exception, at.exception
    # the command line, same brief and seed, into the same history
    assert cli(tmp_path / "out", "--author", "Ana") == 0
    store = get_studio().store
    cli_draft, app_draft = store.list_drafts()  # newest first
    assert cli_draft.brief == app_draft.brief
    assert [(p.prompt, p.negative_prompt, p.author) for p in cli_draft.prompt_versions] == \
        [(p.prompt, p.negative_prompt, p.author) for p in app_draft.prompt_versions]
    [cli_image], [app_image] = cli_draft.image_versions, app_draft.image_versions
    for field in ("seed", "settings", "models", "test_weights", "prompt_version", "author"):
        assert getattr(cli_image, field) == getattr(app_image, field), field
    pixels = [np.asarray(Image.open(store.image_path(i.file))) for i in (cli_image, app_image)]
    assert np.array_equal(*pixels)
    assert (cli_draft.copy.source, app_draft.copy.source) == ("model", "model")


def test_pages_and_drafts_never_wait_while_sdxl_loads(app_env):
    """Every page asks the Studio to preload, and a draft loads the text engine; neither may wait the minutes an
    SDXL load takes."""
    import threading
    studio = get_studio()
    with studio._image_loading:  # held as a minutes-long SDXL load holds it
        done = threading.Event()
        threading.Thread(target=lambda: (studio.preload(), studio.text_model(), done.set()), daemon=True).start()
        assert done.wait(60), "the page or the draft waited for the image models"


def test_a_write_job_reports_each_phase_and_why_it_repairs_in_the_pages_words(app_env):
    from core.content.brief import Brief
    from core.studio.worker import JobState
    from fake_engines import ScriptedEngine
    from core.labels import phase_text

    studio = get_studio()
    engine = ScriptedEngine("Seu café chegou, prove hoje mesmo.",
                            "Seu café da manhã nunca mais será o mesmo com o blend da Serra Azul. Corra!",
                            "PROMPT: a cup of coffee on a wooden table, morning light\nNEGATIVE: blurry")
    studio.install(text=engine)
    seen = []
    blocker = studio.worker.submit(lambda job: job.cancel_requested.wait(2), "render", "someone else")
    job = studio.write(Brief(product="Café Serra Azul", content_type="x", call_to_action="Corra"), "Ana", "ana")
    assert phase_text(job, studio.text_lane.position(job), "pt-BR").startswith("Na fila: há ")
    original_enter = job.enter

    def recording(phase, progress=None, reasons=None):
        original_enter(phase, progress, reasons)
        seen.append((phase, phase_text(job, 0, "pt-BR"), phase_text(job, 0, "en")))
    job.enter = recording
    blocker.cancel_requested.set()
    assert studio.text_lane.wait(job, 60) and job.state is JobState.DONE
    phases = [phase for phase, _, _ in seen]
    assert phases == ["writing", "checking", "repairing", "checking", "visual_prompt", "saving"]
    _, portuguese, english = seen[2]
    assert portuguese == "Reescrevendo o texto, porque a chamada para ação “Corra” não aparece (escrita como parte " \
                         "do texto, não entre aspas)…"
    assert english.startswith("Rewriting the copy, because the call to action “Corra” is missing")
    assert "loading_text" not in phases  # the model was already loaded: no teammate is told it is loading


def test_the_first_draft_finds_the_copy_checks_already_loaded(app_env):
    """Every page's preload reads the language detector and the CLIP tokenizer in the background once, so the first
    check uses them rather than loading them on a teammate's draft (counted, not timed)."""
    from core.content import language
    from core.content.clip_tokens import clip_tokenizer
    from core.studio.root import Studio
    language._detector.cache_clear()  # as in a fresh process, whatever earlier tests loaded
    clip_tokenizer.cache_clear()
    studio = Studio(get_studio().environment)  # a new server's Studio, not the shared one
    studio.preload()
    studio.warm_checks().join(60)
    assert studio.warm_checks() is studio.warm_checks()  # read once per process, however many pages ask
    loads = language._detector.cache_info().misses, clip_tokenizer.cache_info().misses
    language.detect("Um café encorpado para começar o dia com energia e sabor de verdade")
    language.detect("A rich coffee to start the day with energy and real flavour, order yours")
    assert (language._detector.cache_info().misses, clip_tokenizer.cache_info().misses) == loads
    assert language._detector.cache_info().currsize == 1


SERVER_START = """
import asyncio, json, threading
import streamlit_app.serve as serve
from core.studio import root

async def start_and_stop():
    # the ASGI lifespan messages a web server (uvicorn) sends the app as it starts and stops, before any page
    messages, sent = asyncio.Queue(), []
    for message in ("lifespan.startup", "lifespan.shutdown"):
        messages.put_nowait({"type": message})

    async def send(message):
        sent.append(message["type"])
    await serve.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, messages.get, send)
    return sent
sent = asyncio.run(start_and_stop())
next(t for t in threading.enumerate() if t.name == "preload").join(120)
studios = list(root._studios.values())
print(json.dumps({"sent": sent, "studios": len(studios), "checks_warming": bool(studios and studios[0]._checks)}))
"""


def test_the_web_server_starts_its_studio_before_anyone_signs_in(tmp_path, model_cache):
    """serve.py's start-up builds the process's Studio and runs its preload (which loads the full profile's
    models), so a restarted server is loading before the team opens the page; in a process of its own, as a
    server is."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).parents[1]
    environment = {**os.environ, "STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                   "STUDIO_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(root)}
    # from the app's folder, where a server not started by `streamlit run` finds app.py
    done = subprocess.run([sys.executable, "-c", SERVER_START], capture_output=True, text=True, timeout=300,
                          cwd=root / "streamlit_app", env=environment)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "sent": ["lifespan.startup.complete", "lifespan.shutdown.complete"], "studios": 1, "checks_warming": True}


# A studio and its faces, built in a fresh interpreter with no model server configured: the modules imported.
IMPORTS = """
import json, sys
from core.profiles import Environment
from core.studio.root import Studio
import core.cli, streamlit_app.serve
Studio(Environment.read({"STUDIO_PROFILE": "tiny", "STUDIO_DATA_DIR": sys.argv[1]}), device="cpu")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] == "openai")))
"""


def test_a_studio_without_a_model_server_never_imports_its_client(tmp_path):
    """The OpenAI client is imported only where a model server is used: 0.7-1.6 s of every start otherwise."""
    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-c", IMPORTS, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
