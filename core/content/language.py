"""Which of the studio's languages a text is written in, by an offline detector restricted to those languages."""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from core.content.brief import Language

MIN_WORDS = 6  # shorter texts (a hashtag line, a product name) say too little to judge
# A text is called wrong only when the detector is sure of another language and all but rules out the expected
# one: Portuguese and Spanish share many words, and a short Portuguese post can score 0.3 Spanish.
CONFIDENT = 0.75
EXPECTED_AT_MOST = 0.1
LINGUA_NAMES = {Language.PT_BR: "PORTUGUESE", Language.EN: "ENGLISH", Language.ES: "SPANISH"}
_NOISE = re.compile(r"https?://\S+|www\.\S+|[#@]\w+|\S+@\S+", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detector():
    # imported here, so a process that never checks copy never pays for it. Every n-gram model is read now: left
    # to load on demand, lingua reads each order the first time a text needs it, so the first few drafts paid up
    # to 0.75 s on their way (a short text needs the orders a long one does not)
    from lingua import Language as Lingua, LanguageDetectorBuilder
    languages = (getattr(Lingua, name) for name in LINGUA_NAMES.values())
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def warm_up() -> None:
    """Load the detector's language models now (about 0.6 s on a laptop's CPU) rather than on the first checks;
    a check that comes meanwhile waits for this load instead of starting a second one."""
    with _lock:
        _detector()


def confidences(text: str) -> dict[Language, float]:
    """Each language's share (0 to 1, summing to 1) of the detector's belief about text, or {} when the text has
    too few words to tell. Links, hashtags, mentions and e-mail addresses are left out first: they are the same in
    every language. (Product names stay: in a short post they are often the words that tell Portuguese from
    Spanish.)"""
    text = _NOISE.sub(" ", text)
    if len(_WORD.findall(text)) < MIN_WORDS:
        return {}
    return _shares(text)


def _shares(text: str) -> dict[Language, float]:
    """The detector's belief about text, by our languages, however short the text."""
    with _lock:  # the detector is shared by every session
        values = _detector().compute_language_confidence_values(text)
    ours = {name: language for language, name in LINGUA_NAMES.items()}
    return {ours[value.language.name]: value.value for value in values}


def detect(text: str) -> tuple[Language | None, float]:
    """The most likely language of text and the detector's confidence, or (None, 0.0) when it cannot tell."""
    shares = confidences(text)
    if not shares:
        return None, 0.0
    found = max(shares, key=shares.get)
    return found, shares[found]


# Loanwords: a Brazilian post says "Black Friday", "delivery", "happy hour", "app" in English inside Portuguese
# prose. A word the detector reads as the other language on its own counts as a loanword while such words stay
# under LOANWORDS_AT_MOST of the text and what is left reads as the expected language.
WORD_CONFIDENT = 0.6
LOANWORDS_AT_MOST = 0.6
PROSE_WORDS_AT_LEAST = 4


def wrong_language(text: str, expected: Language) -> Language | None:
    """The language text is confidently written in when that is not the expected one; None when it is the expected
    language (its prose, everyday loanwords of another language aside), or too short or too mixed to say."""
    shares = confidences(text)
    if not shares:
        return None
    found = max(shares, key=shares.get)
    if found is expected or shares[found] < CONFIDENT or shares.get(expected, 0.0) > EXPECTED_AT_MOST:
        return None
    return None if _loanwords_only(text, found, expected) else found


def _loanwords_only(text: str, found: Language, expected: Language) -> bool:
    """Whether what reads as found is only its loanwords: the detector's verdict on each word alone, then on the
    prose left without those words."""
    words = _WORD.findall(_NOISE.sub(" ", text))
    borrowed = {word for word in set(words) if _word_language(word) is found}
    left = [word for word in words if word not in borrowed]
    if not words or (len(words) - len(left)) / len(words) > LOANWORDS_AT_MOST or len(left) < PROSE_WORDS_AT_LEAST:
        return False
    shares = _shares(" ".join(left))
    return max(shares, key=shares.get) is expected and shares[expected] >= CONFIDENT


def _word_language(word: str) -> Language | None:
    shares = _shares(word)
    best = max(shares, key=shares.get, default=None)
    return best if best is not None and shares[best] >= WORD_CONFIDENT else None
