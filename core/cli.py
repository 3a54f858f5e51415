"""Command line face of the studio: `python -m core generate ...` runs one brief through the post flow;
`python -m core edit ...` edits one of its images."""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from core import campaign_cli, files
from core.content.brief import Brief, ContentType, Language, parse_keywords
from core.downloads import hush_libraries
from core.errors import CoreError, SettingsError
from core.image import png
from core.image.editing import STRENGTH, Edit, EditKind, edit_arguments, edit_settings
from core.image.placement import MemoryPolicy
from core.image.settings import FAST_STEPS, ImageSettings, parse_size, size_list
from core.image.uploads import MAX_UPLOAD_BYTES, UPLOAD_FORMATS, megabytes, read_image, read_upload
from core.profiles import (ENV_DATA_DIR, ENV_MEMORY_POLICY, ENV_OPENAI_BASE_URL, ENV_OPENAI_MODEL, ENV_PROFILE,
                           ENV_TEXT_ENGINE, PROFILES, TEXT_ENGINES, Environment)
from core.studio.history import check_author
from core.studio.jobs import edit_post, render_post, write_post
from core.studio.progress import Progress
from core.studio.root import get_studio
from core.text.engine import SamplingSettings


def _knob_help(name: str, what: str) -> str:
    bound = ImageSettings.bound(name)
    return f"{what or bound.help}, {bound.low:g}-{bound.high:g} (default: {ImageSettings.default(name):g})"


