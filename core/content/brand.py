"""A client's brand kit: its voice, the words it always and never uses, its hashtags, CTA, colours and visual style.

A kit is plain data, validated like a brief; a brief written under a kit carries a copy of it (with its id and
version), so every draft records which kit shaped its copy and image, and the checker holds the copy to its words.
The logo and font files live with the kit in the history store (core.studio.kits); here they are names."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import BriefError, Problems

# Upper bounds on each field, in characters (lists: in items). The faces build their inputs from these.
KIT_LIMITS = {
    "kit_name": 60,
    "voice": 1000,
    "word": 40,
    "required_words": 20,
    "banned_words": 50,
    "hashtags": 10,
    "call_to_action": 120,
    "colors": 6,
    "visual_style": 300,
    "kit_negative": 300,
}
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
HASHTAG = re.compile(r"#\w+", re.UNICODE)


class KitError(BriefError):
    """A brand kit field holds a value the studio will not accept; every bad field is reported at once."""


@dataclass(frozen=True)
class BrandKit:
    """A validated brand kit. Construction raises a KitError naming every bad field and its value."""

    name: str
    voice: str = ""  # voice and tone notes, as the copywriter should read them
    required_words: tuple[str, ...] = ()  # each must appear in every copy written under the kit
    banned_words: tuple[str, ...] = ()  # none may appear
    hashtags: tuple[str, ...] = ()  # added to posts on channels that take hashtags
    call_to_action: str = ""  # used where the brief gives none
    colors: tuple[str, ...] = ()  # "#RRGGBB"; the first is the main colour, the second the accent
    visual_style: str = ""  # English style words added to every image prompt, e.g. "pastel tones, flat lay"
    negative_prompt: str = ""  # English words kept out of every image
    logo_file: str = ""  # names in the store's kit folder, set by the store
    font_file: str = ""  # "" is the font shipped with the studio
    id: str = ""  # given by the store
    version: int = 0  # each save of a kit is a new version; drafts keep the one they used

    def __post_init__(self):
        problems = Problems()
        if not isinstance(self.name, str) or not self.name.strip():
            problems.add(KitError("kit_name", self.name, "empty"))
        for name, key in (("name", "kit_name"), ("voice", "voice"), ("call_to_action", "call_to_action"),
                          ("visual_style", "visual_style"), ("negative_prompt", "kit_negative")):
            problems.check(lambda name=name, key=key: _check_text(key, getattr(self, name), KIT_LIMITS[key]))
        for name in ("required_words", "banned_words", "hashtags", "colors"):
            problems.check(lambda name=name: self._check_list(name))
        problems.raise_all(KitError)
        object.__setattr__(self, "name", self.name.strip())

    def check_rules(self) -> None:
        """A KitError naming both fields wherever a banned word is one the kit itself puts in every copy (its CTA,
        hashtags or words to always use): every copy would fail one rule or the other. Matched as the copy check
        matches. Checked where a kit is saved; kits saved before this check still load."""
        from core.content.channels import contains_word  # channels reads briefs, which carry kits
        problems = Problems()
        def texts(items) -> list[str]:  # what of a field is text; its own check names the rest
            return [items] if isinstance(items, str) else [item for item in items if isinstance(item, str)]
        for banned in texts(self.banned_words) if not isinstance(self.banned_words, str) else []:
            for other, values in (("required_words", self.required_words), ("call_to_action", self.call_to_action),
                                  ("hashtags", self.hashtags)):
                for text in texts(values):
                    if text.strip() and banned.strip() and contains_word(text, banned):
                        problems.add(KitError("banned_words", banned, "kit_contradiction", other=other, found=text))
        problems.raise_all(KitError)

    def _check_list(self, name: str) -> None:
        items = getattr(self, name)
        if isinstance(items, str):
            raise KitError(name, items, "keywords_not_list")
        items = tuple(item.strip() if isinstance(item, str) else item for item in items)
        object.__setattr__(self, name, items)
        if len(items) > KIT_LIMITS[name]:
            raise KitError(name, ", ".join(map(str, items)), "too_many_items", limit=KIT_LIMITS[name],
                           count=len(items))
        for item in items:
            if not isinstance(item, str) or not item:
                raise KitError(name, item, "empty_keyword")
            _check_text(name, item, KIT_LIMITS["word"])
            if name == "colors" and not COLOR.fullmatch(item):
                raise KitError(name, item, "bad_color")
            if name == "hashtags" and not HASHTAG.fullmatch(item):
                raise KitError(name, item, "bad_hashtag")
        clash = sorted({w.casefold() for w in self.required_words} & {w.casefold() for w in self.banned_words}) \
            if name == "banned_words" else []
        if clash:
            raise KitError(name, ", ".join(clash), "word_required_and_banned")

    @property
    def label(self) -> str:
        """The kit as the faces list it: its name and version."""
        return f"{self.name} (v{self.version})" if self.version else self.name

    def to_dict(self) -> dict:
        """A JSON-ready view of the kit."""
        return {"id": self.id, "version": self.version, "name": self.name, "voice": self.voice,
                "required_words": list(self.required_words), "banned_words": list(self.banned_words),
                "hashtags": list(self.hashtags), "call_to_action": self.call_to_action, "colors": list(self.colors),
                "visual_style": self.visual_style, "negative_prompt": self.negative_prompt,
                "logo_file": self.logo_file, "font_file": self.font_file}

    @classmethod
    def from_dict(cls, data: dict) -> "BrandKit":
        """Rebuild a kit saved with to_dict, validating it again."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for name in ("required_words", "banned_words", "hashtags", "colors"):
            known[name] = tuple(known.get(name, ()))
        return cls(**known)


def parse_words(text: str) -> tuple[str, ...]:
    """Words or hashtags from text typed in a form or on the command line: comma- or line-separated."""
    return tuple(part.strip() for part in re.split(r"[,\n]", text) if part.strip())


def _check_text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str):
        raise KitError(name, value, "not_text")
    if len(value) > limit:
        raise KitError(name, value, "too_long_field", limit=limit, length=len(value))
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\n\t\u200d":
            raise KitError(name, value, "control_character", char=f"U+{ord(char):04X}")
