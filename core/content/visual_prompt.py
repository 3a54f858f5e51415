"""Turns a brief and its copy into an English SDXL prompt and negative prompt, surviving junk model output."""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field

from core.content.brief import Brief, ContentType
from core.content.clip_tokens import CLIP_WINDOW, clip_tokenizer, count_clip_tokens
from core.content.prompts import visual_messages
from core.text.engine import SamplingSettings, TextEngine

MAX_PROMPT_CHARS = 1000
DEFAULT_NEGATIVE = ("blurry, low quality, distorted, deformed hands, extra fingers, watermark, text, logo, "
                    "cropped, oversaturated")
VISUAL_MAX_NEW_TOKENS = 160
MAX_CLIP_PIECES_PER_WORD = 1.4

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
    notes: list[str] = field(default_factory=list)
    raw_output: str = ""

    @property
    def prompt_tokens(self) -> int:
        return count_clip_tokens(self.prompt)

    @property
    def negative_tokens(self) -> int:
        return count_clip_tokens(self.negative_prompt)

    def window_warnings(self) -> list[str]:
        """A note for each prompt that does not fit CLIP's 77-token window, so nobody is surprised by a cut."""
        warnings = []
        for name, tokens in (("prompt", self.prompt_tokens), ("negative prompt", self.negative_tokens)):
            if tokens > CLIP_WINDOW:
                warnings.append(f"the {name} takes {tokens} CLIP tokens; SDXL reads only the first {CLIP_WINDOW}, "
                                f"so the words after that are ignored")
        return warnings


def write_visual_prompt(brief: Brief, copy_text: str, model: TextEngine,
                        sampling: SamplingSettings = SamplingSettings(temperature=0.3)) -> VisualPrompt:
    """Ask the model for an English prompt pair; fall back to one composed from the brief if its answer is unusable."""
    # starting the answer with the label keeps even small models to the two-line format
    raw = model.complete(visual_messages(brief, copy_text), VISUAL_MAX_NEW_TOKENS, sampling, prefill="PROMPT:")
    return visual_prompt_from_output(raw, brief)


def visual_prompt_from_output(raw: str, brief: Brief) -> VisualPrompt:
    """Parse a model's answer into a VisualPrompt, or compose one from the brief and say why."""
    parsed, problem = parse_visual_output(raw)
    if parsed is None:
        result = compose_from_brief(brief)
        result.notes.insert(0, f"the model's answer was not usable ({problem}); the prompt was composed from the brief")
        result.raw_output = raw
    else:
        prompt, negative = parsed
        notes = []
        if not negative:
            negative = DEFAULT_NEGATIVE
            notes.append("the model wrote no negative prompt; the standard one is used")
        result = VisualPrompt(prompt, negative, "model", notes, raw)
    result.notes += result.window_warnings()
    return result


def parse_visual_output(raw: str) -> tuple[tuple[str, str] | None, str]:
    """((prompt, negative), "") from a model's answer, or (None, the reason it is unusable). Never raises."""
    if not isinstance(raw, str) or not raw.strip():
        return None, "empty answer"
    text = raw.replace("```json", "```").replace("```", "\n")
    found = _from_json(text) or _from_labels(text)
    if found is None:
        return None, "no PROMPT line found"
    prompt, negative = (_tidy(part) for part in found)
    if len(prompt.split()) < 3:
        return None, f"prompt too short: {prompt!r}"
    if len(prompt) > MAX_PROMPT_CHARS:
        return None, f"prompt longer than {MAX_PROMPT_CHARS} characters"
    if not looks_english(prompt):
        return None, "prompt not in English"
    if negative and not looks_english(negative):
        negative = ""
    return (prompt, negative[:MAX_PROMPT_CHARS]), ""


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
    # English words are mostly whole tokens in CLIP's English vocabulary; other languages and junk split up
    pieces = len(clip_tokenizer()(" ".join(words), add_special_tokens=False).input_ids)
    return pieces / max(len(words), 1) <= MAX_CLIP_PIECES_PER_WORD


def compose_from_brief(brief: Brief) -> VisualPrompt:
    """An English prompt built from the brief alone: used when the model's answer cannot be used."""
    tone = _plain(brief.tone.strip().lower())
    style = next((s for word, s in TONE_STYLES.items() if _plain(word) in tone), "modern, polished")
    product = brief.product.strip()
    prompt = (f"professional advertising photograph of {product}, {CHANNEL_SCENES[brief.content_type]}, "
              f"{style}, soft natural lighting, high detail, sharp focus")
    notes = []
    if not product.isascii():
        notes.append("the product name is kept as written; edit the prompt if it is not in English")
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
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    current = None
    for line in text.splitlines():
        if match := _NEGATIVE_LABEL.match(line):
            current = negative_lines
            current.append(match.group(1))
        elif (match := _PROMPT_LABEL.match(line)) and not prompt_lines:
            current = prompt_lines
            current.append(match.group(1))
        elif current is not None and line.strip():
            current.append(line)
        elif current is not None:
            current = None  # a blank line ends a labelled block
    if not prompt_lines:
        return None
    return " ".join(prompt_lines), " ".join(negative_lines)


def _tidy(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return re.sub(r"\s+", " ", text).strip(" \"'*`<>")


def _plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
