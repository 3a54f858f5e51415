"""Exports for the client: a ZIP of drafts with their copy as Markdown, images, and a manifest of prompts and seeds."""
from __future__ import annotations

import io
import json
import zipfile

from core.files import file_stem
from core.messages import language_name, state_name
from core.studio.history import HistoryStore
from core.studio.records import Draft
from core.studio.spreadsheets import write_csv, write_xlsx

# The headings of each draft's copy.md: (Brazilian Portuguese, English, Spanish)
HEADINGS = {"channel": ("canal", "channel", "canal"), "language": ("idioma", "language", "idioma"),
            "state": ("estado", "state", "estado"), "copy_version": ("versão do texto", "copy version",
                                                                     "versión del texto"),
            "by": ("por", "by", "por"), "copy": ("Texto", "Copy", "Texto"),
            "visual_prompt": ("Prompt visual (inglês)", "Visual prompt (English)", "Prompt visual (inglés)"),
            "negative": ("Negativo", "Negative", "Negativo"), "comments": ("Comentários", "Comments", "Comentarios"),
            "brief": ("Briefing", "Brief", "Brief"), "audience": ("público", "audience", "público"),
            "tone": ("tom", "tone", "tono"), "cta": ("chamada para ação", "call to action", "llamada a la acción"),
            "keywords": ("palavras-chave", "keywords", "palabras clave"), "link": ("link", "link", "enlace"),
            "key_facts": ("fatos principais", "key facts", "datos clave"), "kit": ("kit da marca", "brand kit",
                                                                                    "kit de marca"),
            "angle": ("ângulo", "angle", "ángulo")}
COLUMN = {"pt-BR": 0, "en": 1, "es": 2}
# The manifest table's columns (its JSON keeps these keys), headed for a manager in each language
MANIFEST_HEADINGS = {
    "draft_id": ("rascunho", "draft", "borrador"), "product": ("produto", "product", "producto"),
    "state": HEADINGS["state"], "image_version": ("versão da imagem", "image version",
                                                             "versión de la imagen"),
    "file": ("arquivo", "file", "archivo"), "prompt": ("prompt visual", "visual prompt", "prompt visual"),
    "negative_prompt": ("prompt negativo", "negative prompt", "prompt negativo"),
    "seed": ("semente", "seed", "semilla"), "size": ("tamanho", "size", "tamaño"),
    "steps": ("passos", "steps", "pasos"), "guidance": ("orientação", "guidance", "guía"),
    "test_weights": ("pesos de teste", "test weights", "pesos de prueba"),
    "favorite": ("favorita", "favorite", "favorita"), "scene": ("cena", "scene", "escena"),
    "kit": HEADINGS["kit"]}
YES_NO = {"pt-BR": ("sim", "não"), "en": ("yes", "no"), "es": ("sí", "no")}


def table_value(key: str, value, language: str):
    """A manifest or batch value as a manager reads it in language: yes/no, a state's name, a scene's number."""
    if isinstance(value, bool):
        yes, no = YES_NO.get(language, YES_NO["pt-BR"])
        return yes if value else no
    if key == "state":
        return state_name(value, language)
    return value


def table_headings(keys, headings: dict[str, tuple[str, str, str]], language: str) -> list[str]:
    column = COLUMN.get(language, 0)
    return [headings[key][column] if key in headings else key for key in keys]


def export_zip(store: HistoryStore, draft_ids: list[str], language: str = "pt-BR") -> bytes:
    """A ZIP of the drafts, a folder each named by its product: copy as Markdown (headings in language), images, and
    a manifest of prompts and seeds as JSON (for programs) and as CSV and XLSX (for people: headed and worded in
    language; the CSV opens as columns in that locale's spreadsheets; no cell runs as a formula)."""
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for draft_id in draft_ids:
            draft = store.get(draft_id)
            folder = f"{file_stem(draft.brief.product, 50)}-{draft_id[-8:]}"  # readable, and never two alike
            archive.writestr(f"{folder}/copy.md", markdown(draft, language))
            for creative in draft.creative_versions:  # the finished pieces, at their channels' sizes
                path = store.image_path(creative.file)
                if path.exists():
                    archive.write(path, f"{folder}/creative-c{creative.n}-{creative.format}.png")
            kit = draft.brief.kit
            if kit is not None and f"kits/{file_stem(kit.name, 40)}-v{kit.version}/kit.json" not in archive.namelist():
                for name, data in store.kits.export(kit).items():  # the kit as the draft used it
                    archive.writestr(f"kits/{file_stem(kit.name, 40)}-v{kit.version}/{name}", data)
            for image in draft.image_versions:
                name = f"{folder}/image-v{image.n}.png"
                path = store.image_path(image.file)
                if path.exists():
                    archive.write(path, name)
                prompt = draft.prompt_version(image.prompt_version)
                manifest.append({"draft_id": draft_id, "product": draft.brief.product, "state": draft.state.value,
                                 "image_version": image.n, "file": name, "prompt": prompt.prompt,
                                 "negative_prompt": prompt.negative_prompt, "seed": image.seed,
                                 "size": image.settings.size, "steps": image.settings.steps,
                                 "guidance": image.settings.guidance, "test_weights": image.test_weights,
                                 "favorite": image.n == draft.favorite, "scene": image.scene,
                                 "kit": kit.label if kit else ""})
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        keys = list(MANIFEST_HEADINGS)
        headings = table_headings(keys, MANIFEST_HEADINGS, language)
        rows = [[table_value(key, row[key], language) for key in keys] for row in manifest]
        archive.writestr("manifest.csv", write_csv(headings, rows, language))
        archive.writestr("manifest.xlsx", write_xlsx(headings, rows, "manifest"))
    return buffer.getvalue()


def markdown(draft: Draft, language: str = "pt-BR") -> str:
    """The draft's brief, newest copy and prompt, with its comments, as a Markdown page headed in language."""
    column = COLUMN.get(language, 0)
    said = {key: words[column] for key, words in HEADINGS.items()}
    brief, copy, prompt = draft.brief, draft.copy, draft.prompt
    lines = [f"# {brief.product}", "",
             f"- {said['channel']}: {brief.content_type.value}",
             f"- {said['language']}: {language_name(brief.language.value, language)}",
             f"- {said['state']}: {state_name(draft.state.value, language)}",
             f"- {said['copy_version']}: {copy.n} {said['by']} {copy.author}", "",
             f"## {said['copy']}", "", copy.text, "", f"## {said['visual_prompt']}", "", prompt.prompt, "",
             f"{said['negative']}: {prompt.negative_prompt}", "", f"## {said['brief']}", ""]
    for key, value in (("audience", brief.audience), ("tone", brief.tone), ("cta", brief.call_to_action),
                       ("keywords", ", ".join(brief.keywords)), ("link", f"<{brief.link}>" if brief.link else ""),
                       ("key_facts", brief.key_facts),
                       ("kit", brief.kit.label if brief.kit else ""), ("angle", brief.angle)):
        if value.strip():
            lines.append(f"- {said[key]}: {value.strip()}")
    if draft.comments:
        lines += ["", f"## {said['comments']}", ""] + [f"- **{c.author}** ({c.at}): {c.text}" for c in draft.comments]
    return "\n".join(lines) + "\n"
