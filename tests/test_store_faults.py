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
