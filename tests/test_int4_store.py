"""int4 weights kept on disk: a second load reads what the first stored instead of quantizing, and a damaged,
foreign or unwritable store costs a quantization, never a wrong or failed load. On the tiny Llama, on CPU."""
import dataclasses
import os
import time

import pytest
import torch
from safetensors.torch import save_file

from core.text import int4_store
from core.text.int4_store import Int4Store, StoredWeightsMismatch, fingerprint, make_int4
from core.text.int4_weights import Int4Linear, int4_layers
from core.text.local import load_text_model

IDS = torch.randint(0, 200, (1, 12), generator=torch.Generator().manual_seed(0))


@pytest.fixture
def plain(tiny_profile, tiny_text):
    """A fresh load of the tiny Llama's bf16 weights on CPU, as load_text_model reads them before int4 (tiny_text
    builds the model first)."""
    spec = dataclasses.replace(tiny_profile.text, quantize_4bit=False, graph_decode=False)
    return lambda: load_text_model(spec, "cpu", dtype=torch.bfloat16).model


@pytest.fixture
def quantized(monkeypatch):
    """How many linear layers were quantized from their bf16 weights since the test began."""
    count = []
    from_linear = Int4Linear.from_linear.__func__
    monkeypatch.setattr(Int4Linear, "from_linear",
                        classmethod(lambda cls, *args, **kwargs: count.append(1) or from_linear(cls, *args, **kwargs)))
    return count


def logits(model):
    with torch.inference_mode():
        return model(IDS).logits


def test_a_second_load_reads_the_stored_weights_and_answers_the_same(tmp_path, plain, quantized):
    store = Int4Store(tmp_path / "int4")
    first = plain()
    make_int4(first, "cpu", True, store)().join()
    assert len(quantized) == 8  # qkv, o, gate_up and down in each of the two layers
    assert list(store.folder.glob("*.safetensors")) == [store.file(fingerprint(plain(), True))]

    second = plain()
    assert make_int4(second, "cpu", True, store) is None  # nothing left to store
    assert len(quantized) == 8  # not one more layer quantized
    assert len(int4_layers(second)) == 8
    assert not any(t.is_meta for t in list(second.parameters()) + list(second.buffers()))
    assert torch.equal(logits(second), logits(first))


def test_unfused_and_fused_layers_are_stored_apart(tmp_path, plain, quantized):
    store = Int4Store(tmp_path / "int4")
    make_int4(plain(), "cpu", True, store)().join()
    separate = plain()
    make_int4(separate, "cpu", False, store)().join()
    assert hasattr(separate.model.layers[0].self_attn, "q_proj")
    assert len(list(store.folder.glob("*.safetensors"))) == 2
    assert len(quantized) == 8 + 14


def test_other_weights_never_meet_an_old_file(tmp_path, plain, quantized):
    """A fine-tune (one row of one layer changed here) gets a file of its own; only the newest KEEP stay."""
    store = Int4Store(tmp_path / "int4")
    keys = []
    for change in range(3):
        model = plain()
        with torch.no_grad():
            model.model.layers[1].mlp.down_proj.weight[-1] += change
        keys.append(fingerprint(model, True))
        make_int4(model, "cpu", True, store)().join()
        time.sleep(0.01)  # distinct modification times
    assert len(set(keys)) == 3 and len(quantized) == 3 * 8
    assert sorted(store.folder.glob("*.safetensors")) == sorted(store.file(k) for k in keys[-int4_store.KEEP:])


def test_a_damaged_file_is_quantized_over(tmp_path, plain, quantized):
    store = Int4Store(tmp_path / "int4")
    reference = plain()
    make_int4(reference, "cpu", True, store)().join()
    path = store.file(fingerprint(plain(), True))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # cut short, as a full disk once left it

    model = plain()
    store_it = make_int4(model, "cpu", True, store)
    assert store_it is not None and len(quantized) == 16
    store_it().join()
    assert torch.equal(logits(model), logits(reference))
    assert make_int4(plain(), "cpu", True, store) is None  # the rewritten file is whole again


def test_a_file_whose_layers_do_not_fit_is_removed_and_named(tmp_path, plain):
    store = Int4Store(tmp_path / "int4")
    model = plain()
    path = store.file(fingerprint(model, True))
    path.parent.mkdir(parents=True)
    save_file({"model.layers.0.self_attn.qkv_proj.codes": torch.zeros((8, 8), dtype=torch.uint8)}, path)
    with pytest.raises(StoredWeightsMismatch, match="o_proj|qkv_proj"):
        make_int4(model, "cpu", True, store)
    assert not path.exists()


def test_an_unwritable_store_costs_the_next_start_a_quantization_only(tmp_path, plain, quantized, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    store = Int4Store(blocked / "int4")
    model = plain()
    make_int4(model, "cpu", True, store)().join()
    assert "could not store the int4 weights" in caplog.text
    assert len(int4_layers(model)) == 8 and torch.isfinite(logits(model)).all()


def test_a_killed_writers_leftover_goes_once_it_is_old(tmp_path, plain):
    store = Int4Store(tmp_path / "int4")
    store.folder.mkdir()
    old, live = (store.folder / f".x.safetensors.{name}.tmp" for name in ("old", "live"))
    for path in (old, live):
        path.write_bytes(b"half")
    long_ago = time.time() - int4_store.STRAY_AFTER_S - 60
    os.utime(old, (long_ago, long_ago))
    make_int4(plain(), "cpu", True, store)().join()
    assert not old.exists() and live.exists()
