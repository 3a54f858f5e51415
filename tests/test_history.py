import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from core.content.brief import Brief
from core.studio.export import export_zip
from core.studio.history import HistoryError, HistoryStore
from core.studio.storage import SCHEMA_VERSION
from core.image.sdxl import RenderedImage
from core.image.settings import ImageSettings

BRIEF = Brief(product="Café Serra Azul", call_to_action="Peça já")
FIXTURES = Path(__file__).parent / "fixtures"


def rendered(seed=1, prompt="a cup of coffee, morning light"):
    return RenderedImage(image=Image.new("RGB", (64, 64), (seed % 255, 90, 30)), seed=seed, prompt=prompt,
                         negative_prompt="blurry", settings=ImageSettings(steps=20, seed=seed),
                         model_names=["base", "refiner"], test_weights=True)


@pytest.fixture
def store(tmp_path):
    s = HistoryStore(tmp_path / "history")
    yield s
    s.close()


def test_versions_states_and_comments(store):
    draft_id = store.create_draft(BRIEF, "Café bom. Peça já!", "a cup of coffee", "blurry", "Ana")
    assert store.add_copy_version(draft_id, "Café ótimo. Peça já!", "Bia") == 2
    assert store.add_image_version(draft_id, rendered(), "Bia").n == 1
    assert store.add_image_version(draft_id, rendered(2, prompt="edited prompt, studio light"), "Ana").n == 2
    store.set_state(draft_id, "in_review", "Ana")
    store.set_state(draft_id, "changes_requested", "Caio")
    store.add_comment(draft_id, "Mais curto, por favor", "Caio")
    draft = store.get(draft_id)
    assert [v.text for v in draft.copy_versions] == ["Café bom. Peça já!", "Café ótimo. Peça já!"]
    assert [p.prompt for p in draft.prompt_versions] == ["a cup of coffee", "a cup of coffee, morning light",
                                                               "edited prompt, studio light"]
    assert [i.prompt_version for i in draft.image_versions] == [2, 3]
    assert draft.state == "changes_requested"
    assert [(h.from_state, h.to_state, h.author) for h in draft.state_history] == [
        ("draft", "in_review", "Ana"), ("in_review", "changes_requested", "Caio")]
    assert draft.comments[0].author == "Caio"
    png = store.image_path(draft.image_versions[0].file)
    assert Image.open(png).text["seed"] == "1"


def test_bad_requests_are_refused_and_change_nothing(store):
    draft_id = store.create_draft(BRIEF, "x", "p", "n", "Ana")
    before = store.get(draft_id)
    with pytest.raises(HistoryError, match="cannot move to 'approved'"):
        store.set_state(draft_id, "approved", "Ana")
    with pytest.raises(HistoryError, match="author must not be empty"):
        store.add_comment(draft_id, "oi", "  ")
    with pytest.raises(HistoryError, match="no draft"):
        store.add_comment("20990101-000000-00000000", "oi", "Ana")
    assert store.get(draft_id) == before


def test_filters_and_archive(store):
    a = store.create_draft(BRIEF, "Café bom", "coffee", "", "Ana")
    b = store.create_draft(Brief(product="Tênis", content_type="x"), "Corra", "shoes", "", "Bia")
    store.set_state(b, "in_review", "Bia")
    assert [d.id for d in store.list_drafts(state="in_review")] == [b]
    assert [d.id for d in store.list_drafts(content_type="instagram")] == [a]
    assert [d.id for d in store.list_drafts(author="bia")] == [b]
    assert [d.id for d in store.list_drafts(text="TÊNIS")] == [b]
    store.archive(a, "Ana")
    assert [d.id for d in store.list_drafts()] == [b]
    assert [d.id for d in store.list_drafts(archived=True)] == [a]
    store.archive(a, "Ana", archived=False)
    assert len(store.list_drafts()) == 2


@pytest.mark.parametrize("name", ["../../x", "../history.json", "/etc/passwd", "a/b.png", "..png", "x.png\x00"])
def test_path_like_names_cannot_escape_the_image_folder(store, name):
    with pytest.raises(HistoryError):
        store.image_path(name)


def test_export_zip_has_markdown_images_and_manifests(store):
    draft_id = store.create_draft(BRIEF, "Café bom. Peça já!", "coffee", "blurry", "Ana")
    store.add_image_version(draft_id, rendered(7), "Ana")
    archive = zipfile.ZipFile(BytesIO(export_zip(store, [draft_id])))
    names = set(archive.namelist())
    assert {f"{draft_id}/copy.md", f"{draft_id}/image-v1.png", "manifest.json", "manifest.csv"} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest[0]["seed"] == 7 and manifest[0]["prompt"] == "a cup of coffee, morning light"
    assert "Café bom. Peça já!" in archive.read(f"{draft_id}/copy.md").decode()
    assert "seed" in archive.read("manifest.csv").decode().splitlines()[0]


