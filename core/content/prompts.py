"""Prompt wording for each language and channel, written natively rather than translated from English."""
from __future__ import annotations

from core.content.brief import Brief, ContentType, Language
from core.content.channels import RULES, Violation

SYSTEM = {
    Language.PT_BR: (
        "Você é um redator publicitário brasileiro sênior, que escreve para marcas no Brasil. Escreva em "
        "português do Brasil natural e atual, com o jeito de falar do público brasileiro: nada de português "
        "de Portugal, nada de tradução literal do inglês. Seja concreto, use verbos de ação e respeite o "
        "tom pedido. Entregue só o texto final, sem comentários nem explicações."
    ),
    Language.EN: (
        "You are a senior marketing copywriter. Write natural, current English for the audience given. "
        "Be concrete, use active verbs and keep to the tone asked for. Deliver only the final copy, with no "
        "comments or explanations."
    ),
    Language.ES: (
        "Eres un redactor publicitario sénior. Escribe en un español natural y actual, neutro para "
        "Latinoamérica salvo que se pida otra cosa. Sé concreto, usa verbos de acción y respeta el tono "
        "pedido. Entrega solo el texto final, sin comentarios ni explicaciones."
    ),
}

CHANNEL = {
    Language.PT_BR: {
        ContentType.INSTAGRAM: "Escreva a legenda de um post de Instagram: um gancho forte na primeira linha, "
                               "parágrafos curtos, emojis com moderação e no máximo {hashtags} hashtags no final.",
        ContentType.LINKEDIN: "Escreva um post de LinkedIn: abertura que prenda a atenção, um insight útil para "
                              "profissionais, parágrafos curtos e tom profissional e humano.",
        ContentType.X: "Escreva um post para o X (antigo Twitter) com no máximo 280 caracteres, direto e marcante.",
        ContentType.PRODUCT_DESCRIPTION: "Escreva a descrição de produto para e-commerce: benefícios antes de "
                                         "características, frases claras e escaneáveis.",
        ContentType.EMAIL: "Escreva um e-mail de marketing. Comece com a linha 'Assunto:' (até 60 caracteres), "
                           "depois a linha 'Pré-cabeçalho:' (até 100 caracteres), uma linha em branco e o corpo.",
        ContentType.VIDEO_SCRIPT: "Escreva o roteiro de um vídeo curto (Reels/TikTok, até 30 segundos) com 3 a 5 "
                                  "cenas. Para cada cena escreva 'Cena N:' com a fala ou texto na tela e, na linha "
                                  "seguinte, 'Visual:' com a ideia visual da cena.",
    },
    Language.EN: {
        ContentType.INSTAGRAM: "Write an Instagram caption: a strong hook in the first line, short paragraphs, "
                               "emojis in moderation and at most {hashtags} hashtags at the end.",
        ContentType.LINKEDIN: "Write a LinkedIn post: an opening that earns attention, one useful insight for "
                              "professionals, short paragraphs, a professional and human tone.",
        ContentType.X: "Write a post for X (formerly Twitter) of at most 280 characters, direct and memorable.",
        ContentType.PRODUCT_DESCRIPTION: "Write an e-commerce product description: benefits before features, "
                                         "clear and scannable sentences.",
        ContentType.EMAIL: "Write a marketing email. Start with the line 'Subject:' (up to 60 characters), then the "
                           "line 'Preheader:' (up to 100 characters), a blank line, and the body.",
        ContentType.VIDEO_SCRIPT: "Write a short video script (Reels/TikTok, up to 30 seconds) with 3 to 5 scenes. "
                                  "For each scene write 'Scene N:' with the line spoken or shown on screen and, on "
                                  "the next line, 'Visual:' with the scene's visual idea.",
    },
    Language.ES: {
        ContentType.INSTAGRAM: "Escribe el texto de una publicación de Instagram: un gancho fuerte en la primera "
                               "línea, párrafos cortos, emojis con moderación y como máximo {hashtags} hashtags al "
                               "final.",
        ContentType.LINKEDIN: "Escribe una publicación de LinkedIn: una apertura que capte la atención, una idea útil "
                              "para profesionales, párrafos cortos y un tono profesional y humano.",
        ContentType.X: "Escribe una publicación para X (antes Twitter) de 280 caracteres como máximo, directa y "
                       "memorable.",
        ContentType.PRODUCT_DESCRIPTION: "Escribe la descripción de producto para e-commerce: beneficios antes que "
                                         "características, frases claras y fáciles de leer.",
        ContentType.EMAIL: "Escribe un correo de marketing. Empieza con la línea 'Asunto:' (hasta 60 caracteres), "
                           "luego la línea 'Preencabezado:' (hasta 100 caracteres), una línea en blanco y el cuerpo.",
        ContentType.VIDEO_SCRIPT: "Escribe el guion de un video corto (Reels/TikTok, hasta 30 segundos) con 3 a 5 "
                                  "escenas. Para cada escena escribe 'Escena N:' con lo que se dice o se muestra en "
                                  "pantalla y, en la línea siguiente, 'Visual:' con la idea visual de la escena.",
    },
}

