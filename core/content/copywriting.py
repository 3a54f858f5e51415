"""Writes the channel copy for a brief, checks it against the channel's rules, and repairs it once."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.content import channels
from core.content.brief import Brief
from core.content.channels import Violation
from core.content.copy_parts import CopyParts
from core.content.prompts import copy_messages, repair_messages
from core.messages import Message
from core.text.engine import SamplingSettings, TextEngine

# Violations that cutting text can fix; any other one needs the model to write again.
TRIMMABLE = {"too_long", "too_many_hashtags", "cut_off"}


class RewriteInterrupted(Exception):
    """The rewrite stopped half way (a cancel, a time limit, a server gone) after a complete first draft: draft is
    that first draft, ready to save, and cause what stopped the rewrite."""

    def __init__(self, draft: "CopyDraft", cause: BaseException):
        super().__init__(str(cause))
        self.draft, self.cause = draft, cause


@dataclass
class CopyDraft:
    """A generated copy with its parts, what repair did, and the rules it still breaks."""

    text: str
    parts: CopyParts
    violations: list[Violation] = field(default_factory=list)
    repair: str = "none"  # none | trimmed | regenerated | regenerated+trimmed | kept_first | kept_first+trimmed
    first_draft: str = ""
    repair_reasons: list[Violation] = field(default_factory=list)  # what the first draft broke, when rewritten
    interrupted: Message | None = None  # why the rewrite never finished (kept_first_interrupted)

    @property
    def publishable(self) -> bool:
        return not self.violations

    def repair_notes(self) -> list[Message]:
        """What the repair did and why, for each face to word in its language."""
        notes = []
        why = {"why": self.repair_reasons}
        if self.repair.startswith("regenerated"):
            notes.append(Message("repair_regenerated", why))
        if self.repair.startswith("kept_first_interrupted"):
            notes.append(Message("repair_interrupted", {**why, "cause": self.interrupted or Message("unknown")}))
        elif self.repair.startswith("kept_first"):
            notes.append(Message("repair_kept_first", why))
        if self.repair.endswith("trimmed"):
            notes.append(Message("repair_trimmed"))
        return notes


def write_copy(brief: Brief, model: TextEngine, on_text: Callable[[str], None] | None = None,
               sampling: SamplingSettings = SamplingSettings(),
               on_phase: Callable[[str, list[Violation]], None] | None = None) -> CopyDraft:
    """Stream a copy for brief, calling on_text with the text so far, then check and repair it once.

    on_phase(phase, reasons) hears of each step: writing, checking, repairing (with the violations that caused
    it). Of the first draft and its rewrite, the one that breaks fewer and lighter rules is kept."""
    rules = channels.RULES[brief.content_type]
    phase = on_phase or (lambda name, reasons: None)
    # 1. first draft, streamed
    phase("writing", [])
    first = _streamed(model.stream(copy_messages(brief), rules.max_new_tokens, sampling), on_text)
    phase("checking", [])
    first_violations = channels.check(first, brief)
    # 2. one rewrite by the model when cutting cannot help; the rewrite is kept only if it is better
    text, violations, repair, reasons = first, first_violations, "none", []
    if any(v.code not in TRIMMABLE for v in first_violations):
        reasons = [v for v in first_violations if v.code not in TRIMMABLE]
        phase("repairing", reasons)
        messages = repair_messages(brief, first, first_violations)
        try:
            rewrite = _streamed(model.stream(messages, rules.max_new_tokens, sampling), on_text)
        except Exception as error:  # the first draft is whole: never thrown away with the rewrite
            kept = channels.trim_to_rules(first, brief) if any(v.code in TRIMMABLE for v in first_violations) \
                else first
            raise RewriteInterrupted(CopyDraft(
                text=kept, parts=channels.parts_of(kept, brief.content_type), violations=channels.check(kept, brief),
                repair="kept_first_interrupted", first_draft=first, repair_reasons=reasons), error) from error
        phase("checking", [])
        rewrite_violations = channels.check(channels.trim_to_rules(rewrite, brief), brief)
        if _weight(rewrite_violations) <= _weight(channels.check(channels.trim_to_rules(first, brief), brief)):
            text, violations, repair = rewrite, channels.check(rewrite, brief), "regenerated"
        else:
            repair = "kept_first"
            if on_text:
                on_text(first)
    # 3. cutting handles length and hashtags
    if any(v.code in TRIMMABLE for v in violations):
        text = channels.trim_to_rules(text, brief)
        repair = "trimmed" if repair == "none" else f"{repair}+trimmed"
        if on_text:
            on_text(text)
        violations = channels.check(text, brief)
    # 4. report what still fails
    return CopyDraft(text=text, parts=channels.parts_of(text, brief.content_type), violations=violations,
                     repair=repair, first_draft=first, repair_reasons=reasons)


def _weight(violations: list[Violation]) -> tuple[int, int]:
    """How bad a set of broken rules is: total severity, then count."""
    return sum(v.severity for v in violations), len(violations)


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
