import pytest

from core.content.brief import Brief
from core.content.channels import RULES, check, count_hashtags, trim_to_rules, x_weighted_length
from core.content.brief import ContentType
from core.content.copy_parts import parse_email, parse_video_script


def codes(text, brief):
    return {v.code for v in check(text, brief)}


def test_instagram_caps_length_and_hashtags():
    brief = Brief(product="Café", call_to_action="Peça já")
    assert RULES[ContentType.INSTAGRAM].max_chars == 2200 and RULES[ContentType.INSTAGRAM].max_hashtags == 5
    ok = "Manhã boa começa com café. Peça já! #cafe #manha"
    assert check(ok, brief) == []
    six = ok + " #a #b #c #d"
    assert codes(six, brief) == {"too_many_hashtags"}
    assert codes("x" * 2201 + " Peça já", brief) == {"too_long"}


def test_missing_cta_ignores_case_accents_and_spacing():
    brief = Brief(product="Café", call_to_action="Peça já o seu")
    assert "missing_cta" not in codes("Corra e PECA  JA o seu!", brief)
    assert "missing_cta" in codes("Corra e compre o seu!", brief)
    assert "missing_cta" not in codes("anything", Brief(product="Café"))


def test_x_counts_like_x():
    assert x_weighted_length("a" * 280) == 280
    assert x_weighted_length("😀" * 140) == 280
    assert x_weighted_length("see https://example.com/a/very/long/path/that/goes/on") == 4 + 23
    brief = Brief(product="Café", content_type="x")
    assert codes("😀" * 141, brief) == {"too_long"}


def test_email_subject_and_preheader_limits():
    brief = Brief(product="Café", content_type="email", call_to_action="Compre agora")
    good = "Assunto: Seu café chegou\nPré-cabeçalho: Frete grátis hoje\n\nOlá! Compre agora."
    assert check(good, brief) == []
    parts = parse_email(good)
    assert (parts.subject, parts.preheader, parts.body) == ("Seu café chegou", "Frete grátis hoje", "Olá! Compre agora.")
    long_subject = "**Subject:** " + "s" * 61 + "\nPreheader: " + "p" * 101 + "\n\nBody. Compre agora."
    assert codes(long_subject, brief) == {"subject_too_long", "preheader_too_long"}
    assert "missing_subject" in codes("Olá! Compre agora.", brief)


def test_video_script_scenes_need_visuals():
    brief = Brief(product="Café", content_type="video_script", language="es")
    script = "Escena 1: Despierta.\nVisual: taza humeante\nEscena 2: Sabor.\nVisual: granos de café"
    assert check(script, brief) == []
    scenes = parse_video_script(script).scenes
    assert [(s.number, s.visual) for s in scenes] == [(1, "taza humeante"), (2, "granos de café")]
    assert codes("Cena 1: Acorde.\nCena 2: Sabor.\nVisual: grãos", Brief(product="Café", content_type="video_script")) \
        == {"scene_without_visual"}
    assert "too_few_scenes" in codes("Just one line", brief)


def test_trim_cuts_at_sentences_and_keeps_cta_and_hashtags():
    brief = Brief(product="Café", content_type="x", call_to_action="Peça já")
    text = " ".join(f"Na {i}ª xícara você ainda sente o aroma da fazenda." for i in range(30)) + " Peça já! #cafe"
    trimmed = trim_to_rules(text, brief)
    assert x_weighted_length(trimmed) <= 280
    assert trimmed.startswith("Na 0ª xícara você ainda sente o aroma da fazenda.")
    assert "Peça já!" in trimmed and trimmed.endswith("#cafe")
    assert check(trimmed, brief) == []


def test_trim_drops_hashtags_past_the_cap():
    brief = Brief(product="Café")
    trimmed = trim_to_rules("Café bom. #a #b #c #d #e #f #g", brief)
    assert count_hashtags(trimmed) == 5 and "#f" not in trimmed and "#e" in trimmed


def test_trim_cuts_a_single_huge_sentence_at_a_word():
    brief = Brief(product="Café", content_type="x")
    trimmed = trim_to_rules("palavra " * 100, brief)
    assert x_weighted_length(trimmed) <= 280 and trimmed.endswith("…")


@pytest.mark.parametrize("language, text", [
    ("pt-BR", "The call to action 'Corra' is missing from this message. Please add it before posting."),
    ("pt-BR", "¡Descubre el nuevo café de la Sierra Azul, tostado artesanalmente para tus mañanas! Pide el tuyo hoy."),
    ("en", "Seu café da manhã nunca mais será o mesmo. Experimente o novo blend da Serra Azul e sinta a diferença."),
    ("es", "Your mornings will never be the same again. Try the new Serra Azul blend and taste the difference."),
])
def test_copy_in_another_language_breaks_a_rule(language, text):
    brief = Brief(product="Café Serra Azul", content_type="linkedin", language=language)
    wrong = [v for v in check(text, brief) if v.code == "wrong_language"]
    assert len(wrong) == 1 and wrong[0].params["expected"] == language
    assert "não em" in wrong[0].text("pt-BR") and "not in" in wrong[0].text("en")


@pytest.mark.parametrize("language, text", [
    ("pt-BR", "Seu café da manhã nunca mais será o mesmo. Experimente o novo blend da Serra Azul. #cafe #manha"),
    ("pt-BR", "Novo Galaxy S24 Ultra com câmera de 200MP e bateria que dura o dia todo. Garanta o seu!"),
    ("pt-BR", "Oferta imperdível: compre um e leve dois no fim de semana. Corra!"),
    ("es", "Para tu piel, lo mejor de la naturaleza, sin químicos ni conservantes. Pide el tuyo hoy."),
    ("en", "Hello team, check out our new product launch this week with exclusive deals for members."),
    ("pt-BR", "Corra! 🚀🔥 #promo"),  # too short to judge: never flagged
])
def test_copy_in_the_asked_language_passes(language, text):
    brief = Brief(product="Café Serra Azul", content_type="linkedin", language=language)
    assert "wrong_language" not in codes(text, brief)


def test_a_cta_only_talked_about_in_quotes_is_missing():
    brief = Brief(product="Tênis", content_type="x", call_to_action="Corra")
    assert "missing_cta" in codes("The call to action 'Corra' is missing from this message.", brief)
    assert "missing_cta" in codes('A chamada “Corra” precisa aparecer no post.', brief)
    assert "missing_cta" in codes("Descorra a cortina do dia.", brief)  # inside another word
    assert "missing_cta" not in codes("Tênis novos chegaram. Corra! Estoque limitado.", brief)
    assert "missing_cta" not in codes("Tênis novos chegaram, CORRA pra loja.", brief)


def test_email_subject_on_the_line_after_its_label():
    parts = parse_email("**Subject:**\n\nSua oferta chegou\n**Preheader:**\nSó até domingo\n\nOlá!\nCompre agora.")
    assert (parts.subject, parts.preheader, parts.body) == ("Sua oferta chegou", "Só até domingo", "Olá!\nCompre agora.")
