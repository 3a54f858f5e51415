"""The marketing brief: what the team asks for, validated before any model runs."""
from __future__ import annotations

import dataclasses
import ipaddress
import re
import urllib.parse
import unicodedata
from dataclasses import dataclass, field
from enum import Enum

from core.content.brand import BrandKit
from core.errors import BriefError, Problems


class ContentType(str, Enum):
    """The channels the studio writes for."""

    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    X = "x"
    PRODUCT_DESCRIPTION = "product_description"
    EMAIL = "email"
    VIDEO_SCRIPT = "video_script"


class Language(str, Enum):
    """Languages the copy is written in; Brazilian Portuguese is the default."""

    PT_BR = "pt-BR"
    EN = "en"
    ES = "es"


# Upper bounds on each free-text field, in characters. The UI builds its inputs from these.
FIELD_LIMITS = {
    "product": 300,
    "audience": 200,
    "tone": 60,
    "keyword": 40,
    "call_to_action": 120,
    "brand_notes": 1000,
    "key_facts": 1000,  # features, price, offer, dates
    "link": 500,
}
MULTILINE = {"brand_notes", "key_facts"}
# a web address: scheme, a host with a dot (or localhost), then anything without spaces
URL = re.compile(r"https?://(?:[^\s/?#.]+\.)+[^\s/?#.]{2,}(?::\d+)?(?:[/?#]\S*)?|https?://localhost(?::\d+)?(?:[/?#]\S*)?",
                 re.IGNORECASE)
MAX_KEYWORDS = 10
# Characters kept as they are in a normalised link; everything else is percent-encoded, so a link can never close
# the Markdown, HTML or quotes it is written into
LINK_SAFE = "/:@!$&+,;=-._~%?#"


def public_link(link: str) -> str:
    """link normalised (scheme and host in lower case, the host in IDNA form, everything else percent-encoded), or
    a BriefError where it is not an http(s) address of a public host: no user name or password in it, no local,
    private, link-local or reserved address (a cloud's metadata service at 169.254.169.254, a router, this
    machine), no single-label host."""
    try:
        parts = urllib.parse.urlsplit(link)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        raise BriefError("link", link, "bad_url") from None
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username or parts.password:
        raise BriefError("link", link, "bad_url")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global:
            raise BriefError("link", link, "link_not_public")
        shown = f"[{address.compressed}]" if address.version == 6 else address.compressed
    else:
        try:
            shown = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise BriefError("link", link, "bad_url") from None
        if "." not in shown or shown.endswith((".local", ".localhost", ".internal", ".lan", ".home.arpa")) or \
                shown == "localhost":
            raise BriefError("link", link, "link_not_public")
    netloc = shown + (f":{port}" if port else "")
    quote = lambda text: urllib.parse.quote(text, safe=LINK_SAFE)  # noqa: E731
    return urllib.parse.urlunsplit((parts.scheme.lower(), netloc, quote(parts.path), quote(parts.query),
                                    quote(parts.fragment)))
# The angles a copy variant can take, each labelled for the team; "" is the plain brief.
ANGLES = ("benefit", "emotion", "urgency", "social_proof")


