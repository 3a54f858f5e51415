"""Exports for the client: a ZIP of drafts with their copy as Markdown, images, and a manifest of prompts and seeds."""
from __future__ import annotations

import csv
import io
import json
import zipfile

from core.studio.history import HistoryStore
from core.studio.records import Draft


# The list separator spreadsheet programs expect in each interface language: in Brazil and Spain the comma is the
# decimal mark, so Excel splits CSV columns on ";".
CSV_SEPARATORS = {"pt-BR": ";", "es": ";", "en": ","}


def export_zip(store: HistoryStore, draft_ids: list[str], language: str = "pt-BR") -> bytes:
    """A ZIP of the drafts: copy as Markdown, images, and a JSON and CSV manifest of prompts and seeds. The CSV
    opens as columns in a spreadsheet of the language's locale (its separator, and a BOM so accents survive)."""
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for draft_id in draft_ids:
            draft = store.get(draft_id)
            archive.writestr(f"{draft_id}/copy.md", markdown(draft))
            for image in draft.image_versions:
                name = f"{draft_id}/image-v{image.n}.png"
                path = store.image_path(image.file)
                if path.exists():
                    archive.write(path, name)
                prompt = draft.prompt_version(image.prompt_version)
                manifest.append({"draft_id": draft_id, "product": draft.brief.product, "state": draft.state.value,
                                 "image_version": image.n, "file": name, "prompt": prompt.prompt,
                                 "negative_prompt": prompt.negative_prompt, "seed": image.seed,
                                 "size": image.settings.size, "steps": image.settings.steps,
                                 "guidance": image.settings.guidance, "test_weights": image.test_weights})
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(manifest[0]) if manifest else ["draft_id"],
                                delimiter=CSV_SEPARATORS.get(language, ","))
        writer.writeheader()
        writer.writerows(manifest)
        archive.writestr("manifest.csv", table.getvalue().encode("utf-8-sig"))
    return buffer.getvalue()


def markdown(draft: Draft) -> str:
    """The draft's newest copy and prompt, with its comments, as a Markdown page."""
    brief, copy, prompt = draft.brief, draft.copy, draft.prompt
    lines = [f"# {brief.product}", "",
             f"- channel: {brief.content_type.value}", f"- language: {brief.language.value}",
             f"- state: {draft.state.value}", f"- copy version: {copy.n} by {copy.author}", "",
             "## Copy", "", copy.text, "", "## Visual prompt", "", prompt.prompt, "",
             f"Negative: {prompt.negative_prompt}", ""]
    if draft.comments:
        lines += ["## Comments", ""] + [f"- **{c.author}** ({c.at}): {c.text}" for c in draft.comments]
    return "\n".join(lines) + "\n"
