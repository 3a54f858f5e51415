import csv
import io
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
from core.studio import storage
from core.studio.records import RecordError
from core.studio.storage import SCHEMA_VERSION, StoreError, shard_of
from core.image.engine import RenderedImage
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
    with pytest.raises(HistoryError, match="cannot move to approved"):
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
    folder = f"cafe-serra-azul-{draft_id[-8:]}"  # named by the product, and still unique
    assert {f"{folder}/copy.md", f"{folder}/image-v1.png", "manifest.json", "manifest.csv"} <= names
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest[0]["seed"] == 7 and manifest[0]["prompt"] == "a cup of coffee, morning light"
    assert "Café bom. Peça já!" in archive.read(f"{folder}/copy.md").decode()
    table = archive.read("manifest.csv")
    assert table.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads the accents as UTF-8
    rows = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig")), delimiter=";"))  # pt-BR Excel's separator
    assert rows[0]["produto"] == "Café Serra Azul" and rows[0]["semente"] == "7"  # headed for a manager
    assert rows[0]["estado"] == "rascunho" and rows[0]["favorita"] == "não" and rows[0]["orientação"] == "7"
    english = zipfile.ZipFile(BytesIO(export_zip(store, [draft_id], "en"))).read("manifest.csv").decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(english)))
    assert row["seed"] == "7" and row["state"] == "draft" and row["guidance"] == "7"


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
    assert not list(folder.rglob(".*.tmp")), "start-up clears temp files a killed writer left"
    store.close()


def shard_file(store, draft_id) -> Path:
    return store.files.shard_path(shard_of(draft_id))


@pytest.mark.parametrize("damage", [b"", b'{"drafts": {"1": {"id": "x"', b"\x00\xff garbage", b"[1, 2, 3]", None])
def test_a_damaged_shard_loses_no_acknowledged_write(tmp_path, damage, monkeypatch):
    monkeypatch.setattr(storage, "SNAPSHOT_EVERY_WRITES", 7)  # so a snapshot and a journal both take part
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    kept = store.create_draft(BRIEF, "guardado", "p", "n", "Ana")
    acknowledged = 0
    for i in range(23):
        store.add_comment(kept, f"comentário {i}", "Bia")
        acknowledged += 1
    assert list(folder.glob(f"backups/{shard_of(kept):03d}-*.json")), "a snapshot was taken"
    store.close()
    path = shard_file(store, kept)
    if damage is None:
        path.unlink()  # the shard file gone altogether
    else:
        path.write_bytes(damage)
    reopened = HistoryStore(folder)
    draft = reopened.get(kept)
    print(f"damaged shard ({damage!r}): acknowledged {acknowledged + 1}, found "
          f"{1 + len(draft.comments)}")
    assert draft.copy.text == "guardado" and [c.text for c in draft.comments] == [
        f"comentário {i}" for i in range(acknowledged)]
    assert reopened.recovery is not None and "none lost" in reopened.recovery.message()
    if damage is not None:
        assert reopened.recovery.damaged_file.read_bytes() == damage  # kept for inspection


def test_a_torn_journal_line_is_not_replayed(tmp_path):
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    kept = store.create_draft(BRIEF, "guardado", "p", "n", "Ana")
    store.add_comment(kept, "ok", "Bia")
    journal = store.files.journal_path(shard_of(kept))
    with open(journal, "ab") as handle:
        handle.write(b'{"id": "' + kept.encode() + b'", "brief": {"prod')  # a write killed half way
    shard_file(store, kept).write_bytes(b"\x00")
    reopened = HistoryStore(folder)
    assert [c.text for c in reopened.get(kept).comments] == ["ok"]


def test_snapshots_rotate(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "SNAPSHOT_EVERY_WRITES", 3)
    store = HistoryStore(tmp_path / "history")
    draft_id = store.create_draft(BRIEF, "c", "p", "n", "Ana")
    for i in range(20):
        store.add_comment(draft_id, f"{i}", "Ana")
    snapshots = list((tmp_path / "history" / "backups").glob(f"{shard_of(draft_id):03d}-*.json"))
    assert len(snapshots) == storage.SNAPSHOTS_KEPT
    assert all(s.stat().st_size > 0 for s in snapshots)


