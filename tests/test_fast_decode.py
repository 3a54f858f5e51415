"""The CUDA-graph decoding path's logic, run eagerly on CPU against transformers' own generate."""
import dataclasses

import pytest
import torch

from core.text.fast_decode import GraphDecoder, grouped_decode_attention, pick_token
from core.text.fused_projections import fuse_projections
from core.text.int4_weights import (Int4Linear, compile_dequantize, int4_layers, quantize_groups, quantize_to_int4,
                                    use_compiled_dequantize)
from core.text.engine import SamplingSettings
from core.text.local import TextModel, load_text_model

PROMPT = [{"role": "user", "content": "Escreva sobre café."}]


def prompt_ids(model):
    return model.tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt",
                                               return_dict=True)["input_ids"]


def test_cpu_takes_the_generate_fallback(tiny_text):
    assert GraphDecoder.try_build(tiny_text.model) is None
    assert tiny_text.fast is None


def greedy_with_dynamic_cache(model, ids, n):
    """Reference: the plain forward with transformers' dynamic cache, one token at a time."""
    out = model(ids, use_cache=True)
    tokens = [out.logits[0, -1].argmax()]
    for _ in range(n - 1):
        out = model(tokens[-1].view(1, 1), past_key_values=out.past_key_values, use_cache=True)
        tokens.append(out.logits[0, -1].argmax())
    return [int(t) for t in tokens]


def test_static_cache_step_matches_the_dynamic_cache_greedy(tiny_text):
    ids = prompt_ids(tiny_text)
    expected = greedy_with_dynamic_cache(tiny_text.model, ids, 20)
    decoder = GraphDecoder(tiny_text.model, max_len=128)
    got = list(decoder.generate(ids, 20, stop_ids=[], temperature=0, top_p=1.0))
    assert got == expected
    # a second request reuses the cache from position zero and gives the same answer
    assert list(decoder.generate(ids, 20, stop_ids=[], temperature=0, top_p=1.0)) == expected


def test_seeded_sampling_repeats_and_stop_ids_end_the_answer(tiny_text):
    ids = prompt_ids(tiny_text)
    decoder = GraphDecoder(tiny_text.model, max_len=128)
    run = lambda seed: list(decoder.generate(ids, 15, [], 0.8, 0.9, 1.1, generator=torch.Generator().manual_seed(seed)))
    first = run(1)
    assert first == run(1) and len(first) == 15
    stop = first[3]
    stopped = list(decoder.generate(ids, 15, [stop], 0.8, 0.9, 1.1, generator=torch.Generator().manual_seed(1)))
    assert stop not in stopped and stopped == first[:first.index(stop)]


def test_text_model_streams_through_the_graph_path(tiny_text):
    fast = TextModel(tiny_text.model, tiny_text.tokenizer, tiny_text.spec, GraphDecoder(tiny_text.model, 256))
    pieces = list(fast.stream(PROMPT, 12, SamplingSettings(temperature=0)))
    plain = tiny_text.complete(PROMPT, 12, SamplingSettings(temperature=0))
    assert "".join(pieces) == plain
    assert list(fast.stream(PROMPT, 4, SamplingSettings(seed=3), prefill="PROMPT:"))[0] == "PROMPT:"


def test_prompt_longer_than_the_cache_yields_nothing(tiny_text):
    decoder = GraphDecoder(tiny_text.model, max_len=16)
    assert list(decoder.generate(torch.ones((1, 20), dtype=torch.long), 5, [], 0, 1.0)) == []


