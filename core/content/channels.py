"""Channel rules as data, and the checker that lists every rule a copy breaks."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from core.content.brief import Brief, ContentType
from core.content.copy_parts import CopyParts, parse_email, parse_video_script
from core.content.defects import (cut_off, folded, last_whole_sentence, meta_commentary, outside_quotes,
                                  placeholders, quoted_spans)
from core.content.language import wrong_language
from core.messages import render


@dataclass(frozen=True)
class ChannelRules:
    """What a channel accepts. None means the channel sets no such limit."""

    content_type: ContentType
    max_chars: int | None = None
    max_hashtags: int | None = None
    weighted_length: bool = False  # X counts URLs as 23 and wide characters as 2
    subject_max: int | None = None
    preheader_max: int | None = None
    min_scenes: int | None = None
    max_scenes: int | None = None
    max_new_tokens: int = 400  # generation budget, sized to the channel's length


RULES: dict[ContentType, ChannelRules] = {
    ContentType.INSTAGRAM: ChannelRules(ContentType.INSTAGRAM, max_chars=2200, max_hashtags=5, max_new_tokens=350),
    ContentType.LINKEDIN: ChannelRules(ContentType.LINKEDIN, max_chars=3000, max_new_tokens=450),
    ContentType.X: ChannelRules(ContentType.X, max_chars=280, weighted_length=True, max_new_tokens=120),
    ContentType.PRODUCT_DESCRIPTION: ChannelRules(ContentType.PRODUCT_DESCRIPTION, max_chars=2000, max_new_tokens=350),
    ContentType.EMAIL: ChannelRules(ContentType.EMAIL, max_chars=5000, subject_max=60, preheader_max=100,
                                    max_new_tokens=500),
    ContentType.VIDEO_SCRIPT: ChannelRules(ContentType.VIDEO_SCRIPT, max_chars=3000, min_scenes=2, max_scenes=8,
                                           max_new_tokens=500),
}

HASHTAG = re.compile(r"(?<![\w#])#\w+", re.UNICODE)
URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
X_URL_WEIGHT = 23
# twitter-text v3: code points in these ranges weigh 1, all others 2.
_X_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))


# How much worse one broken rule makes a copy than another, to keep the better of two drafts. Length and hashtags
# are cut to fit afterwards, so they weigh least; copy in the wrong language is unusable.
SEVERITY = {"wrong_language": 10, "placeholder": 6, "meta_commentary": 6, "cut_off": 3, "banned_words": 5,
            "missing_cta": 4, "missing_words": 3, "missing_subject": 4, "too_few_scenes": 3,
            "scene_without_visual": 2, "too_many_scenes": 2, "subject_too_long": 1, "preheader_too_long": 1,
            "too_long": 1, "too_many_hashtags": 1}


@dataclass(frozen=True)
class Violation:
    """One broken rule: a stable code, the measured value and the limit, and what each language says about it."""

    code: str
    actual: int
    limit: int
    params: dict = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        """The violation worded in language; the repair prompt uses the brief's language."""
        return render(self.code, {"actual": self.actual, "limit": self.limit, **self.params}, language)

    @property
    def message(self) -> str:
        return self.text("en")

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.code, 1)


def parts_of(text: str, content_type: ContentType) -> CopyParts:
    """The structured parts of a copy for its channel (plain channels have only a body)."""
    if content_type is ContentType.EMAIL:
        return parse_email(text)
    if content_type is ContentType.VIDEO_SCRIPT:
        return parse_video_script(text)
    return CopyParts(body=text.strip())