class OneLineErrors(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command line."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="python -m core", description="Marketing content studio: brief to copy, "
                           "English visual prompt and SDXL image.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrors)
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
    gen.add_argument("--key-facts", default="", help="features, price, offer, dates: the only facts the copy states")
    gen.add_argument("--kit", help="the brand kit to write under, by name (see `kit list`)")
    gen.add_argument("--link", default="", help="the web address the post sends people to (http:// or https://)")
    gen.add_argument("--profile", choices=PROFILES, help="models to use (default: full with a GPU, else cpu-demo)")
    gen.add_argument("--out", default="outputs", type=Path, help="folder for the three files (default: outputs)")
    gen.add_argument("--data-dir", type=Path, help="the team's history folder the draft is saved in "
                                                   "(default: $STUDIO_DATA_DIR or studio_data)")
    gen.add_argument("--size", default=ImageSettings().size, help="one of " + size_list())
    gen.add_argument("--steps", type=int, default=ImageSettings.default("steps"), help=_knob_help("steps", ""))
    gen.add_argument("--guidance", type=float, default=ImageSettings.default("guidance"),
                     help=_knob_help("guidance", "classifier-free guidance"))
    gen.add_argument("--seed", type=int, help="image seed (default: random, recorded in the outputs)")
    gen.add_argument("--candidates", type=int, default=ImageSettings.default("candidates"),
                     help=_knob_help("candidates", "images to render, seeds seed..seed+n-1"))
    gen.add_argument("--no-refiner", action="store_true", help="render with the base model alone")
    gen.add_argument("--fast", action="store_true",
                     help=f"the fast mode: a few-step LoRA ($STUDIO_FAST_LORA, SDXL-Lightning by default) on the base "
                          f"alone, {FAST_STEPS} steps without guidance; less detail, a fraction of the time on a "
                          f"small GPU (--steps, --guidance and --no-refiner do not apply)")
    gen.add_argument("--memory-policy", choices=[p.value for p in MemoryPolicy],
                     help="where SDXL weights live (default: chosen from free GPU memory)")
    gen.add_argument("--text-engine", choices=TEXT_ENGINES,
                     help="local (the profile's model in this process) or openai (a server speaking the OpenAI "
                          "API; its key comes from STUDIO_OPENAI_API_KEY); default: $STUDIO_TEXT_ENGINE or local")
    gen.add_argument("--openai-base-url", help="the text server, e.g. http://localhost:11434/v1 for Ollama")
    gen.add_argument("--openai-model", help="the server's model name, e.g. llama3:8b-instruct-q4_K_M")
    gen.add_argument("--text-seed", type=int, help="seed for the copy, for repeatable drafts")
    gen.add_argument("--author", default="command line", help="name the draft is signed with in the history")
    gen.add_argument("--quiet", action="store_true", help="print nothing while working (no streamed copy, steps, "
                                                          "notes or progress bars): only errors and the files written")
    edit = commands.add_parser(
        "edit", help="edit an image version of a saved draft: a variation, a repainted region, another format",
        description="Edit image version --version of draft --draft and save the result as its newest image "
                    "version, recording the version it came from. Writes ID-vN.png into --out.")
    edit.add_argument("--draft", required=True, help="the draft's id, as the history and `generate` show it")
    edit.add_argument("--version", type=int, required=True, help="the image version to start from (1, 2, ...)")
    kind = edit.add_mutually_exclusive_group(required=True)
    kind.add_argument("--variation", type=float, metavar="STRENGTH",
                      help=f"redraw the whole image keeping its composition; {STRENGTH.help}, "
                           f"{STRENGTH.low:g}-{STRENGTH.high:g}")
    kind.add_argument("--inpaint", type=Path, metavar="MASK.png",
                      help="repaint the white area of this mask (the image's size); every other pixel is kept")
    kind.add_argument("--extend", metavar="WxH", help="extend the image to another SDXL size, the original kept "
                                                      "whole in the middle: one of " + size_list())
    edit.add_argument("--keep", action="store_true",
                      help="with --inpaint: keep the mask's white area and repaint everything else (a product "
                           "kept, its background new; an uploaded cut-out's mask works as it is)")
    edit.add_argument("--prompt", help="the prompt for the edit (default: the prompt of the version)")
    edit.add_argument("--negative", help="the negative prompt (default: the version's)")
    edit.add_argument("--seed", type=int, help="seed (default: random, recorded)")
    edit.add_argument("--steps", type=int, default=ImageSettings.default("steps"), help=_knob_help("steps", ""))
    edit.add_argument("--no-refiner", action="store_true", help="edit with the base model alone")
    edit.add_argument("--profile", choices=PROFILES, help="models to use (default: full with a GPU, else cpu-demo)")
    edit.add_argument("--data-dir", type=Path, help="the team's history folder (default: $STUDIO_DATA_DIR or "
                                                    "studio_data)")
    edit.add_argument("--out", default="outputs", type=Path, help="folder for the edited PNG (default: outputs)")
    edit.add_argument("--author", default="command line", help="name the new version is signed with")
    edit.add_argument("--quiet", action="store_true", help="print only errors and the file written")
    upload = commands.add_parser(
        "upload", help="add the team's own photo or sketch to a draft as a new image version, to edit from",
        description="Read PHOTO (PNG, JPEG or WebP; at most 20 MB and 40 megapixels), turn it upright, drop its "
                    "metadata, fit it to the nearest SDXL size and save it as the newest image version of --draft. "
                    "A PNG with transparency keeps its cut-out as the version's mask, for `edit --inpaint MASK "
                    "--keep`.")
    upload.add_argument("photo", type=Path, metavar="PHOTO")
    upload.add_argument("--draft", required=True, help="the draft's id, as the history and `generate` show it")
    upload.add_argument("--data-dir", type=Path, help="the team's history folder (default: $STUDIO_DATA_DIR or "
                                                      "studio_data)")
    upload.add_argument("--author", default="command line", help="name the new version is signed with")
    campaign_cli.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"edit": _edit, "upload": _upload, **campaign_cli.handlers()}.get(args.command, _generate)(args)
    except CoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


class ConsoleProgress(Progress):
    """The post flow's progress, printed: the copy streamed to stdout, steps and phases to stderr. A rewrite is
    streamed after a marked line of its own, never glued onto the first draft; a text that replaces what was shown
    (the first draft kept, a trim) is not printed here: the saved copy is printed whole at the end."""

    def __init__(self, quiet: bool):
        super().__init__()
        self.quiet = quiet
        self.printed = ""  # what of the current text stdout has shown

    def show_text(self, text: str) -> None:
        super().show_text(text)
        if self.quiet:
            return
        if text.startswith(self.printed):
            sys.stdout.write(text[len(self.printed):])
            sys.stdout.flush()
            self.printed = text

    def enter(self, phase: str, progress: float | None = None, reasons: list | None = None) -> None:
        super().enter(phase, progress, reasons)
        if phase == "repairing":
            self.printed = ""
            if not self.quiet:
                why = "; ".join(reason.message for reason in reasons or ())
                print(f"\n\n--- rewriting, because {why} ---", file=sys.stdout, flush=True)

    def show_step(self, done: int, total: int) -> None:
        super().show_step(done, total)
        if not self.quiet:
            print(f"\rrendering: step {done}/{total}", end="", file=sys.stderr, flush=True)


def _hush_libraries() -> None:
    """No progress bars or library warnings for --quiet."""
    import warnings
    hush_libraries()
    warnings.filterwarnings("ignore")


