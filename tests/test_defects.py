"""The copy checks a reviewer relies on, on real-looking copy in the three languages: a call to action only quoted,
a text cut off by the token budget, template placeholders, talk about the writing, and loanwords that are not a
wrong language. Each list holds cases that must be flagged and cases that must pass."""
import pytest

from core.content.brief import Brief, Language
from core.content.channels import check, contains_cta, trim_to_rules
from core.content.defects import cut_off, meta_commentary, placeholders
from core.content.language import wrong_language

QUOTED_ONLY = [  # (text, cta): the CTA appears only inside a quotation
    ('X: "Shop now, and make a difference"\n\nI made a few tweaks to the original message.', "Shop now"),
    ("Nossa equipe sempre diz “Peça já o seu e aproveite”, e os clientes adoram.", "Peça já"),
    ("El lema de la campaña, «Compra ahora y ahorra hasta un 30 % en toda la tienda», ya está en las calles.",
     "Compra ahora"),
    ("Ela respondeu: 'corra, compre agora, é só hoje' e saiu.", "compre agora"),
    ('Slogan ideas: "Order today and taste the mountains" or "A cup of Serra Azul".', "Order today"),
    ("Mi abuela decía „Reserva tu mesa, que se llena”, y tenía razón.", "Reserva tu mesa"),
]
MADE = [  # the CTA is made, whatever quotes stand elsewhere
    ('Nosso café "Serra Azul" chegou. Peça já!', "Peça já"),
    ("Don't miss it: shop now and save 30%!", "shop now"),
    ("«Delicioso», dicen todos. ¡Compra ahora!", "Compra ahora"),
    ("A d’água é a nossa nova garrafa. Compre agora!", "Compre agora"),
    ("It's here — the bag everyone's talking about. Order today.", "Order today"),
]


@pytest.mark.parametrize("text, cta", QUOTED_ONLY)
def test_a_call_to_action_only_inside_quotes_is_not_made(text, cta):
    assert not contains_cta(text, cta)


@pytest.mark.parametrize("text, cta", MADE)
def test_a_call_to_action_outside_quotes_is_made(text, cta):
    assert contains_cta(text, cta)


CUT = ["Com o Hush 2 você tem silêncio e 30 horas de batt", "Get 30 hours of battery and a case that fits in your pocket. Ends Fl",
       "Descubra o sabor do café da Serra Azul, torrado em pequenos lotes no Aleg",
       "El nuevo Hush 2 llega con cancelación de ruido y hasta treinta horas de bater",
       "Conheça a nova linha de cafés especiais, perfeita para quem ama um bom café e",
       "Our spring collection is here, with fresh colours and light fabrics for"]
WHOLE = [("Café bom. Peça já!", "Peça já"), ("Conheça o Hush 2. Compre agora", "Compre agora"),
         ("Nova coleção chegou. #NaturaViva", ""), ("Shop the look: https://loja.com.br/p1", ""),
         ("¡Llegó el verano! ☀️", ""), ("Abraços,\nEquipe Café Serra Azul", ""),
         ("Escena 1: Despierta.\nVisual: taza humeante sobre una mesa de madera clara", "")]


@pytest.mark.parametrize("text", CUT)
def test_a_text_cut_mid_word_or_sentence_is_flagged_and_ends_at_its_last_whole_sentence(text):
    assert cut_off(text) is not None
    brief = Brief(product="Hush 2", content_type="instagram")
    if "." in text:
        assert trim_to_rules(text, brief).endswith(".")


@pytest.mark.parametrize("text, cta", WHOLE)
def test_a_finished_text_is_not_flagged_as_cut(text, cta):
    assert cut_off(text, cta) is None


HOLES = ["Hi [Your Name], meet Hush 2 from [Company Name]!", "Olá {nome}, seu cupom é {{cupom}}.",
         "Visite <insira o link aqui> e aproveite.", "Hola [Nombre], tu pedido llega el XXX.",
         "Confira em (inserir link) e garanta o seu.", "Lorem ipsum dolor sit amet, compre já."]
NO_HOLES = ["Veja [o vídeo](https://loja.com.br/v) e compre já.", "Café Serra Azul (250 g) por R$ 29,90.",
            "3 > 2: dois cafés por um preço.", "Xícara extra grande, tamanho XL.", "Peça já, é por tempo limitado!"]


@pytest.mark.parametrize("text", HOLES)
def test_template_placeholders_are_found(text):
    assert placeholders(text)


@pytest.mark.parametrize("text", NO_HOLES)
def test_brackets_that_are_copy_are_not_placeholders(text):
    assert placeholders(text) == []


