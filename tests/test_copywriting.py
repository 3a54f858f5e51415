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
