"""Reads the parts of a generated copy: email subject, preheader and body; video script scenes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Labels the model is asked to write, in any of the three languages, matched case-insensitively.
SUBJECT_LABELS = ("assunto", "subject", "asunto")
PREHEADER_LABELS = ("pré-cabeçalho", "pre-cabeçalho", "pré-header", "preheader", "pre-header", "preencabezado")
BODY_LABELS = ("corpo", "body", "cuerpo")
SCENE_LABELS = ("cena", "scene", "escena")
VISUAL_LABELS = ("visual", "imagem", "imagen", "image")

_LABEL_LINE = r"^[\s*_#>-]*(?:{labels})\s*[*_]*\s*[:：\-–—]\s*[*_]*\s*(.*)$"
_SCENE_LINE = re.compile(
    r"^[\s*_#>-]*(?:%s)\s*(\d+)\s*[*_]*\s*[:：\-–—.)]?\s*[*_]*\s*(.*)$" % "|".join(SCENE_LABELS),
    re.IGNORECASE,
)


def _label_pattern(labels: tuple[str, ...]) -> re.Pattern:
    return re.compile(_LABEL_LINE.format(labels="|".join(re.escape(label) for label in labels)), re.IGNORECASE)


_SUBJECT = _label_pattern(SUBJECT_LABELS)
_PREHEADER = _label_pattern(PREHEADER_LABELS)
_BODY = _label_pattern(BODY_LABELS)
_VISUAL = _label_pattern(VISUAL_LABELS)


@dataclass
class Scene:
    """One scene of a short video script: what is said or shown, and its own visual idea."""

    number: int
    text: str
    visual: str = ""


@dataclass
class CopyParts:
    """The structured parts found in a copy; fields stay empty when the copy has no such part."""

    subject: str = ""
    preheader: str = ""
    body: str = ""
    scenes: list[Scene] = field(default_factory=list)


def parse_email(text: str) -> CopyParts:
    """Subject, preheader and body of an email copy written with labelled lines."""
    parts = CopyParts()
    body_lines = []
    waiting = None  # "subject" or "preheader" when its label stood alone: the value is on the next line
    for line in text.splitlines():
        if waiting and line.strip():
            setattr(parts, waiting, _clean(line))
            waiting = None
        elif not parts.subject and (match := _SUBJECT.match(line)):
            parts.subject = _clean(match.group(1))
            waiting = None if parts.subject else "subject"
        elif not parts.preheader and (match := _PREHEADER.match(line)):
            parts.preheader = _clean(match.group(1))
            waiting = None if parts.preheader else "preheader"
        elif match := _BODY.match(line):
            body_lines.append(match.group(1))
        elif not waiting:
            body_lines.append(line)
    parts.body = "\n".join(body_lines).strip()
    return parts


def parse_video_script(text: str) -> CopyParts:
    """The numbered scenes of a video script, each with the visual idea written under it."""
    parts = CopyParts(body=text.strip())
    current: Scene | None = None
    for line in text.splitlines():
        if match := _SCENE_LINE.match(line):
            current = Scene(number=int(match.group(1)), text=_clean(match.group(2)))
            parts.scenes.append(current)
        elif current is not None and (match := _VISUAL.match(line)):
            current.visual = _clean(" ".join(filter(None, [current.visual, match.group(1)])))
        elif current is not None and line.strip():
            if current.visual:
                current.visual = _clean(f"{current.visual} {line}")
            else:
                current.text = _clean(f"{current.text} {line}")
    return parts


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("**", "")).strip(" *_\"'")
