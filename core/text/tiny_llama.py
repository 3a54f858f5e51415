"""A two-layer Llama 3-style instruct model with random weights, built and saved locally for the tests."""
from __future__ import annotations

from pathlib import Path

import torch

LLAMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
LLAMA3_SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


def build_llama3_style_tokenizer():
    """A small byte-level BPE tokenizer with Llama 3's special tokens and chat template, trained offline on the
    studio's own prompt wording in all three languages."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from core.content import prompts

    corpus = [text for table in prompts.CHANNEL.values() for text in table.values()] + list(prompts.SYSTEM.values())
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=LLAMA3_SPECIAL,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                   pad_token="<|end_of_text|>", chat_template=LLAMA3_CHAT_TEMPLATE)


def build_tiny_llama(folder: Path, seed: int = 0) -> None:
    """A two-layer Llama with a Llama 3 chat template and end-of-turn token, saved with save_pretrained."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    tokenizer = build_llama3_style_tokenizer()
    tokenizer.save_pretrained(folder)
    # the model, with the same end-of-turn ids as Llama 3 Instruct's generation config
    vocab = tokenizer.get_vocab()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         bos_token_id=vocab["<|begin_of_text|>"], eos_token_id=vocab["<|eot_id|>"])
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(bos_token_id=config.bos_token_id,
                                               eos_token_id=[vocab["<|end_of_text|>"], vocab["<|eot_id|>"]])
    model.save_pretrained(folder)
