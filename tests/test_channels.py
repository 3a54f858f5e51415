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
    text = " ".join(f"Frase número {i} sobre o café." for i in range(30)) + " Peça já! #cafe"
    trimmed = trim_to_rules(text, brief)
    assert x_weighted_length(trimmed) <= 280
    assert trimmed.startswith("Frase número 0 sobre o café.")
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
