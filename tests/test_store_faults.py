"""The history on a full disk: a clear error, nothing half-written, every acknowledged draft still there, and
writing again once space is freed. The disk is a small tmpfs in a mount namespace of its own (or, where namespaces
are not allowed, a file-size limit, which fails writes the same way)."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]

FILL = """
import json, sys
from pathlib import Path
from PIL import Image
from core.content.brief import Brief
from core.image.settings import ImageSettings
from core.image.engine import RenderedImage
from core.studio.history import HistoryStore
from core.studio.storage import StoreError

folder = Path(sys.argv[1])
store = HistoryStore(folder / "history")
acknowledged, error = [], None
for i in range(10_000):
    try:
        acknowledged.append(store.create_draft(Brief(product=f"Produto {i}"), "x" * 9000, "p", "n", "Ana"))
    except StoreError as refused:
        error = refused
        break
picture = RenderedImage(Image.effect_noise((512, 512), 90).convert("RGB"), 1, "p", "n", ImageSettings(seed=1),
                        ["m"], True)
try:
    store.add_image_version(acknowledged[0], picture, "Ana")
    image_error = None
except StoreError as refused:
    image_error = refused
leftovers = [str(p) for p in (folder / "history").rglob("*.tmp")] + [
    str(p) for p in (folder / "history").rglob("*") if p.is_file() and p.stat().st_size == 0
    and not p.name.endswith(".journal") and p.name != ".lock"]
reopened = HistoryStore(folder / "history")  # start-up on a full disk
found = {d.id for d in reopened.list_drafts()}
images = list((folder / "history" / "images").glob("*.png"))
for victim in sorted((folder / "history" / "drafts").glob("*.json"))[:3]:  # free some space: delete three shards'
    shard = int(victim.stem)                                              # drafts the way a user would
    for draft_id in list(reopened.files.documents(shard)):
        acknowledged.remove(draft_id) if draft_id in acknowledged else None
    victim.unlink()
    reopened.files.journal_path(shard).unlink(missing_ok=True)
    for snapshot in (folder / "history" / "backups").glob(f"{shard:02d}-*.json"):
        snapshot.unlink()
after = HistoryStore(folder / "history")
again = after.create_draft(Brief(product="depois"), "cabe", "p", "n", "Ana")
print(json.dumps({"acknowledged": len(acknowledged), "code": error and error.code, "message": str(error),
                  "image_code": image_error and image_error.code, "leftovers": leftovers,
                  "missing": sorted(set(acknowledged) - found - set()), "images": len(images),
                  "again": after.get(again).copy.text, "still_there": all(
                      after.get(i).copy.text == "x" * 9000 for i in acknowledged)}))
"""


def run_on_small_disk(tmp_path) -> dict:
    disk = tmp_path / "disk"
    disk.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if shutil.which("unshare") and subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1536k tmpfs "$1" && exec "$2" -c "$3" "$1"',
                   "sh", str(disk), sys.executable, FILL]
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    else:
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
        done = subprocess.run([sys.executable, "-c", FILL, str(disk)], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=600, preexec_fn=limit)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_full_disk_refuses_clearly_and_loses_nothing(tmp_path):
    result = run_on_small_disk(tmp_path)
    print({k: v for k, v in result.items() if k != "message"})
    assert result["code"] == "disk_full" and "not enough disk space" in result["message"]
    assert "history" in result["message"]  # the folder is named
    assert result["acknowledged"] > 5
    assert result["missing"] == [] and result["still_there"]
    assert result["leftovers"] == []  # no temp files, no empty backups
    assert result["image_code"] == "disk_full" and result["images"] == 0  # no half PNG, no record of one
    assert result["again"] == "cabe"  # space freed: writing works again


@pytest.mark.parametrize("writes_after_snapshot", [0, 1, 2])
def test_a_shard_deleted_at_any_moment_after_a_snapshot_is_rebuilt_with_a_true_warning(tmp_path, monkeypatch,
                                                                                          writes_after_snapshot):
    from core.content.brief import Brief
    from core.studio import storage
    from core.studio.history import HistoryStore
    from core.studio.storage import shard_of
    monkeypatch.setattr(storage, "SNAPSHOT_EVERY_WRITES", 10)
    folder = tmp_path / "history"
    store = HistoryStore(folder)
    kept = store.create_draft(Brief(product="Café Serra Azul"), "guardado", "p", "n", "Ana")
    for i in range(19 + writes_after_snapshot):  # the 20th write snapshots the shard and empties its journal
        store.add_comment(kept, f"comentário {i}", "Bia")
    shard = shard_of(kept)
    assert store.files.journal_path(shard).read_bytes().count(b"\n") == (0 if not writes_after_snapshot else
                                                                         1 + 2 * writes_after_snapshot)
    store.files.shard_path(shard).unlink()  # deleted by hand, by a sync client, by a cleaner
    reopened = HistoryStore(folder)
    assert [d.id for d in reopened.list_drafts()] == [kept]
    assert len(reopened.get(kept).comments) == 19 + writes_after_snapshot
    reopened.add_comment(kept, "depois", "Ana")  # and it goes on taking writes
    recovery = reopened.recovery
    assert recovery is not None and recovery.damaged_file is None and "had vanished" in recovery.message()
    assert not list(folder.glob("drafts/*.damaged-*"))  # no warning names a file that was never written


KILLED_FIRST_WRITE = """
import os, signal, sys
from core.content.brief import Brief
from core.studio import storage
from core.studio.history import HistoryStore
store = HistoryStore(sys.argv[1])
def killed(self, data):  # the process dies after the journal line, before the shard is written
    os.kill(os.getpid(), signal.SIGKILL)
storage.AtomicJSONStorage.write = killed
store.create_draft(Brief(product="Nunca salvo"), "x", "p", "n", "Ana")
"""


def test_a_writer_killed_in_its_first_write_to_a_new_shard_restores_nothing_and_warns_of_nothing(tmp_path):
    folder = tmp_path / "history"
    from core.studio.history import HistoryStore
    HistoryStore(folder).close()
    done = subprocess.run([sys.executable, "-c", KILLED_FIRST_WRITE, str(folder)], cwd=ROOT, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert any(p.read_bytes() for p in folder.glob("drafts/*.journal"))  # its journal line is on disk
    reopened = HistoryStore(folder)
    assert reopened.list_drafts() == []  # the caller never heard it was saved: it is not "restored"
    assert reopened.recovery is None and not list(folder.glob("drafts/*.damaged-*"))
    from core.content.brief import Brief
    saved = reopened.create_draft(Brief(product="Depois"), "y", "p", "n", "Ana")
    assert [d.id for d in HistoryStore(folder).list_drafts()] == [saved]