@dataclass(frozen=True)
class Measure:
    """One rule of the channel measured on a copy, kept or broken: what the rule badges show."""

    rule: str  # length | hashtags | subject | preheader | scenes | cta | kit_words | finished | language
    actual: int
    limit: int | None
    violations: tuple[Violation, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.violations


def measure(text: str, brief: Brief) -> list[Measure]:
    """Every rule of the brief's channel measured on the text, in the channel's order."""
    rules = RULES[brief.content_type]
    parts = parts_of(text, brief.content_type)
    found: list[Measure] = []

    def over(code: str, actual: int, maximum: int | None) -> tuple[Violation, ...]:
        return (Violation(code, actual, maximum),) if maximum is not None and actual > maximum else ()

    if rules.max_chars is not None:
        length = channel_length(text, rules)
        found.append(Measure("length", length, rules.max_chars, over("too_long", length, rules.max_chars)))
    if rules.max_hashtags is not None:
        hashtags = count_hashtags(text)
        found.append(Measure("hashtags", hashtags, rules.max_hashtags,
                             over("too_many_hashtags", hashtags, rules.max_hashtags)))
    if rules.subject_max is not None:
        missing = () if parts.subject else (Violation("missing_subject", 0, 1),)
        found.append(Measure("subject", len(parts.subject), rules.subject_max,
                             missing + over("subject_too_long", len(parts.subject), rules.subject_max)))
        found.append(Measure("preheader", len(parts.preheader), rules.preheader_max,
                             over("preheader_too_long", len(parts.preheader), rules.preheader_max)))
    if rules.min_scenes is not None:
        scenes = len(parts.scenes)
        broken = over("too_many_scenes", scenes, rules.max_scenes)
        if scenes < rules.min_scenes:
            broken = (Violation("too_few_scenes", scenes, rules.min_scenes),) + broken
        blind = [scene.number for scene in parts.scenes if not scene.visual]
        if blind:
            broken += (Violation("scene_without_visual", len(blind), 0, {"scenes": ", ".join(map(str, blind))}),)
        found.append(Measure("scenes", scenes, rules.max_scenes, broken))
    if brief.call_to_action.strip():
        present = contains_cta(text, brief.call_to_action)
        found.append(Measure("cta", int(present), 1, () if present else (
            Violation("missing_cta", 0, 1, {"value": brief.call_to_action.strip()}),)))
    if brief.kit is not None and (brief.kit.banned_words or brief.kit.required_words):
        found.append(_kit_words(text, brief))
    found.append(_finished(text, brief))
    written_in = wrong_language(_prose_of(parts), brief.language)
    found.append(Measure("language", int(written_in is None), 1, () if written_in is None else (
        Violation("wrong_language", 0, 1, {"found": written_in.value, "expected": brief.language.value}),)))
    return found


def _finished(text: str, brief: Brief) -> Measure:
    """Whether the copy is a finished post: no template hole, no talk about the writing, no cut-off ending."""
    broken = ()
    if holes := placeholders(text):
        broken += (Violation("placeholder", len(holes), 0, {"found": ", ".join(holes[:3])}),)
    if talk := meta_commentary(text):
        broken += (Violation("meta_commentary", len(talk), 0, {"found": " / ".join(talk[:2])}),)
    if (ending := cut_off(text, brief.call_to_action)) is not None:
        broken += (Violation("cut_off", 1, 0, {"ending": ending}),)
    return Measure("finished", len(broken), 0, broken)


def _kit_words(text: str, brief: Brief) -> Measure:
    """The brand kit's words held against the copy: every banned one found, every required one missing."""
    kit = brief.kit
    banned = [word for word in kit.banned_words if contains_word(text, word)]
    missing = [word for word in kit.required_words if not contains_word(text, word)]
    broken = ()
    if banned:
        broken += (Violation("banned_words", len(banned), 0, {"words": ", ".join(banned)}),)
    if missing:
        broken += (Violation("missing_words", len(missing), 0, {"words": ", ".join(missing)}),)
    return Measure("kit_words", len(banned) + len(missing), 0, broken)


def contains_word(text: str, word: str) -> bool:
    """Whether text uses word (or phrase) as whole words, ignoring case, accents, spacing and a hashtag's #."""
    wanted, _ = folded(word)
    return bool(wanted) and _find_words(folded(text)[0], wanted, 0) != -1


def _prose_of(parts: CopyParts) -> str:
    """The copy's own words, without the labels (Subject:, Scene 1:) that the format asks for in any language."""
    if parts.scenes:
        return "\n".join(f"{scene.text}\n{scene.visual}" for scene in parts.scenes)
    return "\n".join(filter(None, (parts.subject, parts.preheader, parts.body)))


def check(text: str, brief: Brief) -> list[Violation]:
    """Every rule of the brief's channel that the text breaks; empty when the copy is fit to publish."""
    return [violation for rule in measure(text, brief) for violation in rule.violations]


def channel_length(text: str, rules: ChannelRules) -> int:
    """The text's length as its channel counts it."""
    return x_weighted_length(text) if rules.weighted_length else len(text.strip())


def count_hashtags(text: str) -> int:
    """How many hashtags the text holds, as the channels count them."""
    return len(HASHTAG.findall(text))


def x_weighted_length(text: str) -> int:
    """A post's length as X counts it: each URL 23, wide characters (CJK, emoji) 2, others 1."""
    text = unicodedata.normalize("NFC", text.strip())
    urls = URL.findall(text)
    rest = URL.sub("", text)
    weight = sum(1 if any(lo <= ord(ch) <= hi for lo, hi in _X_LIGHT_RANGES) else 2 for ch in rest)
    return weight + X_URL_WEIGHT * len(urls)


def contains_cta(text: str, call_to_action: str) -> bool:
    """Whether the text makes the call to action: the CTA appears, ignoring case, accents and spacing, at least
    once outside every quotation, however far from its marks and in any quote style (a CTA quoted is being talked
    about, not made)."""
    wanted, _ = folded(call_to_action)
    if not wanted:
        return True
    plain, origin = folded(text)
    spans = quoted_spans(text)
    start = 0
    while (found := _find_words(plain, wanted, start)) != -1:
        if outside_quotes(text, origin[found], spans):
            return True
        start = found + 1
    return False


def _find_words(folded: str, wanted: str, start: int) -> int:
    """Where wanted occurs in folded from start on, on word boundaries; -1 when it does not."""
    while (found := folded.find(wanted, start)) != -1:
        end = found + len(wanted)
        if (found == 0 or folded[found - 1] == " ") and (end == len(folded) or folded[end] == " "):
            return found
        start = found + 1
    return -1


def trim_to_rules(text: str, brief: Brief) -> str:
    """The text cut to its channel's length and hashtag limits, at sentence boundaries, keeping the CTA; a text
    the token budget cut mid-sentence ends at its last whole sentence."""
    rules = RULES[brief.content_type]
    if cut_off(text, brief.call_to_action) is not None and (whole := last_whole_sentence(text)):
        text = whole
    if rules.max_hashtags is not None:
        text = _keep_first_hashtags(text, rules.max_hashtags)
    if rules.max_chars is None:
        return text
    def measure(candidate: str) -> int:
        return channel_length(candidate, rules)

    if measure(text) <= rules.max_chars:
        return text
    return _trim_sentences(text, rules.max_chars, brief.call_to_action, measure)


def _keep_first_hashtags(text: str, keep: int) -> str:
    seen = 0

    def drop_extra(match: re.Match) -> str:
        nonlocal seen
        seen += 1
        return match.group(0) if seen <= keep else ""

    kept = HASHTAG.sub(drop_extra, text)
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]+\n", "\n", kept)).strip()


