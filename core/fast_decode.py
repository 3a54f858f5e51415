"""Batch-1 decoding on CUDA with a static KV cache and the one-token forward replayed as a CUDA graph.

At batch 1 a 4-bit 8B model spends most of each token launching kernels, not reading weights: replaying the
whole forward as one captured graph removes that overhead. Anything this cannot handle (CPU, capture failure)
leaves the caller on the ordinary `generate` path.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import torch
from transformers import StaticCache

log = logging.getLogger(__name__)

DEFAULT_MAX_LEN = 2048  # prompt plus answer; the KV cache is allocated once at this length
# Prompts are right-padded to the next bucket and prefilled by a captured graph of that length. Padding after
# the prompt is exact: the causal mask keeps real tokens from seeing it, and decoding overwrites its cache slots.
PREFILL_BUCKETS = (64, 128, 256, 512, 1024)


class GraphDecoder:
    """Owns a static KV cache and a captured decode step for one model. Use from one thread at a time."""

    def __init__(self, model, max_len: int = DEFAULT_MAX_LEN, compile_step: bool = False):
        self.model = model
        self.compile_step = compile_step
        self.device = model.device
        self.max_len = max_len
        self.cache = StaticCache(config=model.config, max_cache_len=max_len)
        self.token = torch.zeros((1, 1), dtype=torch.long, device=self.device)
        self.position = torch.zeros((), dtype=torch.long, device=self.device)
        self.slots = torch.arange(max_len, device=self.device)
        self.logits: torch.Tensor | None = None
        self.graph: torch.cuda.CUDAGraph | None = None
        self.lock = threading.Lock()
        self.buckets = [b for b in PREFILL_BUCKETS if b < max_len]
        self.prompt = {b: torch.zeros((1, b), dtype=torch.long, device=self.device) for b in self.buckets}
        self.prompt_mask = {b: (self.slots.view(1, -1) <= torch.arange(b, device=self.device).view(-1, 1))
                            .view(1, 1, b, max_len) for b in self.buckets}
        self.prompt_length = torch.zeros((), dtype=torch.long, device=self.device)
        self.last_index = torch.zeros((1,), dtype=torch.long, device=self.device)
        self.prefill_graphs: dict[int, torch.cuda.CUDAGraph] = {}

    @classmethod
    def try_build(cls, model, max_len: int = DEFAULT_MAX_LEN,
                  compile_step: bool | None = None) -> "GraphDecoder | None":
        """A warmed-up decoder, or None where graphs do not apply (no CUDA) or capture fails.

        compile_step fuses the step's small kernels with torch.compile before capture; by default on GPUs of
        compute capability 8.0 and newer, where it pays for its one-off compile time (a minute or two at load).
        """
        if model.device.type != "cuda":
            return None
        if compile_step is None:
            compile_step = torch.cuda.get_device_capability(model.device)[0] >= 8
        try:
            decoder = cls(model, max_len, compile_step)
            decoder.warm_up()
            return decoder
        except Exception as error:  # any failure keeps the plain generate path, which always works
            log.warning("CUDA graph decoding unavailable, using generate: %s: %s", type(error).__name__, error)
            return None

    def _reset(self) -> None:
        for layer in self.cache.layers:
            if getattr(layer, "is_initialized", False):
                layer.cumulative_length.zero_()

    def _step(self) -> None:
        # the mask is computed on the device from the position, so nothing in the step reads back to the host
        mask = (self.slots <= self.position).view(1, 1, 1, self.max_len)
        out = self.model(input_ids=self.token, attention_mask=mask, position_ids=self.position.view(1, 1),
                         past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        self.logits.copy_(out.logits[:, -1, :])
        self.position.add_(1)

    def _bucket_prefill(self, bucket: int) -> None:
        self._reset()  # write the prompt from slot 0
        out = self.model(input_ids=self.prompt[bucket], attention_mask=self.prompt_mask[bucket],
                         position_ids=self.slots[:bucket].view(1, -1), past_key_values=self.cache, use_cache=True,
                         logits_to_keep=self.last_index)
        self.logits.copy_(out.logits[:, -1, :])
        for layer in self.cache.layers:  # the cache now holds the prompt's length, not the bucket's
            layer.cumulative_length.copy_(self.prompt_length)
        self.position.copy_(self.prompt_length)

    @torch.inference_mode()
    def warm_up(self) -> None:
        """Run each step eagerly once, then capture decoding and the prefill buckets as CUDA graphs; the decode
        step is compiled first where asked (a minute or two at load)."""
        prompt = torch.zeros((1, 8), dtype=torch.long, device=self.device)
        step = torch.compile(self._step, dynamic=False) if self.compile_step else self._step
        self._prefill(prompt)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # the first call compiles, where asked
                step()
            for bucket in self.buckets:
                self._load_prompt(prompt)
                self._bucket_prefill(bucket)
        torch.cuda.current_stream().wait_stream(stream)
        self._reset()
        self._prefill(prompt)
        pool = torch.cuda.graph_pool_handle()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=pool):
            step()
        self.graph = graph
        for bucket in reversed(self.buckets):  # largest first, so the shared pool is sized once
            self._load_prompt(prompt)
            prefill = torch.cuda.CUDAGraph()
            with torch.cuda.graph(prefill, pool=pool):
                self._bucket_prefill(bucket)
            self.prefill_graphs[bucket] = prefill
        self._reset()

    def _load_prompt(self, input_ids: torch.Tensor) -> int | None:
        """Copy a prompt into its bucket's buffer; returns the bucket, or None if the prompt fits none."""
        length = input_ids.shape[1]
        bucket = next((b for b in self.buckets if b >= length), None)
        if bucket is None:
            return None
        self.prompt[bucket].zero_()
        self.prompt[bucket][:, :length].copy_(input_ids)
        self.prompt_length.fill_(length)
        self.last_index.fill_(length - 1)
        return bucket

    def _prefill(self, input_ids: torch.Tensor) -> torch.Tensor:
        bucket = self._load_prompt(input_ids) if self.logits is not None else None
        if bucket is not None:
            graph = self.prefill_graphs.get(bucket)
            if graph is not None:
                graph.replay()
            else:  # not captured (CPU): the same padded prefill, run eagerly
                self._bucket_prefill(bucket)
            return self.logits
        # the first call (which sizes the logits buffer) and prompts longer than every bucket
        length = input_ids.shape[1]
        self._reset()
        out = self.model(input_ids=input_ids, past_key_values=self.cache, use_cache=True, logits_to_keep=1,
                         position_ids=torch.arange(length, device=self.device).unsqueeze(0))
        if self.logits is None:
            self.logits = torch.empty_like(out.logits[:, -1, :], dtype=torch.float32)
        self.position.fill_(length)
        return out.logits[:, -1, :].float()

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, max_new_tokens: int, stop_ids: list[int], temperature: float,
                 top_p: float, repetition_penalty: float = 1.0,
                 generator: torch.Generator | None = None) -> Iterator[int]:
        """Yield new token ids one by one until a stop id or max_new_tokens; closing the iterator stops it."""
        length = input_ids.shape[1]
        if length + max_new_tokens > self.max_len:
            max_new_tokens = self.max_len - length
        if max_new_tokens <= 0:
            return
        with self.lock:
            if self.logits is None:
                self._prefill(input_ids[:, :1].to(self.device))  # sizes the logits buffer once
            logits = self._prefill(input_ids.to(self.device)).clone()
            seen = input_ids.to(self.device).view(-1)
            for index in range(max_new_tokens):
                token = _sample(logits, seen, temperature, top_p, repetition_penalty, generator)
                value = int(token)
                if value in stop_ids:
                    return
                yield value
                if index == max_new_tokens - 1:
                    return
                if repetition_penalty != 1.0:
                    seen = torch.cat([seen, token.view(1)])
                self.token.copy_(token.view(1, 1))
                if self.graph is not None:
                    self.graph.replay()
                else:  # not captured (CPU): the same step, run eagerly
                    self._step()
                logits = self.logits


def _sample(logits: torch.Tensor, seen: torch.Tensor, temperature: float, top_p: float, repetition_penalty: float,
            generator: torch.Generator | None) -> torch.Tensor:
    logits = logits.view(-1)
    if repetition_penalty != 1.0:
        scores = logits.gather(0, seen)
        logits = logits.scatter(0, seen, torch.where(scores < 0, scores * repetition_penalty,
                                                     scores / repetition_penalty))
    if temperature <= 0:
        return logits.argmax()
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(0) - sorted_probs < top_p
        sorted_probs = sorted_probs * keep
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return order[choice].view(())
    return torch.multinomial(probs, 1, generator=generator).view(())
