"""What makes a copy unfit to publish besides its channel's limits: a template placeholder left in, talk about the
writing instead of the post, a text cut off mid-word or mid-sentence, and quotations (a call to action only
quoted is being talked about, not made)."""
from __future__ import annotations

import re
import unicodedata

# Quotation marks: each opening mark with the marks that close it.
QUOTE_PAIRS = {'"': '"', "“": "”\"", "”": "”", "«": "»", "„": "“”", "‚": "‘’", "‘": "’'", "'": "'’",
               "`": "`"}
APOSTROPHES = "'’"  # also inside words (don't, d’água): quotes only at a word's edge

# Template holes an instruction model leaves for the reader: [Your Name], {company}, {{link}}, <insert date>,
# (inserir link), Lorem ipsum, XXX.
_PLACEHOLDERS = re.compile(
    r"\[[^\]\n]{1,60}\](?!\()"  # [Nome da Empresa], but not a Markdown link's [text](url)
    r"|\{\{?[^{}\n]{1,60}\}?\}"
    r"|<[^<>\n]{1,60}>"
    r"|\((?:insert|inserir|insira|adicione|add|inserta|añade|agregue|agregar)\b[^)\n]{0,60}\)"
    r"|\blorem ipsum\b|(?-i:\bX{3,6}\b|\b(?:TBD|TODO)\b)", re.IGNORECASE)

# Talk about the writing, in the three languages: a preface, a note on what was changed, a sign-off to the
# requester, a word or character count, a prompt's own labels echoed back.
_META = [re.compile(pattern, re.IGNORECASE | re.MULTILINE) for pattern in (
    # English
    r"\bhere(?:'s| is| are) (?:your|the|a|an|my|our)\b[^\n]{0,40}\b(?:post|copy|caption|e-?mail|script|version|"
    r"text|draft|tweet|description|rewrite)\b",
    r"\bI(?:'ve| have)? (?:made|changed|adjusted|rewrote|revised|updated|tweaked)\b[^\n]{0,40}"
    r"\b(?:tweaks?|changes?|edits?|adjustments?|message|text|copy|post|version)\b",
    r"\bI hope (?:this|you|it)\b", r"\blet me know if\b", r"\bas an ai\b|\bas a language model\b",
    r"^\W*(?:note|chat reminder|reminder|explanation)\s*:", r"\b(?:word|character) count\b",
    r"\blimit:\s*\d+\s*(?:words|characters|chars)\b", r"^\W*(?:sure|certainly|of course)\s*[,!.]",
    # Brazilian Portuguese
    r"\b(?:aqui está|aqui vai|segue) (?:o|a|seu|sua|uma|um)\b[^\n]{0,40}\b(?:post|texto|legenda|e-?mail|roteiro|"
    r"versão|rascunho|descrição|tweet)\b",
    r"\b(?:fiz|realizei)\b[^\n]{0,30}\b(?:alterações|mudanças|ajustes|modificações|edições)\b",
    r"\bespero que (?:isso |este |esta |o texto |a versão )?(?:ajude|goste|sirva)\b", r"\bme avise se\b",
    r"^\W*(?:nota|observação|lembrete|explicação)\s*:", r"\b(?:contagem|limite) de (?:palavras|caracteres)\b",
    r"^\W*(?:claro|com certeza)\s*[,!.]",
    # Spanish
    r"\baquí (?:tienes|está|va) (?:el|la|tu|una|un)\b[^\n]{0,40}\b(?:publicación|post|texto|correo|guion|versión|"
    r"borrador|descripción|tuit)\b", r"\bhice\b[^\n]{0,30}\b(?:cambios|ajustes|modificaciones|ediciones)\b",
    r"\bespero que (?:te )?(?:guste|sirva|ayude)\b", r"\bavísame si\b",
    r"^\W*(?:recordatorio|explicación)\s*:", r"\b(?:conteo|límite) de (?:palabras|caracteres)\b",
    # a brief's own labels at a line's start: the prompt echoed back
    r"^\W*(?:call to action|chamada para ação|llamada a la acción|audience|público(?: alvo)?|tone|tom|tono|"
    r"keywords|palavras-chave|palabras clave|key facts|fatos principais|datos clave|channel|canal)\s*:",
)]