def _generate(args) -> int:
    if args.quiet:
        _hush_libraries()
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    # 1. check every input before loading anything
    author = check_author(args.author)
    brief = Brief(product=args.product, content_type=args.content_type, language=args.language,
                  audience=args.audience, tone=args.tone, keywords=parse_keywords(args.keywords),
                  call_to_action=args.cta, brand_notes=args.brand_notes, key_facts=args.key_facts, link=args.link)
    width, height = parse_size(args.size)
    settings = ImageSettings(width=width, height=height, steps=args.steps, guidance=args.guidance, seed=args.seed,
                             use_refiner=not args.no_refiner, candidates=args.candidates).with_seed()
    settings = settings.fast() if args.fast else settings
    flags = {ENV_PROFILE: args.profile, ENV_MEMORY_POLICY: args.memory_policy, ENV_DATA_DIR: args.data_dir,
             ENV_TEXT_ENGINE: args.text_engine, ENV_OPENAI_BASE_URL: args.openai_base_url,
             ENV_OPENAI_MODEL: args.openai_model}
    environment = Environment.read({**os.environ, **{k: str(v) for k, v in flags.items() if v}})
    studio = get_studio(environment)
    studio.for_one_job()
    profile = studio.profile
    if args.kit:
        brief = brief.under_kit(studio.store.kits.named(args.kit))
    say(f"profile {profile.name} on {profile.device}" + (" — images come from random TEST weights"
                                                          if profile.test_images else ""))
    # 2. copy, streamed as it is written, and the English visual prompt: the same flow as the app's
    progress = ConsoleProgress(args.quiet)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    studio.text_model()
    timings["load_text_model_s"] = time.perf_counter() - started
    started = time.perf_counter()
    try:
        written = write_post(progress, brief, studio.text_model, studio.store, author,
                             SamplingSettings(seed=args.text_seed))
    except CoreError:
        if progress.partial.strip():  # what the server did send is never lost from sight, quiet or not
            print(f"\n--- received before it stopped ({len(progress.partial)} characters; nothing was saved) ---\n"
                  f"{progress.partial}", file=sys.stderr, flush=True)
        raise
    timings["copy_s"] = time.perf_counter() - started  # the copy and its visual prompt
    draft, visual = written.copy, written.visual
    if not args.quiet:
        if draft.text != progress.printed:  # the first draft kept, or cut to fit: the copy as saved, whole
            print(f"\n\n--- saved copy ({draft.repair}) ---\n{draft.text}", file=sys.stdout)
        else:
            print(file=sys.stdout)
    for note in draft.repair_notes():
        say(f"repair: {note}")
    for violation in draft.violations:
        say(f"rule still failing: {violation.message}")
    say(f"visual prompt ({visual.source}): {visual.prompt}\nnegative: {visual.negative_prompt}")
    for note in visual.notes:
        say(f"note: {note}")
    # 3. image, with the app's out-of-memory fallback and parking of the text model
    started = time.perf_counter()
    studio.image_model()
    timings["load_image_models_s"] = time.perf_counter() - started
    studio.loaded_text_model().store_weights()  # int4 weights for the next run, now that SDXL's files are read
    started = time.perf_counter()
    rendered = render_post(progress, written.draft_id, visual.prompt, visual.negative_prompt, settings,
                           studio.image_model, studio.store, author, studio.loaded_text_model())
    say("")
    timings["image_s"] = time.perf_counter() - started
    # 4. the three files, named by the draft's id in the history
    post_id = written.draft_id
    out: Path = args.out
    paths = {"copy": files.write_text(draft.text + "\n", out / f"{post_id}.md")}
    images = []
    for index, (file_name, _) in enumerate(rendered.image_files):  # the PNGs the history saved, copied as they are
        suffix = "" if index == 0 else f"-{index + 1}"
        saved = studio.store.image_path(file_name).read_bytes()
        images.append(str(files.atomic_write(out / f"{post_id}{suffix}.png", lambda handle: handle.write(saved))))
    record = {
        "id": post_id, "brief": brief.to_dict(), "profile": profile.describe(),
        "history": str(studio.store.folder),
        "copy": {"text": draft.text, "repair": draft.repair, "first_draft": draft.first_draft,
                 "violations": [{"code": v.code, "actual": v.actual, "limit": v.limit, "message": v.message}
                                for v in draft.violations],
                 "repair_notes": [str(note) for note in draft.repair_notes()],
                 "subject": draft.parts.subject, "preheader": draft.parts.preheader,
                 "scenes": [s.__dict__ for s in draft.parts.scenes]},
        "visual_prompt": {"prompt": visual.prompt, "negative_prompt": visual.negative_prompt,
                          "source": visual.source, "notes": [str(note) for note in visual.notes], "prompt_tokens": visual.prompt_tokens,
                          "raw_output": visual.raw_output},
        "images": [{"path": path, "seed": r.seed, **png.png_metadata(r)} for path, r in zip(images, rendered.images)],
        "settings": settings.to_dict(), "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    paths["record"] = files.write_json(record, out / f"{post_id}.json")
    say("timings: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print(f"wrote {paths['copy']}, {', '.join(images)}, {paths['record']}; draft {post_id} saved in "
          f"{studio.store.folder}" + (" (images from random TEST weights)" if profile.test_images else ""),
          file=sys.stderr, flush=True)
    return 0


def _edit(args) -> int:
    if args.quiet:
        _hush_libraries()
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    # 1. every input checked before a model loads: the draft, the version, the mask, the size
    author = check_author(args.author)
    flags = {ENV_PROFILE: args.profile, ENV_DATA_DIR: args.data_dir}
    studio = get_studio(Environment.read({**os.environ, **{k: str(v) for k, v in flags.items() if v}}))
    studio.for_one_job()
    version, source = studio.store.source_image(args.draft, args.version)
    prompt = studio.store.get(args.draft).prompt_version(version.prompt_version)
    settings = dataclasses.replace(edit_settings(version.settings), steps=args.steps, seed=args.seed,
                                   use_refiner=not args.no_refiner and version.settings.use_refiner)
    if args.variation is not None:
        edit = dict(kind=EditKind.VARIATION.value, strength=args.variation)
    elif args.inpaint is not None:
        edit = edit_arguments(EditKind.INPAINT.value, source.size, painted=_read_image(args.inpaint, "mask"),
                              keep_region=args.keep)
        edit["kind"] = EditKind.INPAINT.value
    else:
        edit = dict(kind=EditKind.EXTEND.value, target=parse_size(args.extend))
    Edit(source=source, **edit)  # a bad strength, mask or size is refused here, not after loading SDXL
    # 2. the edit, through the same flow as the app's
    kind = edit.pop("kind")
    result = edit_post(ConsoleProgress(args.quiet), args.draft, args.version, kind,
                       prompt.prompt if args.prompt is None else args.prompt,
                       prompt.negative_prompt if args.negative is None else args.negative, settings,
                       studio.image_model, studio.store, author, studio.loaded_text_model(), **edit)
    say("")
    # 3. the new version's PNG, copied as the history saved it
    [(file_name, seed)] = result.image_files
    new = studio.store.get(args.draft).image_versions[-1]
    saved = studio.store.image_path(file_name).read_bytes()
    path = files.atomic_write(args.out / f"{args.draft}-v{new.n}.png", lambda handle: handle.write(saved))
    print(f"wrote {path}: image v{new.n} of draft {args.draft}, a {kind} of v{args.version} (seed {seed})",
          file=sys.stderr, flush=True)
    return 0


def _upload(args) -> int:
    author = check_author(args.author)
    studio = get_studio(Environment.read({**os.environ, **({ENV_DATA_DIR: str(args.data_dir)} if args.data_dir
                                                            else {})}))
    studio.store.get(args.draft)  # a missing draft is named before the file is read
    upload = read_upload(_read_bytes(args.photo, "upload"), args.photo.name)
    version = studio.store.add_upload(args.draft, upload, author)
    cut_out = f", its cut-out saved as {studio.store.image_path(version.mask_file)}" if version.mask_file else ""
    print(f"added {args.photo.name} to draft {args.draft} as image v{version.n} at {version.settings.size}{cut_out}",
          file=sys.stderr, flush=True)
    return 0


def _read_bytes(path: Path, field: str) -> bytes:
    """A file's bytes; a file over the upload limit is refused by its size, before it is read."""
    try:
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise SettingsError(field, str(path), "upload_too_large", size=megabytes(size),
                                limit=megabytes(MAX_UPLOAD_BYTES))
        return path.read_bytes()
    except OSError:
        raise SettingsError(field, str(path), "not_an_image", allowed=", ".join(UPLOAD_FORMATS)) from None


def _read_image(path: Path, field: str):
    return read_image(_read_bytes(path, field), field, str(path))
