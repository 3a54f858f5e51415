import string

import pytest
from hypothesis import given, settings, strategies as st

from core.content.brief import Brief
from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer, count_clip_tokens
from core.content.visual_prompt import (DEFAULT_NEGATIVE, compose_from_brief, looks_english, parse_visual_output,
                                        visual_prompt_from_output, write_visual_prompt)
from tests.fake_engines import ScriptedEngine

BRIEF = Brief(product="Café Serra Azul", tone="Divertido", audience="jovens")


def test_labelled_lines():
    raw = "PROMPT: a steaming cup of coffee on a wooden table, morning light\nNEGATIVE: blurry, text"
    assert parse_visual_output(raw) == (("a steaming cup of coffee on a wooden table, morning light", "blurry, text"),
                                        None)


def test_json_answer_inside_chatter_and_fences():
    raw = 'Sure! ```json\n{"prompt": "a red sneaker on concrete, studio lighting", "negative_prompt": "blur"}\n```'
    assert parse_visual_output(raw)[0] == ("a red sneaker on concrete, studio lighting", "blur")


def test_markdown_labels_and_missing_negative():
    result = visual_prompt_from_output("**Prompt:** a bright kitchen with fresh bread, wide shot", BRIEF)
    assert result.source == "model" and result.prompt == "a bright kitchen with fresh bread, wide shot"
    assert result.negative_prompt == DEFAULT_NEGATIVE
    assert any("no negative prompt" in str(note) for note in result.notes)


def test_portuguese_answer_falls_back_and_says_so():
    result = visual_prompt_from_output("PROMPT: uma xícara de café na mesa com a luz da manhã", BRIEF)
    assert result.source == "fallback"
    assert "not in English" in str(result.notes[0])
    assert "não está em inglês" in result.notes[0].text("pt-BR")
    assert looks_english(result.prompt)
    assert "playful" in result.prompt  # the tone 'Divertido' mapped to English style words


def test_junk_and_spanish_are_not_english():
    assert looks_english("a steaming cup of coffee on a wooden table, morning light, 85mm, bokeh")
    assert not looks_english("una taza de café humeante sobre una mesa de madera con luz de la mañana")
    assert not looks_english("Prec cena al TikTokfos produ sional publ marketingcephs haracte Ints yVisualz umunto")
    assert not looks_english("a cup of coffee \ufffd on a table")


def test_over_long_prompt_is_reported_not_cut():
    long_prompt = ", ".join(["a golden retriever puppy in a sunlit meadow with wildflowers"] * 10)
    result = visual_prompt_from_output(f"PROMPT: {long_prompt}\nNEGATIVE: blur", BRIEF)
    assert result.prompt == long_prompt
    assert result.prompt_tokens > CLIP_WINDOW
    assert any(f"only the first {CLIP_WINDOW}" in str(note) for note in result.notes)
    assert any(f"o SDXL lê só os primeiros {CLIP_WINDOW}" in note.text("pt-BR") for note in result.notes)


def test_clip_tokenizer_is_the_real_one():
    ids = clip_tokenizer()("a photograph of an astronaut riding a horse").input_ids
    assert ids == [49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407]
    assert count_clip_tokens("a photograph") == 4


def test_fallback_from_brief_is_english_and_usable():
    english = compose_from_brief(Brief(product="Blue Ridge cold brew coffee", language="en"))
    assert english.source == "fallback" and "Blue Ridge cold brew coffee" in english.prompt and not english.notes
    portuguese = compose_from_brief(Brief(product="Vinho tinto Serra Gaúcha Reserva 2021, envelhecido em carvalho"))
    assert "Vinho" not in portuguese.prompt and looks_english(portuguese.prompt)
    assert portuguese.notes[0].code == "visual_product_generic"
    assert portuguese.prompt_tokens <= CLIP_WINDOW


