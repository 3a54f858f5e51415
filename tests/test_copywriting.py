"""The repair loop around the model: what it is told, in which language, and which draft it keeps."""
import pytest

from core.content.brief import Brief
from core.content.copywriting import write_copy
from core.content.language import detect
from core.content.brief import Language
from tests.fake_engines import ScriptedEngine

GOOD = {"pt-BR": "Seu café da manhã nunca mais será o mesmo com o novo blend da Serra Azul. Corra!",
        "en": "Your mornings will never be the same with the new Serra Azul blend. Hurry!",
        "es": "Tus mañanas nunca serán iguales con el nuevo blend de la Serra Azul. ¡Corre ya!"}
CTA = {"pt-BR": "Corra", "en": "Hurry", "es": "Corre ya"}


@pytest.mark.parametrize("language", ["pt-BR", "en", "es"])
def test_the_repair_request_is_written_in_the_briefs_language(language):
    brief = Brief(product="Café Serra Azul", content_type="x", language=language, call_to_action=CTA[language])
    first = "Café Serra Azul: o melhor do Brasil" if language != "pt-BR" else "Seu café chegou, prove hoje mesmo."
    engine = ScriptedEngine(first, GOOD[language])
    draft = write_copy(brief, engine)
    assert draft.text == GOOD[language] and draft.repair == "regenerated" and draft.violations == []
    request = engine.chats[1][-1]["content"]
    found, _ = detect(request)
    assert found is Language(language), request  # the instructions and every listed problem
    assert CTA[language] in request


def test_the_rewrite_is_dropped_when_it_breaks_more_rules_and_the_note_says_why():
    brief = Brief(product="Café Serra Azul", content_type="x", call_to_action="Corra")
    first = "Seu café da manhã nunca mais será o mesmo com o novo blend da Serra Azul, feito para você."
    worse = "The new Serra Azul blend will change your mornings forever, order yours online today."
    draft = write_copy(brief, ScriptedEngine(first, worse))
    assert draft.text == first and draft.repair == "kept_first"
    assert [v.code for v in draft.violations] == ["missing_cta"]
    assert [v.code for v in draft.repair_reasons] == ["missing_cta"]
    note = draft.repair_notes()[0].text("pt-BR")
    assert "a chamada para ação “Corra” não aparece" in note and "ficou o primeiro texto" in note


def test_phases_are_reported_with_the_reasons_for_a_repair():
    brief = Brief(product="Café Serra Azul", content_type="x", call_to_action="Corra")
    seen = []
    write_copy(brief, ScriptedEngine("Seu café chegou, prove hoje mesmo.", GOOD["pt-BR"]),
               on_phase=lambda phase, reasons: seen.append((phase, [v.code for v in reasons])))
    assert seen == [("writing", []), ("checking", []), ("repairing", ["missing_cta"]), ("checking", [])]


# -- a rewrite that never finishes ---------------------------------------------------------------------------------
import threading  # noqa: E402
import time  # noqa: E402

from core.errors import GenerationError  # noqa: E402
from core.studio.history import HistoryStore  # noqa: E402
from core.studio.jobs import write_post  # noqa: E402
from core.studio.progress import Progress  # noqa: E402
from core.studio.worker import GPUWorker  # noqa: E402

FIRST = "Seu café chegou, prove hoje mesmo o novo blend da Serra Azul."  # whole, but without its CTA


class StalledRewrite(ScriptedEngine):
    """Writes its first answer whole, then streams the rewrite slowly, and fails it the way it is told:
    a server gone mid-answer (raise) or simply too slow (the time limit or a cancel stops it)."""

    def __init__(self, failure: Exception | None = None):
        super().__init__(FIRST)
        self.failure = failure

    def stream(self, messages, max_new_tokens, sampling=None, prefill=""):
        if len(self.chats) == 0:
            yield from super().stream(messages, max_new_tokens, prefill=prefill)
            return
        self.chats.append(messages)
        for piece in ["Seu café ", "chegou: ", "corra "] * 200:
            yield piece
            if self.failure is not None:
                raise self.failure
            time.sleep(0.05)


BRIEF_X = Brief(product="Café Serra Azul", content_type="x", call_to_action="Corra")


@pytest.mark.parametrize("failure", [GenerationError("server_stopped", detail="EOF"), ConnectionResetError("peer reset")])
def test_a_server_failing_mid_rewrite_keeps_the_whole_first_draft_and_says_why(tmp_path, failure):
    store = HistoryStore(tmp_path)
    result = write_post(Progress(), BRIEF_X, lambda: StalledRewrite(failure), store, "Ana")
    saved = store.get(result.draft_id)
    assert saved.copy.text == FIRST and result.copy.repair == "kept_first_interrupted"
    assert result.visual.source == "fallback" and result.interrupted
    note = result.copy.repair_notes()[0].text("pt-BR")
    assert "a reescrita não terminou" in note and "primeiro rascunho inteiro foi salvo" in note


@pytest.mark.parametrize("stop", ["cancel", "time limit"])
def test_a_cancel_or_the_time_limit_mid_rewrite_saves_the_first_draft_and_names_the_real_cause(tmp_path, stop):
    store = HistoryStore(tmp_path)
    worker = GPUWorker(limits={"write": 2.0}, grace_s=30)
    job = worker.submit(lambda job: write_post(job, BRIEF_X, StalledRewrite, store, "Ana"), "write", "ana")
    if stop == "cancel":
        while job.phase != "repairing":
            time.sleep(0.05)
        time.sleep(0.3)
        worker.cancel(job)
    assert worker.wait(job, 60)
    assert job.state.value == "done", (job.state, job.error)
    [draft] = store.list_drafts()
    assert draft.copy.text == FIRST
    note = job.result.copy.repair_notes()[0].text("pt-BR")
    assert ("foi cancelada" if stop == "cancel" else "chegou ao limite de tempo") in note
    assert "servidor" not in note