LEGACY_V1 = {"drafts": {"1": {"id": "20250401-120000-00aa11bb", "created_at": "2025-04-01T12:00:00+00:00",
                              "created_by": "Rita", "updated_at": "2025-04-01T12:00:00+00:00",
                              "brief": {"product": "Bolo de fubá", "content_type": "x", "language": "pt-BR"},
                              "state": "in_review", "archived": False,
                              "copy_versions": [{"n": 1, "text": "Bolo quentinho.", "author": "Rita",
                                                 "at": "2025-04-01T12:00:00+00:00", "source": "model"}],
                              "prompt_versions": [{"n": 1, "prompt": "a corn cake", "negative_prompt": "",
                                                   "author": "Rita", "at": "2025-04-01T12:00:00+00:00",
                                                   "source": "model"}],
                              "image_versions": [], "state_history": [], "comments": []}}}


def test_migrates_a_version_1_file_and_keeps_it(tmp_path):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text(json.dumps({**LEGACY_V1, "meta": {"1": {"schema_version": 1}}}))
    store = HistoryStore(folder)
    draft = store.get("20250401-120000-00aa11bb")
    assert draft.state == "in_review" and draft.copy.text == "Bolo quentinho."
    assert not (folder / "history.json").exists()
    [kept] = (folder / "backups").glob("history-*-before-sharding.json")
    assert json.loads(kept.read_text())["drafts"]["1"]["created_by"] == "Rita"
    assert json.loads((folder / "meta.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert store.read_only is None


@pytest.mark.parametrize("content", [json.dumps(LEGACY_V1), json.dumps({"_default": {}}), "{broken",
                                     json.dumps({"meta": {"1": {"schema_version": 9}}, "drafts": {}})])
def test_an_unrecognised_file_is_kept_untouched_and_the_store_is_read_only(tmp_path, content):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text(content)
    store = HistoryStore(folder)
    assert store.read_only is not None and "history.json" in str(store.read_only)
    assert store.read_only.code == "unrecognised"
    with pytest.raises(StoreError, match="read-only"):
        store.create_draft(BRIEF, "c", "p", "n", "Ana")
    assert store.list_drafts() == []
    assert (folder / "history.json").read_text() == content  # nothing migrated, moved or deleted
    assert not (folder / "meta.json").exists()


def test_a_newer_layout_is_left_alone(tmp_path):
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    draft_id = store.create_draft(BRIEF, "c", "p", "n", "Ana")
    (folder / "meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    newer = HistoryStore(folder)
    assert newer.read_only and "meta.json" in str(newer.read_only)
    assert newer.get(draft_id).copy.text == "c"  # still readable
    with pytest.raises(StoreError):
        newer.add_comment(draft_id, "x", "Ana")


def test_a_malformed_record_is_skipped_and_named(tmp_path):
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    good = store.create_draft(BRIEF, "bom", "p", "n", "Ana")
    bad = store.create_draft(BRIEF, "ruim", "p", "n", "Ana")
    document = store.files.documents(shard_of(bad))[bad]
    with store.files.locked():
        store.files.write({**document, "copy_versions": "não é uma lista"}, "damage a record")
    missing = {k: v for k, v in document.items() if k != "brief"}
    other = "20250101-000000-0000beef"
    with store.files.locked():
        store.files.write({**missing, "id": other}, "damage a record")
    assert [d.id for d in HistoryStore(folder).list_drafts()] == [good]
    reader = HistoryStore(folder)
    reader.list_drafts()
    assert {(e.draft_id, e.field) for e in reader.skipped} == {(bad, "copy_versions"), (other, "brief")}
    with pytest.raises(RecordError, match="copy_versions"):
        reader.get(bad)


WRITERS = """
import sys
from core.content.brief import Brief
from core.errors import CoreError
from core.studio.history import HistoryStore
store = HistoryStore(sys.argv[1])
for i in range(int(sys.argv[3])):
    try:
        draft_id = store.create_draft(Brief(product=f"{sys.argv[2]}-{i}"), "c", "p", "n", "writer")
        store.add_comment(draft_id, f"{sys.argv[2]}-{i}", "writer")
        print("ack", draft_id, flush=True)
    except CoreError as error:
        print("refused", error, flush=True)
"""


def test_four_processes_share_one_folder_and_lose_nothing(tmp_path):
    folder = tmp_path / "history"
    HistoryStore(folder)  # the folder exists before the writers race
    writers = [subprocess.Popen([sys.executable, "-c", WRITERS, str(folder), f"w{n}", "200"], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parents[1],
                                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
               for n in range(4)]
    outputs = [w.communicate(timeout=600) for w in writers]
    acknowledged = [line.split()[1] for out, _ in outputs for line in out.splitlines() if line.startswith("ack")]
    refused = [line for out, _ in outputs for line in out.splitlines() if line.startswith("refused")]
    assert all(w.returncode == 0 for w in writers), [err[-2000:] for _, err in outputs]
    store = HistoryStore(folder)
    found = {d.id: d for d in store.list_drafts()}
    print(f"4 processes: attempted 800, acknowledged {len(acknowledged)}, found {len(found)}, refused {len(refused)}")
    assert not refused and len(acknowledged) == 800 == len(set(acknowledged))
    assert set(acknowledged) <= set(found)
    assert all(len(found[i].comments) == 1 for i in acknowledged)


def test_two_store_objects_in_one_process_never_collide(tmp_path):
    first, second = HistoryStore(tmp_path / "h"), HistoryStore(tmp_path / "h")
    ids = [store.create_draft(BRIEF, f"c{i}", "p", "n", "Ana") for i in range(30) for store in (first, second)]
    assert len(set(ids)) == 60
    assert {d.id for d in first.list_drafts()} == set(ids) == {d.id for d in second.list_drafts()}


def test_migrates_a_version_0_file_and_keeps_it(tmp_path):
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "history.json").write_text((FIXTURES / "history_v0.json").read_text())
    store = HistoryStore(folder)
    first = store.get("20250301-101500-0a1b2c3d")
    assert first.created_by == "Marina" and first.state == "draft"
    assert first.copy_versions[0].text == "Bom dia com café! Peça já o seu."
    assert first.image_versions[0].seed == 42
    assert store.get("20250302-090000-1a2b3c4d").image_versions == ()
    [kept] = (folder / "backups").glob("history-*-before-sharding.json")
    assert "posts" in json.loads(kept.read_text())  # the version-0 file is kept as it was
    assert json.loads((folder / "meta.json").read_text())["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("change", ["copy", "prompt", "image"])
def test_an_approved_draft_goes_back_to_review_when_its_content_changes(store, change):
    draft_id = store.create_draft(BRIEF, "Café bom. Peça já!", "a cup of coffee", "blurry", "Ana")
    store.set_state(draft_id, "in_review", "Ana")
    store.set_state(draft_id, "approved", "Caio")
    store.add_comment(draft_id, "Aprovado, pode publicar", "Caio")
    assert store.get(draft_id).state == "approved"  # a comment changes no content
    if change == "copy":
        store.add_copy_version(draft_id, "Café ótimo. Peça já!", "Bia")
    elif change == "prompt":
        store.add_prompt_version(draft_id, "a latte, top view", "", "Bia")
    else:
        store.add_image_version(draft_id, rendered(3), "Bia")
    draft = store.get(draft_id)
    assert draft.state == "in_review"
    last = draft.state_history[-1]
    assert (last.from_state, last.to_state, last.author, last.event) == (
        "approved", "in_review", "Bia", "changed_after_approval")


def test_an_edit_of_an_older_version_or_an_empty_copy_is_refused_and_nothing_is_buried(store):
    draft_id = store.create_draft(BRIEF, "v1", "p", "n", "Ana")
    assert store.add_copy_version(draft_id, "v2 da Bia", "Bia", base=1) == 2
    with pytest.raises(HistoryError) as moved:
        store.add_copy_version(draft_id, "v2 da Ana", "Ana", base=1)  # Ana's page still showed v1
    said = moved.value.text("pt-BR")
    assert moved.value.code == "draft_moved_on" and "versão 1" in said and "Bia salvou a versão 2" in said
    assert store.add_copy_version(draft_id, "v3 da Ana", "Ana", base=2) == 3  # after reopening: on top of Bia's
    with pytest.raises(HistoryError) as empty:
        store.add_copy_version(draft_id, "  \n ", "Ana", base=3)
    assert empty.value.text("pt-BR") == "Texto: preencha este campo"
    with pytest.raises(HistoryError):
        store.add_prompt_version(draft_id, "new prompt", "n", "Ana", base=7)
    assert [v.text for v in store.get(draft_id).copy_versions] == ["v1", "v2 da Bia", "v3 da Ana"]
