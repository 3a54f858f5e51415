"""The command line's campaign commands: `kit` (save and list brand kits), `batch` (a catalog in, a ZIP out) and
`creative` (a finished piece at a channel's size). core.cli registers them beside generate, edit and upload."""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from core import files
from core.content.brand import BrandKit, parse_words
from core.content.brief import Language, parse_content_type
from core.errors import SettingsError
from core.image.creative import FORMATS, TEMPLATES
from core.profiles import ENV_DATA_DIR, ENV_PROFILE, PROFILES, Environment
from core.image.settings import ImageSettings
from core.studio.batch import (Batches, export_batch, guess_columns, item_message, item_problems, plan_batch,
                               read_catalog, run_batch)
from core.studio.creatives import creative_file, headline_of, make_creative
from core.studio.history import HistoryError, check_author
from core.studio.kits import KitAsset
from core.studio.progress import Progress
from core.studio.root import get_studio

KIT_TEXT_FIELDS = {"voice": "voice", "cta": "call_to_action", "style": "visual_style", "negative": "negative_prompt"}
KIT_LIST_FIELDS = {"required": "required_words", "banned": "banned_words", "hashtags": "hashtags",
                   "colors": "colors"}


def add_commands(commands) -> None:
    """The campaign commands, added to core.cli's subcommands."""
    kit = commands.add_parser("kit", help="save or list the team's brand kits",
                              description="`kit save --name NAME ...` saves a brand kit (a new version where the "
                                          "name exists: fields not given keep their value); `kit list` lists them.")
    kit.add_argument("action", choices=("save", "list"))
    kit.add_argument("--name", help="the kit's name (the client or brand)")
    kit.add_argument("--voice", help="voice and tone notes for the copywriter")
    kit.add_argument("--required", help="words to always use, comma-separated")
    kit.add_argument("--banned", help="words never to use, comma-separated")
    kit.add_argument("--hashtags", help="hashtags for posts, e.g. '#MinhaMarca, #Verão'")
    kit.add_argument("--cta", help="the default call to action")
    kit.add_argument("--colors", help="colours as #RRGGBB, comma-separated: text first, then the button's")
    kit.add_argument("--style", help="English visual style for every image, e.g. 'pastel tones, flat lay'")
    kit.add_argument("--negative", help="English words kept out of every image")
    kit.add_argument("--logo", type=Path, help="the logo: a PNG with a transparent background")
    kit.add_argument("--font", type=Path, help="a TTF or OTF font (default: Source Sans Pro, shipped)")
    _common(kit)
    batch = commands.add_parser("batch", help="a draft per row of a CSV or XLSX catalog, exported as one ZIP",
                                description="Write a draft (and its image) for every row of CATALOG and channel, "
                                            "under --kit, then export them all with batch.csv (copy, files, and "
                                            "each bad row's error) into --out. Stopped, it resumes with --resume.")
    batch.add_argument("catalog", type=Path, nargs="?", metavar="CATALOG")
    batch.add_argument("--resume", metavar="BATCH_ID", help="go on with a stopped batch instead of a new one")
    batch.add_argument("--kit", help="the brand kit's name")
    batch.add_argument("--channels", default="instagram", help="comma-separated channels for rows without their "
                                                               "own (default: instagram)")
    batch.add_argument("--language", default=Language.PT_BR.value, choices=[lang.value for lang in Language])
    batch.add_argument("--no-images", action="store_true", help="copy and prompts only")
    batch.add_argument("--steps", type=int, help="denoising steps of every image (default: the studio's)")
    batch.add_argument("--seed", type=int, help="the seed of every image, for repeatable renders (default: random)")
    batch.add_argument("--allow-problems", action="store_true",
                       help="exit 0 even when a saved copy still breaks a rule (it is reported either way)")
    batch.add_argument("--out", type=Path, default=Path("batch.zip"), help="the ZIP written (default: batch.zip)")
    batch.add_argument("--profile", choices=PROFILES, help="models to use (default: full with a GPU, else cpu-demo)")
    _common(batch)
    creative = commands.add_parser("creative", help="a finished piece: headline, CTA and logo over an image, at a "
                                                    "channel's size",
                                   description="Lay the headline (default: from the copy), the CTA and the draft "
                                               "kit's logo over image --version, at --format's size, and save it "
                                               "as the draft's next creative; a copy goes to --out.")
    creative.add_argument("--draft", required=True)
    creative.add_argument("--version", type=int, help="the image version to use (default: the favourite or newest "
                                                      "at the format's shape, else the favourite, cropped)")
    creative.add_argument("--format", required=True, choices=list(FORMATS))
    creative.add_argument("--headline", help="default: the copy's first sentence (an email's subject)")
    creative.add_argument("--cta", help="default: the brief's call to action")
    creative.add_argument("--template", default="bottom", choices=TEMPLATES)
    creative.add_argument("--jpeg", action="store_true", help="write a JPEG instead of a PNG")
    creative.add_argument("--out", default="outputs", type=Path)
    _common(creative)


