"""Turns a brief and its copy into an English SDXL prompt and negative prompt, surviving junk model output."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from core.content.brand import BrandKit
from core.content.brief import Brief, ContentType, Language
from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer, count_clip_tokens
from core.content.language import detect
from core.content.prompts import VISUAL_SYSTEM, product_in_english_messages, visual_messages
from core.messages import Message
from core.text.engine import SamplingSettings, TextEngine

MAX_PROMPT_CHARS = 1000
DEFAULT_NEGATIVE = ("blurry, low quality, distorted, deformed hands, extra fingers, watermark, text, logo, "
                    "cropped, oversaturated")
VISUAL_MAX_NEW_TOKENS = 160
MAX_CLIP_PIECES_PER_WORD = 1.4
PRODUCT_MAX_NEW_TOKENS = 32
# Template holes and instructions to the reader: a model that answers with these wrote no prompt.
_PLACEHOLDER = re.compile(r"\[[^\]]*\]|\{[^}]*\}|<[^>]*>|\b(?:insert|placeholder|your (?:text|product|prompt)|"
                          r"lorem ipsum|describe (?:the|your)|example)\b", re.IGNORECASE)
# Prose instead of a list of visual details: full sentences about words or the task.
_PROSE = re.compile(r"\b(?:the word|means|is an? (?:adjective|noun|verb)|translat\w*|here is|here's|"
                    r"this prompt|I (?:would|will|can)|you (?:can|should)|image title|(?:text|font) size|"
                    r"word count|at most \d+ words)\b|\b\w*\d+\s*px\b", re.IGNORECASE)
# The format the model was shown: an answer that is mostly its words echoes the template instead of filling it
_TEMPLATE_WORDS = set(re.findall(r"[a-z]+", VISUAL_SYSTEM.lower()))
TEMPLATE_ECHO_SHARE = 0.6

_PROMPT_LABEL = re.compile(r"^[\s*_#>-]*(?:positive\s+prompt|image\s+prompt|prompt)\s*[*_]*\s*[:：]\s*(.*)$",
                           re.IGNORECASE)
_NEGATIVE_LABEL = re.compile(r"^[\s*_#>-]*(?:negative(?:\s+prompt)?)\s*[*_]*\s*[:：]\s*(.*)$", re.IGNORECASE)
# Common Portuguese and Spanish words that would betray a prompt not written in English.
_NOT_ENGLISH = set("""de da do das dos um uma para com que não por mais como seu sua o os as e é em no na nos nas
el la los las una del y con por para que es en su sus muy""".split()) - {"a", "as", "no", "on", "is"}

# Style words for the tones teams pick most, so the fallback prompt reads as English even for a pt-BR brief.
TONE_STYLES = {
    "divertido": "playful, vibrant colors", "descontraído": "relaxed, candid lifestyle", "premium": "luxury, elegant",
    "sofisticado": "sophisticated, elegant", "profissional": "clean corporate", "inspirador": "inspiring, uplifting",
    "jovem": "youthful, energetic", "minimalista": "minimalist", "acolhedor": "warm, cozy", "urgente": "bold, dynamic",
    "divertida": "playful, vibrant colors", "elegante": "elegant", "cercano": "warm, friendly",
}
CHANNEL_SCENES = {
    ContentType.INSTAGRAM: "lifestyle scene, eye-catching square composition",
    ContentType.LINKEDIN: "professional setting, clean composition",
    ContentType.X: "bold simple composition",
    ContentType.PRODUCT_DESCRIPTION: "product shot on a clean background, centered composition",
    ContentType.EMAIL: "hero banner image, wide composition",
    ContentType.VIDEO_SCRIPT: "cinematic key frame",
}


@dataclass
class VisualPrompt:
    """An English prompt pair for SDXL, where it came from, and what the team should know about it."""

    prompt: str
    negative_prompt: str
    source: str  # "model" or "fallback"
    notes: list[Message] = field(default_factory=list)  # worded by each face in its language
    raw_output: str = ""

    @property
    def prompt_tokens(self) -> int:
        return count_clip_tokens(self.prompt)

    @property
    def negative_tokens(self) -> int:
        return count_clip_tokens(self.negative_prompt)

    def window_warnings(self) -> list[Message]:
        """A note for each prompt that does not fit CLIP's 77-token window, so nobody is surprised by a cut."""
        return window_warnings(self.prompt, self.negative_prompt)


