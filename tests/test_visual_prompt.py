import string

from hypothesis import given, settings, strategies as st

from core.content.brief import Brief
from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer, count_clip_tokens
from core.content.visual_prompt import (DEFAULT_NEGATIVE, compose_from_brief, looks_english, parse_visual_output,
                                visual_prompt_from_output)

BRIEF = Brief(product="Café Serra Azul", tone="Divertido", audience="jovens")


def test_labelled_lines():
    raw = "PROMPT: a steaming cup of coffee on a wooden table, morning light\nNEGATIVE: blurry, text"
    assert parse_visual_output(raw) == (("a steaming cup of coffee on a wooden table, morning light", "blurry, text"), "")


def test_json_answer_inside_chatter_and_fences():
    raw = 'Sure! ```json\n{"prompt": "a red sneaker on concrete, studio lighting", "negative_prompt": "blur"}\n```'
    assert parse_visual_output(raw)[0] == ("a red sneaker on concrete, studio lighting", "blur")


def test_markdown_labels_and_missing_negative():
    result = visual_prompt_from_output("**Prompt:** a bright kitchen with fresh bread, wide shot", BRIEF)
    assert result.source == "model" and result.prompt == "a bright kitchen with fresh bread, wide shot"
    assert result.negative_prompt == DEFAULT_NEGATIVE
    assert any("no negative prompt" in note for note in result.notes)


def test_portuguese_answer_falls_back_and_says_so():
    result = visual_prompt_from_output("PROMPT: uma xícara de café na mesa com a luz da manhã", BRIEF)
    assert result.source == "fallback"
    assert "not in English" in result.notes[0]
    assert looks_english(result.prompt.replace("Café", "Cafe"))
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
    assert any(f"only the first {CLIP_WINDOW}" in note for note in result.notes)


def test_clip_tokenizer_is_the_real_one():
    ids = clip_tokenizer()("a photograph of an astronaut riding a horse").input_ids
    assert ids == [49406, 320, 8853, 539, 550, 18376, 6765, 320, 4558, 49407]
    assert count_clip_tokens("a photograph") == 4


def test_fallback_from_brief_is_usable():
    result = compose_from_brief(BRIEF)
    assert result.source == "fallback" and "Café Serra Azul" in result.prompt
    assert result.prompt_tokens <= CLIP_WINDOW


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
