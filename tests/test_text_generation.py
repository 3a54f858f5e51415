import dataclasses
from pathlib import Path

import bitsandbytes as bnb
import pytest

from core.content.brief import Brief
from core.content.copywriting import recheck, write_copy
from core.errors import ModelLoadError
from core.profiles import smollm2_gguf
from core.text.engine import SamplingSettings
from core.text.local import TextModelSpec, load_text_model
from core.content.visual_prompt import looks_english, write_visual_prompt

CHAT = [{"role": "user", "content": "Escreva uma frase sobre café."}]


def test_tiny_llama_loads_in_nf4_through_the_production_path(tiny_text, tiny_profile):
    assert tiny_profile.text.quantize_4bit
    layer = tiny_text.model.model.layers[0].self_attn.o_proj
    assert isinstance(layer, bnb.nn.Linear4bit)
    assert layer.weight.quant_type == "nf4"
    assert tiny_text.model.config.quantization_config.bnb_4bit_use_double_quant
    # q/k/v and gate/up are read as one 4-bit matrix each
    fused = tiny_text.model.model.layers[0]
    assert isinstance(fused.self_attn.qkv_proj, bnb.nn.Linear4bit)
    assert isinstance(fused.mlp.gate_up_proj, bnb.nn.Linear4bit)


def test_stops_on_llama3_end_of_turn(tiny_text):
    vocab = tiny_text.tokenizer.get_vocab()
    assert vocab["<|eot_id|>"] in tiny_text.stop_token_ids
    assert vocab["<|end_of_text|>"] in tiny_text.stop_token_ids
    prompt = tiny_text.tokenizer.apply_chat_template(CHAT, add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")


def test_streams_in_pieces_and_seed_repeats(tiny_text):
    pieces = list(tiny_text.stream(CHAT, 24, SamplingSettings(seed=3)))
    assert len(pieces) > 1
    assert "".join(pieces) == tiny_text.complete(CHAT, 24, SamplingSettings(seed=3))


def test_closing_the_stream_stops_generation(tiny_text):
    stream = tiny_text.stream(CHAT, 2000, SamplingSettings(seed=1))
    next(stream)
    stream.close()  # returns only once the generating thread has stopped


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="could not load the model"):
        load_text_model(TextModelSpec(str(tmp_path / "nothing-here")), "cpu")


def test_copy_draft_is_checked_and_repaired_once(tiny_text):
    brief = Brief(product="Café", content_type="x", call_to_action="Peça já")
    seen = []
    draft = write_copy(brief, tiny_text, on_text=seen.append, sampling=SamplingSettings(seed=0))
    assert seen and seen[-1] == draft.text
    # random weights never write the CTA: the engine asks for one rewrite, keeps the less broken of the two (junk
    # both), then reports what still fails
    assert draft.repair.startswith(("regenerated", "kept_first")) and len(draft.repair_reasons) > 0
    assert "missing_cta" in {v.code for v in draft.violations}
    assert not draft.publishable


def test_hand_edited_copy_is_rechecked_without_a_model():
    brief = Brief(product="Café", content_type="x", call_to_action="Peça já")
    assert recheck(brief, "Café fresquinho. Peça já!").publishable


def test_smollm2_writes_real_streamed_copy(smollm2):
    brief = Brief(product="Café especial Serra Azul", content_type="instagram", audience="jovens profissionais",
                  tone="divertido", keywords=("café", "manhã"), call_to_action="Peça já o seu")
    assert smollm2.spec.gguf_file == smollm2_gguf()[1]
    updates = []
    draft = write_copy(brief, smollm2, on_text=updates.append, sampling=SamplingSettings(seed=1))
    assert len(updates) > 5, "copy should arrive in many streamed pieces"
    assert len(draft.text.split()) >= 10
    assert all(v.code != "too_many_hashtags" for v in draft.violations)


@pytest.mark.slow  # a second load straight from the GGUF: half a minute
def test_the_gguf_kept_dequantized_writes_what_the_gguf_itself_writes(smollm2):
    assert (Path(smollm2.spec.gguf_cache) / ".complete").exists()  # the session's load went through the kept folder
    direct = load_text_model(dataclasses.replace(smollm2.spec, gguf_cache=None), "cpu")
    kept = load_text_model(smollm2.spec, "cpu")
    assert kept.tokenizer.apply_chat_template(CHAT, tokenize=False) == \
        direct.tokenizer.apply_chat_template(CHAT, tokenize=False)
    copies = ["".join(engine.stream(CHAT, 24, SamplingSettings(seed=2))) for engine in (direct, kept)]
    assert copies[0] and copies[0] == copies[1]


def test_smollm2_visual_prompt_is_english(smollm2):
    brief = Brief(product="Café especial Serra Azul", tone="divertido")
    visual = write_visual_prompt(brief, "Comece o dia com o Café Serra Azul! Peça já o seu.", smollm2)
    assert visual.raw_output.startswith("PROMPT:") or visual.source == "fallback"
    assert looks_english(visual.prompt.replace("Café", "Cafe"))
    assert visual.negative_prompt


@pytest.mark.gpu  # the 4-bit format follows the GPU
def test_4bit_format_follows_the_gpu(gpu_tiny_profile):
    from core.devices import compute_dtype
    from core.text.int4_weights import Int4Linear, int4_supported
    from core.profiles import load_text
    layer = load_text(gpu_tiny_profile).model.model.layers[0].self_attn.qkv_proj
    if int4_supported("cuda"):
        assert isinstance(layer, Int4Linear) and layer.codes.is_cuda and layer.tiled is not None
    else:
        assert isinstance(layer, bnb.nn.Linear4bit) and layer.compute_dtype == compute_dtype("cuda")
    nf4 = load_text_model(dataclasses.replace(gpu_tiny_profile.text, int4_kernel=False), "cuda")
    assert nf4.model.model.layers[0].self_attn.qkv_proj.compute_dtype == compute_dtype("cuda")


def test_parking_is_a_no_op_on_cpu(tiny_text):
    assert tiny_text.park() is False and not tiny_text.parked
    assert tiny_text.complete(CHAT, 4, SamplingSettings(seed=1))  # still serves


@pytest.mark.gpu  # moving 4-bit weights between devices
def test_parked_model_comes_back_and_writes(gpu_tiny_profile):
    from core.profiles import load_text
    model = load_text(gpu_tiny_profile)
    assert model.park() and model.model.device.type == "cpu" and model.fast is None
    assert model.complete(CHAT, 4, SamplingSettings(seed=1)) is not None
    assert model.model.device.type == "cuda" and not model.parked


def test_profile_chooses_the_4bit_format(model_cache):
    from core.errors import ProfileError
    from core.profiles import resolve_profile
    env = {"STUDIO_MODEL_CACHE": str(model_cache)}
    assert resolve_profile("tiny", env=env).text.int4_kernel
    nf4 = resolve_profile("tiny", env={**env, "STUDIO_TEXT_4BIT": "nf4"})
    assert not nf4.text.int4_kernel and nf4.describe()["text_4bit"] == "NF4"
    with pytest.raises(ProfileError, match="STUDIO_TEXT_4BIT.*'fp8'"):
        resolve_profile("tiny", env={**env, "STUDIO_TEXT_4BIT": "fp8"})
