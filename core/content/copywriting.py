"""Writes the channel copy for a brief, checks it against the channel's rules, and repairs it once."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.content import channels
from core.content.brief import Brief
from core.content.channels import Violation
from core.content.copy_parts import CopyParts
from core.content.prompts import copy_messages, repair_messages
from core.text.engine import SamplingSettings, TextEngine

# Violations that cutting text can fix; any other one needs the model to write again.
TRIMMABLE = {"too_long", "too_many_hashtags"}


@dataclass
class CopyDraft:
    """A generated copy with its parts, what repair did, and the rules it still breaks."""

    text: str
    parts: CopyParts
    violations: list[Violation] = field(default_factory=list)
    repair: str = "none"  # none | trimmed | regenerated | regenerated+trimmed
    first_draft: str = ""

    @property
    def publishable(self) -> bool:
        return not self.violations


def write_copy(brief: Brief, model: TextEngine, on_text: Callable[[str], None] | None = None,
               sampling: SamplingSettings = SamplingSettings()) -> CopyDraft:
    """Stream a copy for brief, calling on_text with the text so far, then check and repair it once."""
    rules = channels.RULES[brief.content_type]
    # 1. first draft, streamed
    text = _streamed(model.stream(copy_messages(brief), rules.max_new_tokens, sampling), on_text)
    first = text
    violations = channels.check(text, brief)
    repair = "none"
    # 2. one repair: the model rewrites when cutting cannot help, then cutting handles length and hashtags
    if any(v.code not in TRIMMABLE for v in violations):
        messages = repair_messages(brief, text, violations)
        text = _streamed(model.stream(messages, rules.max_new_tokens, sampling), on_text)
        repair = "regenerated"
        violations = channels.check(text, brief)
    if any(v.code in TRIMMABLE for v in violations):
        text = channels.trim_to_rules(text, brief)
        repair = "trimmed" if repair == "none" else "regenerated+trimmed"
        if on_text:
            on_text(text)
        violations = channels.check(text, brief)
    # 3. report what still fails
    return CopyDraft(text=text, parts=channels.parts_of(text, brief.content_type), violations=violations,
                     repair=repair, first_draft=first)


def recheck(brief: Brief, text: str) -> CopyDraft:
    """A draft for text edited by hand: its parts and violations, with no model involved."""
    return CopyDraft(text=text, parts=channels.parts_of(text, brief.content_type),
                     violations=channels.check(text, brief), first_draft=text)


def _streamed(pieces, on_text: Callable[[str], None] | None) -> str:
    text = ""
    for piece in pieces:
        text += piece
        if on_text:
            on_text(text)
    return text.strip()