def test_fused_projections_compute_what_the_separate_ones_did(tiny_profile, tiny_text):
    separate = load_text_model(dataclasses.replace(tiny_profile.text, fuse_projections=False, graph_decode=False),
                               "cpu").model
    assert hasattr(separate.model.layers[0].self_attn, "q_proj")
    ids = torch.randint(0, 200, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(separate(ids).logits, tiny_text.model(ids).logits)


def test_grouped_decode_attention_matches_sdpa():
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class Attention(torch.nn.Module):
        num_key_value_groups = 4
        is_causal = True

    g = torch.Generator().manual_seed(0)
    query = torch.randn((1, 8, 1, 16), generator=g)
    key, value = torch.randn((2, 1, 2, 40, 16), generator=g)
    mask = (torch.arange(40) <= 27).view(1, 1, 1, 40)
    for attention_mask in (mask, None, torch.zeros((1, 1, 1, 40)).masked_fill(~mask, float("-inf"))):
        got, _ = grouped_decode_attention(Attention(), query, key, value, attention_mask, scaling=0.25)
        expected, _ = sdpa_attention_forward(Attention(), query, key, value, attention_mask, scaling=0.25)
        assert got.shape == expected.shape == (1, 1, 8, 16)
        torch.testing.assert_close(got, expected)


def test_sampler_keeps_the_nucleus_and_draws_in_proportion():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits, seen, one = probs.log(), torch.zeros(4, dtype=torch.bool), torch.tensor(1.0)
    g = torch.Generator().manual_seed(0)
    draws = [int(pick_token(logits, seen, one, one, torch.tensor(0.7), torch.empty(4).exponential_(generator=g)))
             for _ in range(3000)]
    # the nucleus at 0.7 is the first two tokens, drawn 0.5 : 0.3
    assert set(draws) == {0, 1}
    assert abs(draws.count(0) / len(draws) - 0.625) < 0.03
    # noise of ones is greedy; a repetition penalty on the favourite hands the win to the next one
    assert int(pick_token(logits, seen, one, one, one, torch.ones(4))) == 0
    penalised = torch.tensor([True, False, False, False])
    assert int(pick_token(logits, penalised, torch.tensor(3.0), one, one, torch.ones(4))) == 1


def test_int4_weights_follow_the_plain_weights(tiny_profile, tiny_text):
    plain = load_text_model(dataclasses.replace(tiny_profile.text, quantize_4bit=False, graph_decode=False),
                            "cpu").model
    ids = torch.randint(0, 200, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = plain(ids).logits
        nf4 = tiny_text.model(ids).logits
        fuse_projections(plain)
        assert quantize_to_int4(plain, "cpu") == 2 * 4  # qkv, o, gate_up and down in each of two layers
        layer = plain.model.layers[0]
        assert all(isinstance(m, Int4Linear) for m in (layer.self_attn.qkv_proj, layer.mlp.down_proj))
        got = plain(ids).logits
    # as close to the plain weights' answer as the NF4 weights are (random tiny weights: both about 10% off)
    assert (got - expected).norm() < 1.25 * (nf4 - expected).norm()


def test_int4_layer_computes_its_dequantized_weights():
    linear = torch.nn.Linear(128, 16, bias=False)
    codes, scale, zero = quantize_groups(linear.weight)
    weights = ((codes.view(16, 2, 64) - 8) * scale.view(16, 2, 1).bfloat16().float()
               + zero.view(16, 2, 1).bfloat16().float()).view(16, 128)
    assert (weights - linear.weight).abs().max() <= scale.max() / 2 + 1e-2  # rounded to the nearest code
    x = torch.randn((3, 128))
    with torch.inference_mode():
        torch.testing.assert_close(Int4Linear.from_linear(linear, "cpu")(x), x.bfloat16().float() @ weights.T,
                                   rtol=2e-2, atol=2e-2)
    with pytest.raises(ValueError, match="multiples of 64"):
        Int4Linear.from_linear(torch.nn.Linear(100, 16), "cpu")


def test_int4_prompts_switch_to_the_compiled_dequantizing_once_it_is_built(tiny_profile, tiny_text):
    """A server serving before it compiles dequantizes prompts eagerly; compile_dequantize turns every layer over
    to the compiled kernels (built only on CUDA) and the answer stays the same."""
    model = load_text_model(dataclasses.replace(tiny_profile.text, quantize_4bit=False, graph_decode=False),
                            "cpu").model
    fuse_projections(model)
    quantize_to_int4(model, "cpu")
    use_compiled_dequantize(model, False)
    layers = int4_layers(model)
    assert len(layers) == 8 and not any(layer.compiled_dequantize for layer in layers)
    ids = torch.randint(0, 200, (1, 16), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        eager = model(ids).logits
        assert compile_dequantize(model) == 4  # one kernel per weight shape: qkv, o, gate_up, down
        assert all(layer.compiled_dequantize for layer in layers)
        assert torch.equal(model(ids).logits, eager)