def _common(parser) -> None:
    parser.add_argument("--data-dir", type=Path, help="the team's history folder (default: $STUDIO_DATA_DIR or "
                                                      "studio_data)")
    parser.add_argument("--author", default="command line", help="name the work is signed with")


def handlers() -> dict:
    return {"kit": _kit, "batch": _batch, "creative": _creative}


def _studio(args):
    flags = {ENV_DATA_DIR: args.data_dir, ENV_PROFILE: getattr(args, "profile", None)}
    return get_studio(Environment.read({**os.environ, **{k: str(v) for k, v in flags.items() if v}}))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _kit(args) -> int:
    kits = _studio(args).store.kits
    if args.action == "list":
        for kit in kits.list():
            print(f"{kit.label}: colours {' '.join(kit.colors) or '-'}; logo {'yes' if kit.logo_file else 'no'}; "
                  f"banned {', '.join(kit.banned_words) or '-'}")
        return 0
    author = check_author(args.author)
    if not args.name:
        raise SettingsError("kit_name", "", "empty")
    try:
        kit = kits.named(args.name)
    except HistoryError:
        kit = BrandKit(args.name)
    changes = {field: getattr(args, flag) for flag, field in KIT_TEXT_FIELDS.items() if getattr(args, flag) is not None}
    changes |= {field: parse_words(getattr(args, flag)) for flag, field in KIT_LIST_FIELDS.items()
                if getattr(args, flag) is not None}
    kit = dataclasses.replace(kit, **changes)
    logo = KitAsset(_read(args.logo, "logo"), args.logo.name) if args.logo else None
    font = KitAsset(_read(args.font, "font"), args.font.name) if args.font else None
    saved = kits.save(kit, author, logo, font)
    _say(f"saved the brand kit {saved.label} ({saved.id})")
    return 0


def _batch(args) -> int:
    author = check_author(args.author)
    studio = _studio(args)
    batches = Batches(studio.store)
    if args.resume:
        batch = batches.get(args.resume)
    else:
        if args.catalog is None:
            raise SettingsError("catalog", "", "empty")
        kit = studio.store.kits.named(args.kit) if args.kit else None
        channels = [parse_content_type(c.strip()).value for c in args.channels.split(",") if c.strip()]
        catalog = read_catalog(_read(args.catalog, "catalog"), args.catalog.name)
        items = plan_batch(catalog, guess_columns(catalog.headers), channels, args.language, kit)
        batch = batches.create(args.catalog.name, items, author, args.language, kit, not args.no_images)
        _say(f"batch {batch.id}: {len(items)} drafts to write ({batch.count('failed')} rows refused)")
    def show(batch) -> None:
        left = len(batch.items) - batch.count("done") - batch.count("failed")
        print(f"\rdone {batch.count('done')}, failed {batch.count('failed')}, left {left}", end="", file=sys.stderr,
              flush=True)
    settings = ImageSettings(**{name: value for name, value in (("steps", args.steps), ("seed", args.seed))
                                if value is not None})
    batch = run_batch(Progress(), batches, batch.id, studio.text_model, studio.image_model, author, settings,
                      on_item=show)
    _say("")
    for item in batch.items:
        if message := item_message(item):
            _say(f"refused: {message}")
        if item.status == "done" and item.problems:
            _say(f"row {item.row} ({item.channel}), done with problems: "
                 + "; ".join(str(problem) for problem in item_problems(item)))
    files.atomic_write(args.out, lambda handle: handle.write(export_batch(studio.store, batch, args.language)))
    clean = batch.count("done") - batch.with_problems
    _say(f"wrote {args.out}: {clean} drafts done, {batch.with_problems} done with problems, "
         f"{batch.count('failed')} failed (batch {batch.id})")
    return 1 if batch.count("failed") or (batch.with_problems and not args.allow_problems) else 0


def _creative(args) -> int:
    author = check_author(args.author)
    store = _studio(args).store
    draft = store.get(args.draft)
    headline = args.headline if args.headline is not None else headline_of(draft)
    cta = args.cta if args.cta is not None else draft.brief.call_to_action
    version = make_creative(store, args.draft, args.version, args.format, headline, cta, author, args.template)
    file_format = "JPEG" if args.jpeg else "PNG"
    data = creative_file(store, version, file_format)
    suffix = {"PNG": "png", "JPEG": "jpg"}[file_format]
    path = files.atomic_write(args.out / f"{args.draft}-{args.format}-c{version.n}.{suffix}",
                              lambda handle: handle.write(data))
    _say(f"wrote {path}: creative c{version.n} of draft {args.draft} (contrast {version.contrast}:1"
         f"{', on a scrim' if version.scrim else ''})")
    return 0


def _read(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise SettingsError(field, str(path), "not_found") from None