# Brief field labels as the model reads them, per language.
LABELS = {
    Language.PT_BR: dict(product="Produto", audience="Público", tone="Tom", keywords="Palavras-chave",
                         call_to_action="Chamada para ação (use exatamente este texto, sem aspas)",
                         brand_notes="Notas da marca",
                         key_facts="Fatos principais (use só estes fatos, sem inventar preços, datas ou números)",
                         link="Link (inclua no texto se couber no canal)", limit="Limite", characters="caracteres",
                         fix="Reescreva o texto em português do Brasil corrigindo estes problemas, mantendo o "
                             "restante. Entregue só o texto novo:",
                         voice="Voz da marca {name}", always="Use sempre estas palavras, exatamente assim",
                         never="Nunca use estas palavras", hashtags="Hashtags da marca (inclua no final)"),
    Language.EN: dict(product="Product", audience="Audience", tone="Tone", keywords="Keywords",
                      call_to_action="Call to action (use exactly this text, without quotes)", brand_notes="Brand notes",
                      key_facts="Key facts (use only these facts; never invent prices, dates or numbers)",
                      link="Link (include it in the copy where the channel allows)", limit="Limit",
                      characters="characters",
                      fix="Rewrite the copy in English fixing these problems and keeping the rest. Deliver only the "
                          "new copy:",
                      voice="{name}'s brand voice", always="Always use these words, exactly as written",
                      never="Never use these words", hashtags="Brand hashtags (add them at the end)"),
    Language.ES: dict(product="Producto", audience="Público", tone="Tono", keywords="Palabras clave",
                      call_to_action="Llamada a la acción (usa exactamente este texto, sin comillas)",
                      brand_notes="Notas de marca",
                      key_facts="Datos clave (usa solo estos datos, sin inventar precios, fechas ni cifras)",
                      link="Enlace (inclúyelo en el texto si el canal lo permite)", limit="Límite",
                      characters="caracteres",
                      fix="Reescribe el texto en español corrigiendo estos problemas y manteniendo el resto. "
                          "Entrega solo el texto nuevo:",
                      voice="Voz de la marca {name}", always="Usa siempre estas palabras, tal como están",
                      never="Nunca uses estas palabras", hashtags="Hashtags de la marca (añádelos al final)"),
}


def copy_messages(brief: Brief) -> list[dict]:
    """The chat that asks the model for the brief's copy, in the brief's language."""
    rules = RULES[brief.content_type]
    labels = LABELS[brief.language]
    lines = [CHANNEL[brief.language][brief.content_type].format(hashtags=rules.max_hashtags), ""]
    lines.append(f"{labels['product']}: {brief.product.strip()}")
    for name in ("audience", "tone"):
        if getattr(brief, name).strip():
            lines.append(f"{labels[name]}: {getattr(brief, name).strip()}")
    if brief.keywords:
        lines.append(f"{labels['keywords']}: {', '.join(brief.keywords)}")
    if brief.call_to_action.strip():
        lines.append(f"{labels['call_to_action']}: {brief.call_to_action.strip()}")
    if brief.key_facts.strip():
        lines.append(f"{labels['key_facts']}:\n{brief.key_facts.strip()}")
    if brief.link:
        lines.append(f"{labels['link']}: {brief.link}")
    if brief.brand_notes.strip():
        lines.append(f"{labels['brand_notes']}: {brief.brand_notes.strip()}")
    lines += _kit_lines(brief)
    if brief.angle:
        lines.append(ANGLE_LINES[brief.language][brief.angle])
    if rules.max_chars:
        lines.append(f"{labels['limit']}: {rules.max_chars} {labels['characters']}")
    return [{"role": "system", "content": SYSTEM[brief.language]}, {"role": "user", "content": "\n".join(lines)}]


