"""Copy from a real OpenAI-compatible server: `transformers serve` on CPU, pinned to the tiny Llama built for the
tests, reached through the openai client. The write step streams, repairs and saves through it; a cancel, a dead
server, a wrong model and a wrong port each end in a clear message with nothing half-saved."""
import json
import os
import signal

import pytest

from core.cli import main
from core.content.brief import Brief
from core.errors import GenerationError, ModelLoadError
from core.files import ensure_built
from core.image.settings import ImageSettings
from core.profiles import Environment
from core.studio.history import HistoryStore
from core.studio.jobs import write_post
from core.studio.progress import JobCancelled, Progress
from core.studio.root import Studio
from core.studio.worker import JobState
from core.text.openai_engine import OpenAIEngine, ServerSpec
from core.text.tiny_llama import build_tiny_llama
from servers import free_port, resetting_proxy, text_server

BRIEF = Brief(product="Café Serra Azul", call_to_action="Peça já")


@pytest.fixture(scope="module")
def tiny_llama_folder(model_cache):
    return ensure_built(model_cache / "tiny-llama", build_tiny_llama)


@pytest.fixture(scope="module")
def server(tiny_llama_folder, tmp_path_factory):
    with text_server(tiny_llama_folder, tmp_path_factory.mktemp("hub")) as (url, _):
        yield url, str(tiny_llama_folder)


def engine(server) -> OpenAIEngine:
    url, model = server
    return OpenAIEngine(ServerSpec(url, model))


def test_the_write_step_streams_repairs_and_saves_through_the_server(server, tmp_path):
    store = HistoryStore(tmp_path / "h")
    shown = []

    class Watching(Progress):
        def show_text(self, text):
            super().show_text(text)
            shown.append(text)
    served = engine(server)
    served.check()
    written = write_post(Watching(), BRIEF, lambda: served, store, "Ana")
    draft = store.get(written.draft_id)
    assert len(shown) > 3 and shown[-1].strip() == written.copy.text.strip()  # streamed piece by piece
    assert written.copy.repair != "none"  # the tiny model never writes the CTA: the repair went to the server too
    assert draft.copy.model == served.name and server[0] in draft.copy.model
    assert draft.prompt.prompt == written.visual.prompt


def test_cancel_mid_stream_stops_and_saves_nothing(server, tmp_path):
    store = HistoryStore(tmp_path / "h")

    class CancelAfterFirstPiece(Progress):
        def show_text(self, text):
            self.cancel_requested.set()
            super().show_text(text)
    with pytest.raises(JobCancelled):
        write_post(CancelAfterFirstPiece(), BRIEF, lambda: engine(server), store, "Ana")
    assert store.list_drafts() == []


def test_a_server_that_dies_mid_stream_fails_cleanly_and_keeps_the_partial_copy(tiny_llama_folder, tmp_path):
    store = HistoryStore(tmp_path / "h")
    with text_server(tiny_llama_folder, tmp_path / "hub") as (url, process):
        served = OpenAIEngine(ServerSpec(url, str(tiny_llama_folder), read_timeout_s=10))

        class KillAfterFirstPiece(Progress):
            def show_text(self, text):
                super().show_text(text)
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        progress = KillAfterFirstPiece()
        with pytest.raises(GenerationError, match=r"stopped mid-answer, after sending [1-9]\d* characters"):
            write_post(progress, BRIEF, lambda: served, store, "Ana")
    assert progress.partial  # what was written before the server died, for the page to show
    assert store.list_drafts() == []


def test_a_wrong_model_and_a_wrong_port_are_named(server):
    url, _ = server
    with pytest.raises(GenerationError, match="cannot serve the model “llama-que-nao-existe”") as wrong_model:
        list(OpenAIEngine(ServerSpec(url, "llama-que-nao-existe")).stream([{"role": "user", "content": "oi"}], 5))
    assert wrong_model.value.text("pt-BR").startswith(f"o servidor de texto em {url} não consegue servir o modelo")
    port = free_port()
    with pytest.raises(ModelLoadError, match=f"could not reach the text server at http://127.0.0.1:{port}/v1") as \
            wrong_port:
        OpenAIEngine(ServerSpec(f"http://127.0.0.1:{port}/v1", "x", connect_timeout_s=2)).check()
    assert wrong_port.value.text("es").startswith(f"no se pudo contactar el servidor de texto en http://127.0.0.1:{port}")


def test_a_connection_reset_before_any_answer_is_tried_once_more(server, tmp_path):
    """A kept-alive connection the server (or a tunnel) dropped fails before any answer: the request goes again on
    a fresh connection, once; a server that keeps resetting is named, in the user's language."""
    url, model = server
    store = HistoryStore(tmp_path / "h")
    for first_call in ("check", "copy"):
        with resetting_proxy(url, resets=1) as (flaky, accepted):
            served = OpenAIEngine(ServerSpec(flaky, model))
            if first_call == "check":
                served.check()
            written = write_post(Progress(), BRIEF, lambda: served, store, "Ana")
        assert store.get(written.draft_id).copy.text == written.copy.text and written.copy.text.strip()
        assert accepted[:2] == ["reset", "forwarded"]
    with resetting_proxy(url, resets=1_000) as (dropping, accepted), pytest.raises(GenerationError) as failed:
        list(OpenAIEngine(ServerSpec(dropping, model)).stream([{"role": "user", "content": "oi"}], 5))
    assert failed.value.text("pt-BR").startswith(f"não foi possível falar com o servidor de texto em {dropping}: ")
    assert accepted == ["reset", "reset"]  # tried once more, not again and again


def test_drafts_from_the_server_do_not_wait_behind_a_render(server, model_cache, tmp_path):
    url, model = server
    studio = Studio(Environment.read({"STUDIO_PROFILE": "tiny", "STUDIO_MODEL_CACHE": str(model_cache),
                                      "STUDIO_DATA_DIR": str(tmp_path / "data"), "STUDIO_TEXT_ENGINE": "openai",
                                      "STUDIO_OPENAI_BASE_URL": url, "STUDIO_OPENAI_MODEL": model}), device="cpu")
    draft_id = studio.store.create_draft(BRIEF, "c", "a cup of coffee", "", "Ana")
    render = studio.render(draft_id, "a cup of coffee", "", ImageSettings(steps=25, seed=1), "Ana", "a")
    writes = [studio.write(BRIEF, "Bia", f"owner{i}") for i in range(2)]
    for job in (render, *writes):
        assert studio.lane_of(job.id)[0].wait(job, 300)
    assert all(j.state is JobState.DONE for j in (render, *writes)), [j.error for j in (render, *writes)]
    first, second = writes
    assert first.started_at < second.finished_at and second.started_at < first.finished_at  # at once
    assert any(w.started_at < render.finished_at for w in writes)  # not queued behind the render
    assert len(studio.store.list_drafts()) == 3


def test_the_cli_writes_its_three_files_with_the_server(server, model_cache, tmp_path, monkeypatch):
    url, model = server
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(model_cache))
    out = tmp_path / "out"
    code = main(["generate", "--product", "Café Serra Azul", "--cta", "Peça já", "--out", str(out), "--steps", "2",
                 "--seed", "4", "--quiet", "--profile", "tiny", "--data-dir", str(tmp_path / "data"),
                 "--text-engine", "openai", "--openai-base-url", url, "--openai-model", model])
    assert code == 0
    record = json.loads(next(out.glob("*.json")).read_text())
    assert record["profile"]["text_engine"] == "openai" and url in record["profile"]["text_model"]
    assert len(list(out.glob("*.md"))) == len(list(out.glob("*.png"))) == 1