# How a whole text may end: sentence punctuation, a closing bracket or quote, a hashtag, a link, an emoji.
_ENDINGS = ".!?…)]»”\"'’*"
_LAST_TOKEN = re.compile(r"(\S+)\s*$")
SIGN_OFF_WORDS = 4
_LABELLED = re.compile(r"^\W*[^\W\d_][\w ]{0,20}:\s")
_SENTENCE_END = re.compile(r"[.!?…](?:[\"'”’»)\]*]*)(?=\s|$)")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quotation in text, its marks included, in any of the three languages' styles. A
    quotation left open runs to the end of its paragraph; an apostrophe inside a word is no quotation."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(text):
        mark = text[index]
        if mark in QUOTE_PAIRS and _opens(text, index):
            end = _closing(text, index + 1, QUOTE_PAIRS[mark])
            spans.append((index, end))
            index = end + 1
        else:
            index += 1
    return spans


def _opens(text: str, index: int) -> bool:
    before = text[index - 1] if index else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    if text[index] in APOSTROPHES and before.isalnum():
        return False  # don't, d’água, a plural's ’
    return not after.isspace()


def _closing(text: str, start: int, closers: str) -> int:
    paragraph_end = text.find("\n\n", start)
    limit = len(text) if paragraph_end == -1 else paragraph_end
    for index in range(start, limit):
        if text[index] in closers:
            after = text[index + 1] if index + 1 < len(text) else " "
            if text[index] in APOSTROPHES and after.isalnum():
                continue  # an apostrophe inside a quoted word
            return index
    return limit - 1


def outside_quotes(text: str, index: int, spans: list[tuple[int, int]]) -> bool:
    return not any(start <= index <= end for start, end in spans)


def placeholders(text: str) -> list[str]:
    """The template holes left in text, as written."""
    return [match.group(0) for match in _PLACEHOLDERS.finditer(text)]


def meta_commentary(text: str) -> list[str]:
    """The passages of text that talk about the writing (or echo the prompt) instead of being the post."""
    found = []
    for pattern in _META:
        found += [match.group(0).strip() for match in pattern.finditer(text)]
    return found


def cut_off(text: str, call_to_action: str = "") -> str | None:
    """The ending of a text that stops mid-word or mid-sentence (as a token budget cuts it), or None where it ends
    as a post may: on sentence punctuation, a closing mark, a hashtag, a link, an emoji or its call to action."""
    stripped = text.rstrip()
    if not stripped:
        return None
    last = stripped[-1]
    if last in _ENDINGS or unicodedata.category(last) in ("So", "Sk", "Mn", "Cf") or ord(last) > 0x2100:
        return None
    token = _LAST_TOKEN.search(stripped).group(1)
    if token.startswith(("#", "@", "http://", "https://", "www.")):
        return None
    last_line = stripped.rsplit("\n", 1)[-1]
    if "\n" in stripped and len(last_line.split()) <= SIGN_OFF_WORDS:
        return None  # a line of its own: a sign-off, a name, a short CTA line
    if _LABELLED.match(last_line):
        return None  # a script's "Visual: ..." or an e-mail's labelled line holds notes, not sentences
    if call_to_action.strip() and folded(stripped)[0].endswith(folded(call_to_action)[0]):
        return None
    return stripped[-40:]


def last_whole_sentence(text: str) -> str | None:
    """text up to the end of its last whole sentence (None where it holds none)."""
    ends = list(_SENTENCE_END.finditer(text))
    return text[:ends[-1].end()].rstrip() if ends else None


def folded(text: str) -> tuple[str, list[int]]:
    """text casefolded, without accents, its non-word runs made single spaces; and for each character kept, its
    index in text. How every check here and in core.content.channels matches words."""
    kept: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        decomposed = unicodedata.normalize("NFKD", char.casefold())
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        for ch in plain:
            if re.match(r"[\W_]", ch):
                if kept and kept[-1] != " ":
                    kept.append(" ")
                    origin.append(index)
            else:
                kept.append(ch)
                origin.append(index)
    while kept and kept[-1] == " ":
        kept.pop()
        origin.pop()
    return "".join(kept), origin
