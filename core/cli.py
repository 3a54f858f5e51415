"""Command line face of the studio: `python -m core generate ...` runs one brief end to end."""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from core import files
from core.content.brief import Brief, ContentType, Language, parse_keywords
from core.content.copywriting import write_copy
from core.errors import CoreError
from core.image import png
from core.image.sdxl import MemoryPolicy, ImageSettings, SDXL_SIZES, parse_size
from core.profiles import PROFILES, load_images, load_text, resolve_profile
from core.text.local import SamplingSettings
from core.content.visual_prompt import write_visual_prompt


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Marketing content studio: brief to copy, "
                                     "English visual prompt and SDXL image.")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the copy, the visual prompt and the image for one brief",
                              description="Write channel copy for a brief, an English SDXL prompt for it, and render "
                                          "the image. Writes ID.md (copy), ID.png (image with prompt metadata) "
                                          "and ID.json (the whole record) into --out.")
    gen.add_argument("--product", required=True, help="product or subject of the post")
    gen.add_argument("--type", dest="content_type", default=ContentType.INSTAGRAM.value,
                     choices=[t.value for t in ContentType], help="channel (default: instagram)")
    gen.add_argument("--language", default=Language.PT_BR.value, choices=[lang.value for lang in Language],
                     help="language of the copy (default: pt-BR)")
    gen.add_argument("--audience", default="", help="who the post speaks to")
    gen.add_argument("--tone", default="", help="tone of voice, e.g. divertido, premium")
    gen.add_argument("--keywords", default="", help="comma-separated keywords")
    gen.add_argument("--cta", default="", help="call to action, used word for word")
    gen.add_argument("--brand-notes", default="", help="brand rules the copy must follow")
    gen.add_argument("--profile", choices=PROFILES, help="models to use (default: full with a GPU, else cpu-demo)")
    gen.add_argument("--out", default="outputs", type=Path, help="folder for the three files (default: outputs)")
    gen.add_argument("--size", default="1024x1024", help="one of " + ", ".join(f"{w}x{h}" for w, h in SDXL_SIZES))
    gen.add_argument("--steps", type=int, default=40, help="denoising steps, 1-80 (default: 40)")
    gen.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance, 0-20 (default: 7)")
    gen.add_argument("--seed", type=int, help="image seed (default: random, recorded in the outputs)")
    gen.add_argument("--candidates", type=int, default=1, help="images to render, 1-4, seeds seed..seed+n-1")
    gen.add_argument("--no-refiner", action="store_true", help="render with the base model alone")
    gen.add_argument("--memory-policy", choices=[p.value for p in MemoryPolicy],
                     help="where SDXL weights live (default: chosen from free GPU memory)")
    gen.add_argument("--text-seed", type=int, help="seed for the copy, for repeatable drafts")
    gen.add_argument("--quiet", action="store_true", help="do not stream the copy while it is written")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _generate(args)
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _progress(done: int, total: int) -> None:
    print(f"\rrendering: step {done}/{total}", end="", file=sys.stderr, flush=True)


def _generate(args) -> int:
    # 1. check every input before loading anything
    brief = Brief(product=args.product, content_type=args.content_type, language=args.language,
                  audience=args.audience, tone=args.tone, keywords=parse_keywords(args.keywords),
                  call_to_action=args.cta, brand_notes=args.brand_notes)
    width, height = parse_size(args.size)
    settings = ImageSettings(width=width, height=height, steps=args.steps, guidance=args.guidance, seed=args.seed,
                             use_refiner=not args.no_refiner, candidates=args.candidates).with_seed()
    profile = resolve_profile(args.profile)
    if args.memory_policy:
        profile = dataclasses.replace(profile, memory_policy=MemoryPolicy(args.memory_policy))
    timings: dict[str, float] = {}
    say = (lambda text: print(text, file=sys.stderr, flush=True))
    say(f"profile {profile.name} on {profile.device}" + (" — images come from random TEST weights"
                                                          if profile.test_images else ""))
    # 2. copy, streamed as it is written
    started = time.perf_counter()
    text_model = load_text(profile)
    timings["load_text_model_s"] = time.perf_counter() - started
    shown = 0

    def stream(text: str) -> None:
        nonlocal shown
        if not args.quiet and text.startswith(text[:shown]) and len(text) > shown:
            sys.stdout.write(text[shown:])
            sys.stdout.flush()
        shown = len(text)

    started = time.perf_counter()
    sampling = SamplingSettings(seed=args.text_seed)
    draft = write_copy(brief, text_model, on_text=stream, sampling=sampling)
    timings["copy_s"] = time.perf_counter() - started
    print(file=sys.stdout)
    for violation in draft.violations:
        say(f"rule still failing: {violation.message}")
    # 3. English visual prompt
    started = time.perf_counter()
    visual = write_visual_prompt(brief, draft.text, text_model)
    timings["visual_prompt_s"] = time.perf_counter() - started
    say(f"visual prompt ({visual.source}): {visual.prompt}\nnegative: {visual.negative_prompt}")
    for note in visual.notes:
        say(f"note: {note}")
    # 4. image
    started = time.perf_counter()
    image_model = load_images(profile)
    timings["load_image_models_s"] = time.perf_counter() - started
    started = time.perf_counter()
    rendered = image_model.render(visual.prompt, visual.negative_prompt, settings, on_step=_progress)
    print(file=sys.stderr)
    timings["image_s"] = time.perf_counter() - started
    # 5. the three files
    post_id = files.new_id()
    out: Path = args.out
    paths = {"copy": files.write_text(draft.text + "\n", out / f"{post_id}.md")}
    images = []
    for index, image in enumerate(rendered):
        suffix = "" if index == 0 else f"-{index + 1}"
        images.append(str(png.save_png(image, out / f"{post_id}{suffix}.png")))
    record = {
        "id": post_id, "brief": brief.to_dict(), "profile": profile.describe(),
        "copy": {"text": draft.text, "repair": draft.repair, "first_draft": draft.first_draft,
                 "violations": [v.__dict__ for v in draft.violations],
                 "subject": draft.parts.subject, "preheader": draft.parts.preheader,
                 "scenes": [s.__dict__ for s in draft.parts.scenes]},
        "visual_prompt": {"prompt": visual.prompt, "negative_prompt": visual.negative_prompt,
                          "source": visual.source, "notes": visual.notes, "prompt_tokens": visual.prompt_tokens,
                          "raw_output": visual.raw_output},
        "images": [{"path": path, "seed": r.seed, **png.png_metadata(r)} for path, r in zip(images, rendered)],
        "settings": settings.__dict__, "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    paths["record"] = files.write_json(record, out / f"{post_id}.json")
    say("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    say(f"wrote {paths['copy']}, {', '.join(images)}, {paths['record']}")
    return 0
