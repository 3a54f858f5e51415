"""Batch-1 decoding on CUDA with a static KV cache and the one-token forward replayed as a CUDA graph.

At batch 1 a 4-bit 8B model spends most of each token launching kernels, not reading weights: replaying the
whole forward, and the sampling of the next token, as one captured graph removes that overhead. Anything this
cannot handle (CPU, capture failure) leaves the caller on the ordinary `generate` path.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import torch
from transformers import AttentionInterface, StaticCache
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

from core.devices import GraphCapture, generator_kept_through_capture

log = logging.getLogger(__name__)

GROUPED_ATTENTION = "sdpa_grouped_decode"

DEFAULT_MAX_LEN = 2048  # prompt plus answer; the KV cache is allocated once at this length
# Prompts are right-padded to the next bucket and prefilled by a captured graph of that length. Padding after
# the prompt is exact: the causal mask keeps real tokens from seeing it, and decoding overwrites its cache slots.
PREFILL_BUCKETS = (64, 128, 256, 512, 1024)


class GraphDecoder:
    """Owns a static KV cache and a captured decode step for one model. Use from one thread at a time.

    The captured step runs the forward for the last token and samples the next one on the device (repetition
    penalty, temperature, nucleus, then an exponential race that equals drawing from the kept probabilities), so
    the host only reads the token back, while the GPU is already computing the one after it.
    """

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
        self._step_forward = self._forward  # compiled by prepare() where asked
        # sampling state read by the captured step: set per request, noise drawn per token
        self.temperature = torch.ones((), device=self.device)
        self.top_p = torch.ones((), device=self.device)
        self.penalty = torch.ones((), device=self.device)
        self.noise: torch.Tensor | None = None
        self.seen: torch.Tensor | None = None
        on_gpu = self.device.type == "cuda"
        self.host_token = torch.zeros((), dtype=torch.long, pin_memory=on_gpu)
        self.copied = torch.cuda.Event() if on_gpu else None

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
            with generator_kept_through_capture(model.device):
                decoder = cls(model, max_len, compile_step)
                decoder.warm_up()
            return decoder
        except Exception as error:  # any failure keeps the plain generate path, which always works
            log.warning("CUDA graph decoding unavailable, using generate: %s: %s", type(error).__name__, error)
            return None

    @classmethod
    def try_prepare(cls, model, max_len: int = DEFAULT_MAX_LEN) -> "GraphDecoder | None":
        """A decoder with its step compiled and run once but nothing captured yet (see prepare()), for a thread
        beside the model's lane; None where that fails, which leaves the model's current decoder in place."""
        if model.device.type != "cuda":
            return None
        try:
            decoder = cls(model, max_len, compile_step=True)
            decoder.prepare()
            return decoder
        except Exception as error:  # the plain decoder goes on serving
            log.warning("compiling the decoding step failed: %s: %s", type(error).__name__, error, exc_info=True)
            return None

    def try_capture(self) -> bool:
        """capture(), on the model's lane; False (and the GPU's random generator put back) where it fails."""
        try:
            with generator_kept_through_capture(self.device):
                self.capture()
            return True
        except Exception as error:
            log.warning("capturing the compiled decoding step failed: %s: %s", type(error).__name__, error,
                        exc_info=True)
            return False

    def _reset(self) -> None:
        for layer in self.cache.layers:
            if getattr(layer, "is_initialized", False):
                layer.cumulative_length.zero_()

    def _forward(self) -> None:
        # the mask is computed on the device from the position, so nothing in the step reads back to the host
        mask = (self.slots <= self.position).view(1, 1, 1, self.max_len)
        out = self.model(input_ids=self.token, attention_mask=mask, position_ids=self.position.view(1, 1),
                         past_key_values=self.cache, use_cache=True, logits_to_keep=1)
        self.logits.copy_(out.logits[:, -1, :])
        self.position.add_(1)

    def _choose(self) -> None:
        """Sample the next token from self.logits into self.token, on the device."""
        token = pick_token(self.logits.view(-1), self.seen, self.penalty, self.temperature, self.top_p, self.noise)
        self.token.copy_(token.view(1, 1))
        self.seen.index_fill_(0, token, True)

    def _bucket_prefill(self, bucket: int) -> None:
        self._reset()  # write the prompt from slot 0
        out = self.model(input_ids=self.prompt[bucket], attention_mask=self.prompt_mask[bucket],
                         position_ids=self.slots[:bucket].view(1, -1), past_key_values=self.cache, use_cache=True,
                         logits_to_keep=self.last_index)
        self.logits.copy_(out.logits[:, -1, :])
        for layer in self.cache.layers:  # the cache now holds the prompt's length, not the bucket's
            layer.cumulative_length.copy_(self.prompt_length)
        self.position.copy_(self.prompt_length)

    def warm_up(self) -> None:
        """Run each step eagerly once, then capture decoding and the prefill buckets as CUDA graphs; the decode
        forward is compiled first where asked (a minute or two at load)."""
        self.prepare()
        self.capture()

    @torch.inference_mode()
    def prepare(self) -> None:
        """Run each step once on a side stream, compiling the decode forward first where asked: the minutes of the
        warm-up. It touches this decoder's own cache and buffers only, so another thread may decode with the same
        model meanwhile (capture() may not run beside other work, so it waits for the model's own lane)."""
        prompt = torch.zeros((1, 8), dtype=torch.long, device=self.device)
        forward = torch.compile(self._forward, dynamic=False) if self.compile_step else self._forward
        self._step_forward = forward
        self._start(prompt, 1.0, 1.0, 1.0, None)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # the first call compiles, where asked
                forward()
                self._choose()
            for bucket in self.buckets:
                self._load_prompt(prompt)
                self._bucket_prefill(bucket)
                self._choose()
        torch.cuda.current_stream().wait_stream(stream)

    @torch.inference_mode()
    def capture(self) -> None:
        """Capture decoding and the prefill buckets as CUDA graphs, once prepare() has run (about a second)."""
        forward = self._step_forward
        prompt = torch.zeros((1, 8), dtype=torch.long, device=self.device)
        self._start(prompt, 1.0, 1.0, 1.0, None)
        capture = GraphCapture(self.device)  # one stream, pool and cuBLAS workspace for all of them
        graph = torch.cuda.CUDAGraph()
        with capture.graph(graph):
            forward()
            self._choose()
        self.graph = graph
        for bucket in reversed(self.buckets):  # largest first, so the shared pool is sized once
            self._load_prompt(prompt)
            prefill = torch.cuda.CUDAGraph()
            with capture.graph(prefill):
                self._bucket_prefill(bucket)
                self._choose()
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

    def _start(self, input_ids: torch.Tensor, temperature: float, top_p: float, repetition_penalty: float,
               generator: torch.Generator | None) -> None:
        """Prefill the prompt and sample the answer's first token into self.token."""
        if self.logits is None:  # the first call sizes the logits and sampling buffers
            self._reset()
            out = self.model(input_ids=input_ids[:, :1], past_key_values=self.cache, use_cache=True,
                             logits_to_keep=1)
            self.logits = torch.empty_like(out.logits[:, -1, :], dtype=torch.float32)
            self.noise = torch.ones(self.logits.shape[-1], device=self.device)
            self.seen = torch.zeros(self.logits.shape[-1], dtype=torch.bool, device=self.device)
        greedy = temperature <= 0
        self.temperature.fill_(1.0 if greedy else temperature)
        self.top_p.fill_(1.0 if greedy else top_p)
        self.penalty.fill_(repetition_penalty)
        self.seen.zero_()
        if repetition_penalty != 1.0:
            self.seen[input_ids.view(-1)] = True
        self._draw_noise(greedy, generator)
        bucket = self._load_prompt(input_ids)
        if bucket is not None and bucket in self.prefill_graphs:
            self.prefill_graphs[bucket].replay()
            return
        if bucket is not None:  # not captured (CPU): the same padded prefill, run eagerly
            self._bucket_prefill(bucket)
        else:  # longer than every bucket
            length = input_ids.shape[1]
            self._reset()
            out = self.model(input_ids=input_ids, past_key_values=self.cache, use_cache=True, logits_to_keep=1,
                             position_ids=torch.arange(length, device=self.device).unsqueeze(0))
            self.logits.copy_(out.logits[:, -1, :])
            self.position.fill_(length)
        self._choose()

    def _draw_noise(self, greedy: bool, generator: torch.Generator | None) -> None:
        if greedy:  # equal noise makes the race pick the most probable token
            self.noise.fill_(1.0)
        else:
            self.noise.exponential_(generator=generator).clamp_(min=1e-20)

    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, max_new_tokens: int, stop_ids: list[int], temperature: float,
                 top_p: float, repetition_penalty: float = 1.0,
                 generator: torch.Generator | None = None) -> Iterator[int]:
        """Yield new token ids one by one until a stop id or max_new_tokens; closing the iterator stops it.

        temperature 0 is greedy decoding; a generator makes sampling repeat for its seed.
        """
        length = input_ids.shape[1]
        if length + max_new_tokens > self.max_len:
            max_new_tokens = self.max_len - length
        if max_new_tokens <= 0:
            return
        greedy = temperature <= 0
        with self.lock:
            self._start(input_ids.to(self.device), temperature, top_p, repetition_penalty, generator)
            for index in range(max_new_tokens):
                # 1. note the token just sampled, then set the GPU on the next one before reading it back
                self.host_token.copy_(self.token.view(()), non_blocking=True)
                if self.copied is not None:
                    self.copied.record()
                if index < max_new_tokens - 1:
                    if not greedy:
                        self._draw_noise(greedy, generator)
                    if self.graph is not None:
                        self.graph.replay()
                    else:  # not captured (CPU): the same step, run eagerly
                        self._forward()
                        self._choose()
                # 2. hand the token over while the next one is computed
                if self.copied is not None:
                    self.copied.synchronize()
                value = int(self.host_token)
                if value in stop_ids:
                    return
                yield value