META = ["Here is your post: Meet Hush 2, the quietest headphones yet.",
        "I made a few tweaks to the original message to make it more engaging.",
        "Chat Reminder: Shop now, limit: 280 words", "Aqui está o texto do seu post: Café fresquinho!",
        "Fiz algumas alterações para deixar o texto mais envolvente. Espero que goste!",
        "Aquí tienes la publicación: ¡Llegó el verano!", "Espero que te guste este texto. Avísame si quieres cambios.",
        "Público: mulheres 30+\nTom: divertido\nCafé bom, peça já!"]
NOT_META = ["Aqui tem café de verdade: peça já!", "Here at Serra Azul, every bean is hand picked. Order today!",
            "Fizemos um café especial para você. Peça já!", "Espero você na loja amanhã, com café quentinho!",
            "Nota 10 no sabor: prove o novo blend!"]


@pytest.mark.parametrize("text", META)
def test_talk_about_the_writing_is_found(text):
    assert meta_commentary(text)


@pytest.mark.parametrize("text", NOT_META)
def test_copy_that_merely_looks_like_talk_is_not(text):
    assert meta_commentary(text) == []


LOANWORDS_PT = [
    "Happy hour de Black Friday no nosso delivery: drinks, burgers e brownies com desconto. Peça no delivery!",
    "Chegou o combo de Black Friday: burger, fries e milkshake com 30% off no app. Peça já pelo delivery!",
    "Seu look de verão com desconto: cropped, shorts jeans e tênis slim em promoção. Confira no app e aproveite!",
    "Happy hour com drinks e petiscos no rooftop: aproveite o after work com os amigos. Reserve já pelo app!",
    "Nosso brunch de domingo tem pancakes, bacon e cold brew à vontade. Faça seu check-in no app e ganhe um cookie!",
    "A live de hoje tem unboxing do novo smartphone e cupom de cashback para quem fizer o download do app!"]
ENGLISH = ["Get 30 hours of battery life with the new Hush 2 headphones. Order now and enjoy the silence!",
           "Our Black Friday deals are here: burgers, fries and shakes at half price. Order on the app today!",
           "Meet the new Serra Azul blend, roasted in small batches for a smooth morning cup. Shop now!",
           "Happy hour starts at five with drinks and snacks on the rooftop. Book your table through the app!",
           "Discover our summer collection with crop tops, denim shorts and slim sneakers on sale. Check it out!"]
SPANISH = ["Consigue 30 horas de batería con los nuevos auriculares Hush 2. ¡Pide ya y disfruta del silencio!",
           "Llegó el combo de Black Friday: hamburguesa, papas y batido con descuento en la app. ¡Pídelo ya!",
           "Descubre el nuevo café de la Sierra Azul, tostado en pequeños lotes para una mañana suave. ¡Cómpralo hoy!",
           "El happy hour empieza a las cinco con tragos y picoteo en la terraza. ¡Reserva tu mesa en la app!",
           "Nuestra colección de verano trae tops, shorts de mezclilla y zapatillas en oferta. ¡Míralo ahora!"]


@pytest.mark.parametrize("text", LOANWORDS_PT)
def test_brazilian_prose_with_everyday_english_loanwords_is_portuguese(text):
    assert wrong_language(text, Language.PT_BR) is None


@pytest.mark.parametrize("text, language", [(t, Language.EN) for t in ENGLISH] + [(t, Language.ES) for t in SPANISH])
def test_english_and_spanish_controls_are_still_the_wrong_language_for_a_portuguese_brief(text, language):
    assert wrong_language(text, Language.PT_BR) is language


@pytest.mark.parametrize("language, text, codes", [
    ("en", "Hi [Your Name], here is your post: meet Hush 2. Order now!", {"placeholder", "meta_commentary"}),
    ("pt-BR", "Com o Hush 2 você tem silêncio e 30 horas de batt", {"cut_off", "missing_cta"}),
    ("es", "Aquí tienes la publicación: «Compra ahora» y ahorra con el nuevo Hush 2 en casa.",
     {"meta_commentary", "missing_cta"})])
def test_the_checker_reports_each_defect_worded_in_the_briefs_language(language, text, codes):
    cta = {"en": "Order now", "pt-BR": "Compre agora", "es": "Compra ahora"}[language]
    brief = Brief(product="Hush 2", content_type="instagram", language=language, call_to_action=cta)
    found = check(text, brief)
    assert codes <= {v.code for v in found}
    for violation in found:
        assert "{" not in violation.text(language)