def window_warnings(prompt: str, negative_prompt: str) -> list[Message]:
    """A note for each of the two prompts that does not fit CLIP's 77-token window, as typed or edited."""
    warnings = []
    for name, text in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        tokens = count_clip_tokens(text)
        if tokens > CLIP_WINDOW:
            warnings.append(Message("clip_window", {"field": name, "tokens": tokens, "limit": CLIP_WINDOW}))
    return warnings


def write_visual_prompt(brief: Brief, copy_text: str, model: TextEngine,
                        sampling: SamplingSettings = SamplingSettings(temperature=0.3)) -> VisualPrompt:
    """Ask the model for an English prompt pair; fall back to one composed from the brief if its answer is unusable."""
    # starting the answer with the label keeps even small models to the two-line format
    raw = model.complete(visual_messages(brief, copy_text), VISUAL_MAX_NEW_TOKENS, sampling, prefill="PROMPT:")
    parsed, _ = parse_visual_output(raw)
    product = None
    if parsed is None and brief.language is not Language.EN and not looks_english(brief.product):
        # the fallback names the product: ask for its name in English, a much easier task than a whole prompt
        answer = model.complete(product_in_english_messages(brief), PRODUCT_MAX_NEW_TOKENS, sampling)
        product = english_product(answer)
    return visual_prompt_from_output(raw, brief, product)


def visual_prompt_from_output(raw: str, brief: Brief, product_in_english: str | None = None) -> VisualPrompt:
    """Parse a model's answer into a VisualPrompt, or compose one from the brief and say why."""
    parsed, problem = parse_visual_output(raw)
    if parsed is None:
        result = compose_from_brief(brief, product_in_english)
        result.notes.insert(0, Message("visual_unusable", {"reason": problem}))
        result.raw_output = raw
    else:
        prompt, negative = parsed
        notes = []
        if not negative:
            negative = DEFAULT_NEGATIVE
            notes.append(Message("visual_no_negative"))
        result = VisualPrompt(prompt, negative, "model", notes, raw)
    result.prompt, result.negative_prompt = kit_styled(result.prompt, result.negative_prompt, brief.kit)
    result.notes += result.window_warnings()
    return result


def kit_styled(prompt: str, negative_prompt: str, kit: BrandKit | None) -> tuple[str, str]:
    """The prompt pair with the brand kit's visual style and negative words added where they are not there yet:
    written into the prompt itself, so every image of the kit keeps its look whatever the model wrote."""
    if kit is None:
        return prompt, negative_prompt
    if kit.visual_style.strip() and kit.visual_style.strip().casefold() not in prompt.casefold():
        prompt = f"{prompt.rstrip(' ,.')}, {kit.visual_style.strip()}"
    have = {part.strip().casefold() for part in negative_prompt.split(",")}
    extra = [part.strip() for part in kit.negative_prompt.split(",") if part.strip() and
             part.strip().casefold() not in have]
    if extra:
        negative_prompt = ", ".join(filter(None, [negative_prompt.strip(" ,"), *extra]))
    return prompt, negative_prompt


def parse_visual_output(raw: str) -> tuple[tuple[str, str] | None, Message | None]:
    """((prompt, negative), None) from a model's answer, or (None, why it is unusable). Never raises."""
    if not isinstance(raw, str) or not raw.strip():
        return None, Message("empty_answer")
    text = raw.replace("```json", "```").replace("```", "\n")
    found = _from_json(text) or _from_labels(text)
    if found is None:
        return None, Message("no_prompt_line")
    if _PLACEHOLDER.search(found[0]):  # before tidying: a template's <...> is stripped at the ends by _tidy
        return None, Message("prompt_placeholder")
    prompt, negative = (_tidy(part) for part in found)
    words = re.findall(r"[a-z]+", prompt.lower())
    if words and sum(word in _TEMPLATE_WORDS for word in words) / len(words) >= TEMPLATE_ECHO_SHARE:
        return None, Message("prompt_placeholder")
    problem = prompt_problem(prompt)
    if problem is not None:
        return None, problem
    if negative and (prompt_problem(negative, min_words=1) is not None):
        negative = ""
    return (prompt, negative[:MAX_PROMPT_CHARS]), None