@dataclass(frozen=True)
class Brief:
    """A validated brief. Construction raises a BriefError naming every bad field and its value."""

    product: str
    content_type: ContentType = ContentType.INSTAGRAM
    language: Language = Language.PT_BR
    audience: str = ""
    tone: str = ""
    keywords: tuple[str, ...] = field(default_factory=tuple)
    call_to_action: str = ""
    brand_notes: str = ""
    key_facts: str = ""  # what the copy may state as fact: features, price, offer, dates
    link: str = ""  # where the post sends people; the copy may include it
    kit: BrandKit | None = None  # the brand kit the copy and image are written under, as it was then
    angle: str = ""  # a variant's angle, one of ANGLES: what the copy leads with

    def __post_init__(self):
        # every field is checked, so a form with several mistakes hears of all of them at once
        problems = Problems()
        problems.check(lambda: object.__setattr__(self, "content_type", parse_content_type(self.content_type)))
        problems.check(lambda: object.__setattr__(self, "language", parse_language(self.language)))
        if not isinstance(self.product, str) or not self.product.strip():
            problems.add(BriefError("product", self.product, "empty"))
        for name in ("product", "audience", "tone", "call_to_action", "brand_notes", "key_facts", "link"):
            problems.check(lambda name=name: _check_text(name, getattr(self, name), FIELD_LIMITS[name],
                                                         multiline=name in MULTILINE))
        problems.check(self._check_keywords)
        problems.check(self._check_link)
        if self.angle not in ("", *ANGLES):
            problems.add(BriefError("angle", self.angle, "not_one_of", allowed=", ".join(ANGLES)))
        if self.kit is not None and not isinstance(self.kit, BrandKit):
            problems.add(BriefError("kit", self.kit, "not_one_of", allowed="BrandKit"))
        problems.raise_all(BriefError)

    def _check_keywords(self) -> None:
        if isinstance(self.keywords, str):
            raise BriefError("keywords", self.keywords, "keywords_not_list")  # parse_keywords splits text
        object.__setattr__(self, "keywords", tuple(self.keywords))
        if len(self.keywords) > MAX_KEYWORDS:
            raise BriefError("keywords", ", ".join(map(str, self.keywords)), "too_many_keywords", limit=MAX_KEYWORDS,
                             count=len(self.keywords))
        for keyword in self.keywords:
            if not isinstance(keyword, str) or not keyword.strip():
                raise BriefError("keywords", keyword, "empty_keyword")
            _check_text("keywords", keyword, FIELD_LIMITS["keyword"], multiline=False)

    def _check_link(self) -> None:
        if isinstance(self.link, str) and self.link.strip():
            object.__setattr__(self, "link", self.link.strip())
            if not URL.fullmatch(self.link):
                raise BriefError("link", self.link, "bad_url")
            object.__setattr__(self, "link", public_link(self.link))

    def to_dict(self) -> dict:
        """A JSON-ready view of the brief."""
        return {
            "product": self.product,
            "content_type": self.content_type.value,
            "language": self.language.value,
            "audience": self.audience,
            "tone": self.tone,
            "keywords": list(self.keywords),
            "call_to_action": self.call_to_action,
            "brand_notes": self.brand_notes,
            "key_facts": self.key_facts,
            "link": self.link,
            "kit": self.kit.to_dict() if self.kit else None,
            "angle": self.angle,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Brief":
        """Rebuild a brief saved with to_dict, validating it again."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["keywords"] = tuple(known.get("keywords", ()))
        known["kit"] = BrandKit.from_dict(known["kit"]) if known.get("kit") else None
        return cls(**known)

    def under_kit(self, kit: BrandKit | None) -> "Brief":
        """This brief written under kit (None: under no kit): the kit's call to action where the brief has none."""
        if kit is None:
            return dataclasses.replace(self, kit=None)
        return dataclasses.replace(self, kit=kit, call_to_action=self.call_to_action or kit.call_to_action)


def parse_content_type(value: object) -> ContentType:
    """The ContentType named by value, or a BriefError listing the known ones."""
    return _member(ContentType, "content_type", value)


def parse_language(value: object) -> Language:
    """The Language named by value, or a BriefError listing the known ones."""
    return _member(Language, "language", value)


def _member(enum, field_name: str, value: object):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise BriefError(field_name, value, "not_one_of", allowed=allowed) from None


def parse_keywords(text: str) -> tuple[str, ...]:
    """Keywords from comma-separated text, as typed in a form or on the command line."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _check_text(name: str, value: object, limit: int, multiline: bool) -> None:
    if not isinstance(value, str):
        raise BriefError(name, value, "not_text")
    if len(value) > limit:
        raise BriefError(name, value, "too_long_field", limit=limit, length=len(value))
    allowed_controls = {"\n", "\t"} if multiline else {"\t"}
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf") and char not in allowed_controls:
            if unicodedata.category(char) == "Cf" and char == "\u200d":
                continue  # zero-width joiner: part of emoji sequences marketers use
            raise BriefError(name, value, "control_character", char=f"U+{ord(char):04X}")