@pytest.mark.parametrize("answer", [
    "PROMPT: [insert text here], [insert product], professional photo",
    "PROMPT: The word 'envelhecido' is an adjective that means aged in English.",
    "PROMPT: vino tinto sobre una mesa de madera, luz cálida, copas de cristal",
    "PROMPT: Here is the prompt you asked for, I will describe the product",
    "PROMPT: {product} on a {background}, {lighting}",
])
def test_junk_answers_fall_back_to_an_english_prompt_that_names_the_product_in_english(answer):
    brief = Brief(product="Vinho tinto Serra Gaúcha Reserva 2021")
    engine = ScriptedEngine(answer, "Serra Gaucha Reserve 2021 red wine")
    result = write_visual_prompt(brief, "Corra! Vinho com 20% de desconto.", engine)
    assert result.source == "fallback"
    assert "Serra Gaucha Reserve 2021 red wine" in result.prompt and "Vinho" not in result.prompt
    assert [note.code for note in result.notes[:2]] == ["visual_unusable", "visual_product_translated"]
    assert "Portuguese" not in engine.chats[1][-1]["content"] and "Vinho tinto" in engine.chats[1][-1]["content"]


def test_a_translation_that_is_not_english_is_not_used():
    brief = Brief(product="Vinho tinto Serra Gaúcha Reserva 2021")
    engine = ScriptedEngine("PROMPT: ", "Vinho tinto da Serra Gaúcha")
    result = write_visual_prompt(brief, "texto", engine)
    assert "Vinho" not in result.prompt and result.notes[1].code == "visual_product_generic"


def test_only_the_prompt_line_is_taken_not_what_follows():
    raw = ("PROMPT: a red wine bottle on an oak barrel, warm light\nThis prompt shows the wine in a cellar.\n"
           "Alternative: una botella de vino\nNEGATIVE: blurry, text")
    assert parse_visual_output(raw)[0] == ("a red wine bottle on an oak barrel, warm light", "blurry, text")


junk = st.one_of(
    st.text(),
    st.text(alphabet=string.printable),
    st.builds(lambda a, b: f"PROMPT:{a}\nNEGATIVE:{b}", st.text(), st.text()),
    st.builds(lambda a: "{" + a, st.text()),
    st.builds(lambda a: '{"prompt": ' + a + "}", st.text()),
)


@settings(max_examples=300, deadline=None)
@given(junk)
def test_parser_survives_junk(raw):
    parsed, problem = parse_visual_output(raw)
    if parsed is None:
        assert problem
    else:
        prompt, negative = parsed
        assert len(prompt.split()) >= 3 and looks_english(prompt)
    result = visual_prompt_from_output(raw, BRIEF)
    assert result.prompt.strip() and result.negative_prompt.strip()
    assert result.source in ("model", "fallback")


@pytest.mark.parametrize("raw", [
    "PROMPT: <at most 50 words, comma-separated: main subject, setting, style, lighting, composition>\nNEGATIVE: blur",
    "PROMPT: main subject, setting, style, lighting, composition\nNEGATIVE: <at most 20 words>",
    "PROMPT: image title, text size x364px\nNEGATIVE: blurry",
    "PROMPT: [product] on a [surface], [lighting]\nNEGATIVE: blurry",
    "PROMPT: Here is a prompt you can use for the image of the coffee\nNEGATIVE: blurry",
])
def test_echoed_templates_and_prose_fall_back_with_a_note(raw):
    brief = Brief(product="Serra Azul coffee", content_type="instagram")
    result = visual_prompt_from_output(raw, brief)
    assert result.source == "fallback" and result.notes[0].code == "visual_unusable"


def test_a_real_prompt_is_still_taken():
    raw = "PROMPT: a glass serum bottle on a marble table, morning light, fresh leaves, soft focus\nNEGATIVE: text"
    result = visual_prompt_from_output(raw, Brief(product="Sérum", content_type="instagram"))
    assert result.source == "model" and result.prompt.startswith("a glass serum bottle")