def pick_token(logits: torch.Tensor, seen: torch.Tensor, penalty: torch.Tensor, temperature: torch.Tensor,
               top_p: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The next token id, shape (1,), from one row of logits, with no read back to the host.

    Repetition penalty on the seen ids, then temperature, then the nucleus (the most probable tokens whose mass
    before them is under top_p); among those, the largest probability / noise wins, which with noise drawn from
    Exp(1) is a draw in proportion to the kept probabilities, and with noise of ones is greedy decoding.
    """
    logits = torch.where(seen, torch.where(logits < 0, logits * penalty, logits / penalty), logits)
    probs = torch.softmax(logits / temperature, dim=-1)
    sorted_probs, order = probs.sort(descending=True)
    kept = sorted_probs * (sorted_probs.cumsum(0) - sorted_probs < top_p)
    return order.gather(0, (kept / noise).argmax().view(1))  # indexing by a tensor would read it on the host


def grouped_decode_attention(module, query, key, value, attention_mask, scaling=None, **kwargs):
    """transformers' SDPA attention, except for one new token: its query heads are grouped by the key/value head
    they share and attend with two small matrix products, reading each cached key and value once.

    transformers copies the cache once per query head there under torch.compile, and SDPA's kernels are tuned for
    long queries; at batch 1 either costs more than reading the cache.
    """
    groups = getattr(module, "num_key_value_groups", 1)
    shared_mask = attention_mask is None or attention_mask.shape[1] == 1
    if query.shape[2] != 1 or groups == 1 or not shared_mask or kwargs.get("dropout", 0.0):
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)
    batch, heads, _, dim = query.shape
    grouped = query.reshape(batch, heads // groups, groups, dim)
    scores = torch.matmul(grouped, key.transpose(2, 3)).float() * (scaling if scaling is not None else dim ** -0.5)
    if attention_mask is not None:
        mask = attention_mask[..., -key.shape[2]:]
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    attended = torch.matmul(scores.softmax(-1).to(value.dtype), value)
    return attended.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def use_grouped_decode_attention(model) -> bool:
    """Switch a model that uses SDPA attention to grouped_decode_attention; returns whether it switched."""
    if model.config._attn_implementation != "sdpa":
        return False
    AttentionInterface.register(GROUPED_ATTENTION, grouped_decode_attention)
    AttentionMaskInterface.register(GROUPED_ATTENTION, sdpa_mask)
    model.set_attn_implementation(GROUPED_ATTENTION)
    return model.config._attn_implementation == GROUPED_ATTENTION