# What each variant angle asks of the copy, per language.
ANGLE_LINES = {
    Language.PT_BR: {
        "benefit": "Ângulo: benefício. Abra com o ganho concreto que o produto traz para o público.",
        "emotion": "Ângulo: emoção. Abra com um sentimento ou uma cena com que o público se identifique.",
        "urgency": "Ângulo: urgência. Mostre por que agir agora, usando só prazos e ofertas dos fatos principais.",
        "social_proof": "Ângulo: prova social. Apoie-se no que outras pessoas vivem com o produto, sem inventar "
                        "números nem depoimentos.",
    },
    Language.EN: {
        "benefit": "Angle: benefit. Open with the concrete gain the product brings the audience.",
        "emotion": "Angle: emotion. Open with a feeling or a scene the audience recognises.",
        "urgency": "Angle: urgency. Show why to act now, using only deadlines and offers from the key facts.",
        "social_proof": "Angle: social proof. Lean on what other people experience with the product, without "
                        "inventing numbers or testimonials.",
    },
    Language.ES: {
        "benefit": "Ángulo: beneficio. Abre con la ganancia concreta que el producto da al público.",
        "emotion": "Ángulo: emoción. Abre con un sentimiento o una escena con la que el público se identifique.",
        "urgency": "Ángulo: urgencia. Muestra por qué actuar ahora, usando solo plazos y ofertas de los datos clave.",
        "social_proof": "Ángulo: prueba social. Apóyate en lo que otras personas viven con el producto, sin inventar "
                        "cifras ni testimonios.",
    },
}

# Channels whose posts carry hashtags: a kit's hashtags are asked for there and nowhere else.
HASHTAG_CHANNELS = {ContentType.INSTAGRAM, ContentType.LINKEDIN, ContentType.X}


def _kit_lines(brief: Brief) -> list[str]:
    """What the brief's brand kit asks of the copy, in the brief's language."""
    kit, labels = brief.kit, LABELS[brief.language]
    if kit is None:
        return []
    lines = [f"{labels['voice'].format(name=kit.name)}: {kit.voice.strip()}"] if kit.voice.strip() else []
    if kit.required_words:
        lines.append(f"{labels['always']}: {', '.join(kit.required_words)}")
    if kit.banned_words:
        lines.append(f"{labels['never']}: {', '.join(kit.banned_words)}")
    if kit.hashtags and brief.content_type in HASHTAG_CHANNELS:
        lines.append(f"{labels['hashtags']}: {' '.join(kit.hashtags)}")
    return lines


def repair_messages(brief: Brief, draft: str, violations: list[Violation]) -> list[dict]:
    """The chat that asks the model to rewrite its draft so it stops breaking the listed rules."""
    messages = copy_messages(brief)
    problems = "\n".join(f"- {violation.text(brief.language.value)}" for violation in violations)
    messages += [{"role": "assistant", "content": draft},
                 {"role": "user", "content": f"{LABELS[brief.language]['fix']}\n{problems}"}]
    return messages


VISUAL_SYSTEM = (
    "You write prompts for Stable Diffusion XL. Whatever language the marketing copy is in, you always answer "
    "in English. Answer with exactly two lines and nothing else:\n"
    "PROMPT: <at most 50 words, comma-separated: main subject, setting, style, lighting, composition>\n"
    "NEGATIVE: <at most 20 words, comma-separated things to keep out of the image>"
)


def visual_messages(brief: Brief, copy_text: str) -> list[dict]:
    """The chat that asks for an English SDXL prompt and negative prompt matching the copy."""
    details = [f"Product: {brief.product.strip()}"]
    if brief.audience.strip():
        details.append(f"Audience: {brief.audience.strip()}")
    if brief.tone.strip():
        details.append(f"Tone: {brief.tone.strip()}")
    if brief.key_facts.strip():
        details.append(f"Key facts (language: {brief.language.value}): {brief.key_facts.strip()[:600]}")
    if brief.brand_notes.strip():
        details.append(f"Brand notes: {brief.brand_notes.strip()}")
    if brief.kit is not None and brief.kit.visual_style.strip():
        details.append(f"Brand visual style (keep to it): {brief.kit.visual_style.strip()}")
    details.append(f"Channel: {brief.content_type.value}")
    details.append(f"Marketing copy (language: {brief.language.value}):\n{copy_text.strip()[:1500]}")
    request = "\n".join(details) + "\n\nWrite the English image prompt for this post's main image."
    return [{"role": "system", "content": VISUAL_SYSTEM}, {"role": "user", "content": request}]


def product_in_english_messages(brief: Brief) -> list[dict]:
    """The chat that asks for the product as a short English noun phrase, for a prompt composed from the brief."""
    return [{"role": "system", "content": "You translate product names for image prompts. Answer with one short "
                                          "English noun phrase (at most 12 words) and nothing else."},
            {"role": "user", "content": f"Product ({brief.language.value}): {brief.product.strip()}"}]
