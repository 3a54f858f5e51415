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
    with pytest.raises(BriefError, match="content type.*instagram.*video_script.*“tiktok”"):
        Brief(product="x", content_type="tiktok")
    with pytest.raises(BriefError, match="language.*pt-BR.*“fr”"):
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
    assert all(f.replace("_", " ") in message for f in fields)
    assert "(got “xxxxxxxx" in message and "…”)" in message  # the shown value keeps its closing quote
    # each face words the same problems in its language, every field named
    portuguese = refused.value.text("pt-BR")
    for words in ("Formato: escolha uma destas opções", "Produto: preencha este campo",
                  "Tom de voz: no máximo 60 caracteres (tem 500: “xxx", "Palavras-chave: há uma palavra-chave vazia"):
        assert words in portuguese
    assert "Tono: como máximo 60 caracteres" in refused.value.text("es")


def test_a_real_brief_fits_key_facts_and_a_link():
    product = ("Vinho tinto Serra Gaúcha Reserva 2021, envelhecido 18 meses em barricas de carvalho francês, notas "
               "de frutas vermelhas maduras, baunilha e especiarias, ideal para carnes vermelhas e massas ao sugo")
    brief = Brief(product=product, key_facts="R$ 89,90 até domingo\nFrete grátis acima de R$ 200",
                  link=" https://loja.example.com.br/vinho-reserva?utm_source=ig ")
    assert len(product) > 120 and brief.link == "https://loja.example.com.br/vinho-reserva?utm_source=ig"
    assert Brief.from_dict(brief.to_dict()) == brief
    assert Brief.from_dict({"product": "old draft"}).key_facts == ""  # drafts saved before the fields existed


@pytest.mark.parametrize("link", ["loja.com.br", "javascript:alert(1)", "https://loja .com", "ftp://x.com/a",
                                  "https://", "http://semponto"])
def test_a_link_that_is_not_a_web_address_is_refused_by_name(link):
    with pytest.raises(BriefError) as refused:
        Brief(product="x", link=link)
    assert refused.value.field == "link"
    assert "Link: precisa ser um endereço web" in refused.value.text("pt-BR")


@pytest.mark.parametrize("link, stored", [
    ('https://evil.example.com/"><script>alert(1)</script>',
     "https://evil.example.com/%22%3E%3Cscript%3Ealert%281%29%3C/script%3E"),
    ("https://example.com/)](javascript:alert(1)", "https://example.com/%29%5D%28javascript:alert%281%29"),
    ("HTTPS://Loja.Exemplo.COM.br/café?cor=azul", "https://loja.exemplo.com.br/caf%C3%A9?cor=azul"),
    ("https://café.com.br/p1", "https://xn--caf-dma.com.br/p1"),
])
def test_a_link_is_normalised_and_percent_encoded_so_it_cannot_break_out(link, stored):
    brief = Brief(product="Café", link=link)
    assert brief.link == stored and Brief.from_dict(brief.to_dict()).link == stored  # stable once normalised
    assert not set('<>"\' ') & set(brief.link)


@pytest.mark.parametrize("link", ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/admin",
                                  "http://192.168.0.1", "http://127.0.0.1:8501", "http://localhost:8501",
                                  "http://[::1]/", "http://router.local/", "https://user:senha@loja.com.br/"])
def test_a_link_to_a_private_or_local_address_or_with_credentials_is_refused_naming_it(link):
    with pytest.raises(BriefError) as error:
        Brief(product="Café", link=link)
    said = error.value.text("pt-BR")
    assert said.startswith("Link: ") and (link in said or link[:60] in said)


def test_the_exported_markdown_writes_the_link_as_an_autolink_that_cannot_run_script(tmp_path):
    from core.studio.export import markdown
    from core.studio.history import HistoryStore
    store = HistoryStore(tmp_path)
    brief = Brief(product="Café", link="https://example.com/)](javascript:alert(1)")
    draft = store.get(store.create_draft(brief, "Café bom. Peça já!", "p", "n", "Ana"))
    page = markdown(draft)
    assert "- link: <https://example.com/%29%5D%28javascript:alert%281%29>" in page
    assert "](javascript:" not in page
