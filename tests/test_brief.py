import pytest

from core.content.brief import FIELD_LIMITS, MAX_KEYWORDS, Brief, ContentType, Language, parse_keywords
from core.errors import BriefError


def test_defaults_are_brazilian_instagram():
    brief = Brief(product="Café Serra Azul")
    assert brief.language is Language.PT_BR
    assert brief.content_type is ContentType.INSTAGRAM


def test_strings_are_parsed_into_enums():
    brief = Brief(product="x", content_type="email", language="es")
    assert brief.content_type is ContentType.EMAIL and brief.language is Language.ES


@pytest.mark.parametrize("product", ["", "   ", "\n"])
def test_empty_product_names_the_field(product):
    with pytest.raises(BriefError) as caught:
        Brief(product=product)
    assert caught.value.field == "product"
    assert "must not be empty" in str(caught.value)


def test_over_long_field_names_field_and_length():
    with pytest.raises(BriefError) as caught:
        Brief(product="ok", audience="a" * (FIELD_LIMITS["audience"] + 1))
    assert caught.value.field == "audience"
    assert f"at most {FIELD_LIMITS['audience']}" in str(caught.value)
    assert str(FIELD_LIMITS["audience"] + 1) in str(caught.value)


def test_unknown_type_and_language_list_the_allowed_values():
    with pytest.raises(BriefError, match="content_type.*instagram.*video_script.*'tiktok'"):
        Brief(product="x", content_type="tiktok")
    with pytest.raises(BriefError, match="language.*pt-BR.*'fr'"):
        Brief(product="x", language="fr")


def test_control_characters_are_rejected_not_stripped():
    with pytest.raises(BriefError, match="tone.*control character"):
        Brief(product="x", tone="alegre\x00")
    assert Brief(product="x", brand_notes="linha 1\nlinha 2").brand_notes == "linha 1\nlinha 2"


def test_keywords():
    assert parse_keywords(" café, manhã ,, ") == ("café", "manhã")
    with pytest.raises(BriefError, match="keywords.*at most"):
        Brief(product="x", keywords=tuple(f"k{i}" for i in range(MAX_KEYWORDS + 1)))
    with pytest.raises(BriefError, match="keywords.*list"):
        Brief(product="x", keywords="café, manhã")
    with pytest.raises(BriefError, match="keywords.*empty"):
        Brief(product="x", keywords=("ok", " "))


def test_round_trip_through_dict():
    brief = Brief(product="Tênis", content_type="x", keywords=("corrida",), call_to_action="Compre já")
    assert Brief.from_dict(brief.to_dict()) == brief


def test_every_bad_field_is_reported_at_once_with_its_value_quoted_whole():
    with pytest.raises(BriefError) as refused:
        Brief(product="", tone="x" * 500, content_type="tiktok", keywords=("café", ""))
    fields = [problem.field for problem in refused.value.problems]
    assert fields == ["content_type", "product", "tone", "keywords"]
    message = str(refused.value)
    assert all(f in message for f in fields)
    assert "(got 'xxxxxxxx" in message and "'…)" in message  # the shown value keeps its closing quote