def prompt_problem(prompt: str, min_words: int = 3) -> Message | None:
    """Why text cannot serve as an SDXL prompt (too short or long, a template, prose, not English), or None."""
    if len(prompt.split()) < min_words:
        return Message("prompt_too_short")
    if len(prompt) > MAX_PROMPT_CHARS:
        return Message("prompt_too_long", {"limit": MAX_PROMPT_CHARS})
    if _PLACEHOLDER.search(prompt):
        return Message("prompt_placeholder")
    if _PROSE.search(prompt):
        return Message("prompt_prose")
    if not looks_english(prompt):
        return Message("prompt_not_english")
    return None


def english_product(answer: str) -> str | None:
    """The model's English name for the product, if it gave a usable one: a short English phrase."""
    if not isinstance(answer, str):
        return None
    line = next((line for line in answer.splitlines() if line.strip()), "")
    phrase = _tidy(re.sub(r"^[^:]{0,30}:\s*", "", line)).rstrip(".")
    words = phrase.split()
    if not 1 <= len(words) <= 12 or _PLACEHOLDER.search(phrase) or _PROSE.search(phrase):
        return None
    return phrase if looks_english(phrase) else None


def looks_english(text: str) -> bool:
    """A cheap check that text is English: ASCII letters, few Portuguese or Spanish function words, and words
    that CLIP's English vocabulary knows whole."""
    if "\ufffd" in text:
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if not letters or sum(ch.isascii() for ch in letters) / len(letters) < 0.97:
        return False
    words = re.findall(r"[^\W\d_]+", text.lower())
    if sum(w in _NOT_ENGLISH for w in words) / max(len(words), 1) >= 0.12:
        return False
    found, confidence = detect(text)
    if found is not None and found is not Language.EN and confidence >= 0.9:
        return False
    # English words are mostly whole tokens in CLIP's English vocabulary; other languages and junk split up
    pieces = len(clip_tokenizer()(" ".join(words), add_special_tokens=False).input_ids)
    return pieces / max(len(words), 1) <= MAX_CLIP_PIECES_PER_WORD


def compose_from_brief(brief: Brief, product_in_english: str | None = None) -> VisualPrompt:
    """An English prompt built from the brief alone, used when the model's answer cannot be used. It names the
    product only in English: as written where that is English, else as the model translated it, else not at all
    (with a note asking the team to describe it)."""
    tone = _plain(brief.tone.strip().lower())
    style = next((s for word, s in TONE_STYLES.items() if _plain(word) in tone), "modern, polished")
    notes = []
    product = brief.product.strip()
    if product_in_english:
        notes.append(Message("visual_product_translated", {"value": product_in_english}))
        product = product_in_english
    elif not looks_english(product):
        notes.append(Message("visual_product_generic"))
        product = "the advertised product"
    prompt = (f"professional advertising photograph of {product}, {CHANNEL_SCENES[brief.content_type]}, "
              f"{style}, soft natural lighting, high detail, sharp focus")
    return VisualPrompt(prompt, DEFAULT_NEGATIVE, "fallback", notes)


def _from_json(text: str) -> tuple[str, str] | None:
    start = text.find("{")
    while start != -1:
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    data = json.loads(text[start:end + 1])
                except ValueError:
                    break
                if isinstance(data, dict):
                    prompt = next((data[k] for k in ("prompt", "positive", "positive_prompt", "image_prompt")
                                   if isinstance(data.get(k), str)), None)
                    negative = next((data[k] for k in ("negative_prompt", "negative")
                                     if isinstance(data.get(k), str)), "")
                    if prompt:
                        return prompt, negative
                break
        start = text.find("{", start + 1)
    return None


def _from_labels(text: str) -> tuple[str, str] | None:
    """The PROMPT and NEGATIVE lines. Each label takes its own line, or the next line where the label stands
    alone; whatever else the model wrote (explanations, alternatives, a second prompt) is left out."""
    found: dict[str, str] = {}
    waiting = None  # a label that stood alone on its line
    for line in text.splitlines():
        if match := _NEGATIVE_LABEL.match(line):
            label, value = "negative", match.group(1)
        elif match := _PROMPT_LABEL.match(line):
            label, value = "prompt", match.group(1)
        else:
            if waiting and line.strip():
                found.setdefault(waiting, line)
                waiting = None
            continue
        waiting = None
        if value.strip():
            found.setdefault(label, value)
        elif label not in found:
            waiting = label
    if "prompt" not in found:
        return None
    return found["prompt"], found.get("negative", "")


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return re.sub(r"\s+", " ", text).strip(" \"'*`<>")


def _plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