def test_eight_threads_mixed_writes_lose_nothing(store, record_property):
    draft_ids = [store.create_draft(BRIEF, f"copy {i}", "p", "n", "seed") for i in range(8)]
    acknowledged = {d: 0 for d in draft_ids}
    ack_lock = threading.Lock()
    errors = []

    def worker(n):
        rng = random.Random(n)
        try:
            for i in range(200):
                target = rng.choice(draft_ids)
                kind = i % 3
                if kind == 0:
                    store.add_comment(target, f"t{n}-{i}", f"user{n}")
                elif kind == 1:
                    store.add_copy_version(target, f"t{n}-{i}", f"user{n}")
                else:
                    store.list_drafts(text="copy")
                    store.add_prompt_version(target, f"t{n}-{i}", "", f"user{n}")
                with ack_lock:
                    acknowledged[target] += 1
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    reopened = HistoryStore(store.folder)
    found = {d: 0 for d in draft_ids}
    for draft_id in draft_ids:
        draft = reopened.get(draft_id)
        found[draft_id] = len(draft.comments) + len(draft.copy_versions) - 1 + len(draft.prompt_versions) - 1
    record_property("writes_attempted", 1600)
    record_property("writes_acknowledged", sum(acknowledged.values()))
    record_property("writes_found", sum(found.values()))
    print(f"threads: attempted 1600, acknowledged {sum(acknowledged.values())}, found {sum(found.values())}")
    assert found == acknowledged and sum(found.values()) == 1600
    reopened.close()


WRITER = """
import sys
from core.content.brief import Brief
from core.studio.history import HistoryStore
store = HistoryStore(sys.argv[1])
draft = store.create_draft(Brief(product="x"), "c", "p", "n", "writer")
print("draft", draft, flush=True)
i = 0
while True:
    store.add_comment(draft, "c" * 2000, "writer")
    i += 1
    print("ack", i, flush=True)
"""


def test_sigkill_mid_write_keeps_every_acknowledged_write(tmp_path):
    folder = tmp_path / "history"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True,
                               cwd=Path(__file__).parents[1], env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    draft_id = process.stdout.readline().split()[1]
    acked = 0
    deadline = time.time() + 60
    target = random.Random(0).randint(150, 250)
    while acked < target and time.time() < deadline:
        acked = int(process.stdout.readline().split()[1])
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    rest = process.stdout.read().split()
    acked = max([acked] + [int(x) for x in rest[1::2] if x.isdigit()])
    store = HistoryStore(folder)
    found = len(store.get(draft_id).comments)
    print(f"sigkill: acknowledged {acked}, found {found}")
    assert store.recovery is None
    assert found in (acked, acked + 1)  # the write in flight at the kill may have landed without its ack
    assert not list(folder.glob(".history.json.*.tmp")), "start-up clears temp files a killed writer left"
    store.close()


@pytest.mark.parametrize("damage", [b"", b'{"drafts": {"1": {"id": "x"', b"\x00\xff garbage", b"[1, 2, 3]"])
def test_damaged_database_is_restored_from_backup_and_kept(tmp_path, damage):
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    kept = store.create_draft(BRIEF, "guardado", "p", "n", "Ana")
    store.backup()
    store.close()
    (folder / "history.json").write_bytes(damage)
    if damage == b"":
        (folder / "history.json").write_bytes(b"  ")
    reopened = HistoryStore(folder)
    assert reopened.recovery is not None
    assert reopened.recovery.damaged_file.read_bytes() in (damage, b"  ")
    assert "restored from the backup" in reopened.recovery.message()
    assert reopened.get(kept).copy_versions[0].text == "guardado"
    reopened.close()


def test_backups_rotate(tmp_path):
    folder = tmp_path / "history"
    for _ in range(3):
        HistoryStore(folder, backups_kept=2).close()
    assert len(list((folder / "backups").glob("history-*.json"))) == 2


def test_damaged_database_without_backup_starts_empty_with_warning(tmp_path):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text("{broken")
    store = HistoryStore(folder)
    assert store.recovery and store.recovery.restored_from is None
    assert store.list_drafts() == []
    assert (folder / store.recovery.damaged_file.name).read_text() == "{broken"


def test_migrates_a_version_0_file_after_a_backup(tmp_path):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text((FIXTURES / "history_v0.json").read_text())
    store = HistoryStore(folder)
    first = store.get("20250301-101500-0a1b2c3d")
    assert first.created_by == "Marina" and first.state == "draft"
    assert first.copy_versions[0].text == "Bom dia com café! Peça já o seu."
    assert first.image_versions[0].seed == 42
    assert store.get("20250302-090000-1a2b3c4d").image_versions == ()
    oldest = sorted((folder / "backups").glob("history-*.json"))[0]
    assert "posts" in json.loads(oldest.read_text())  # the version-0 file was backed up before migrating
    data = json.loads((folder / "history.json").read_text())
    assert data["meta"]["1"]["schema_version"] == SCHEMA_VERSION
    store.close()
