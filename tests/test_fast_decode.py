"""The CUDA-graph decoding path's logic, run eagerly on CPU against transformers' own generate."""
import torch

from core.fast_decode import GraphDecoder
from core.text_generation import SamplingSettings, TextModel

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