_SENTENCE_END = re.compile(r"(?<=[.!?…])[ \t]+|\n+")


def _trim_sentences(text: str, limit: int, call_to_action: str, measure) -> str:
    pieces = _SENTENCE_END.split(text.strip())
    separators = _SENTENCE_END.findall(text.strip()) + [""]
    must_keep = {i for i, piece in enumerate(pieces)
                 if (call_to_action.strip() and contains_cta(piece, call_to_action))
                 or (piece.strip() and HASHTAG.sub("", piece).strip() == "")}
    chosen = set(must_keep)
    for i in range(len(pieces)):
        if i in chosen:
            continue
        candidate = chosen | {i}
        if measure(_join(pieces, separators, candidate)) <= limit:
            chosen = candidate
        else:
            break
    result = _join(pieces, separators, chosen) if chosen - must_keep else text.strip()
    if measure(result) <= limit:
        return result
    # not even one whole sentence fits: cut at a word and mark the cut
    words = result.split(" ")
    while len(words) > 1 and measure(" ".join(words) + "…") > limit:
        words.pop()
    return " ".join(words).rstrip(" ,;:") + "…"


def _join(pieces: list[str], separators: list[str], chosen: set[int]) -> str:
    return "".join(pieces[i] + separators[i] for i in sorted(chosen)).strip()
