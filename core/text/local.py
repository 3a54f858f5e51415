"""The local text engine: loads the instruct model (4-bit where asked) and streams its answers token by token."""
from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import (AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig, StoppingCriteria,
                          StoppingCriteriaList, TextIteratorStreamer)

from core.devices import compute_dtype
from core.files import ensure_built, model_label
from core.errors import GenerationError, ModelLoadError
from core.text.fast_decode import GraphDecoder, use_grouped_decode_attention
from core.text.fused_projections import fuse_projections
from core.text.int4_store import Int4Store, StoredWeightsMismatch, make_int4
from core.text.int4_weights import compile_dequantize, int4_supported, use_compiled_dequantize
from core.memory import free_gpu_memory
from core.text.engine import SamplingSettings, TextEngine

log = logging.getLogger(__name__)

# End-of-turn markers of the chat formats we meet (Llama 3, ChatML, Gemma); whichever the vocabulary has stop generation.
END_OF_TURN_TOKENS = ("<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<end_of_turn>", "<|endoftext|>")


@dataclass(frozen=True)
class TextModelSpec:
    """Where an instruct model comes from and how to load it."""

    source: str  # a hub id or a local folder
    gguf_file: str | None = None  # a GGUF file inside source, dequantized by transformers at load
    # where the GGUF's dequantized weights and tokenizer are kept after the first load: reading the GGUF parses
    # its whole vocabulary three times (30 s on a laptop's CPU for a 135M model), the kept folder loads in 1 s
    gguf_cache: str | None = None
    quantize_4bit: bool = False  # 4-bit weights: bitsandbytes NF4 with double quantization, or see int4_kernel
    int4_kernel: bool = True  # 4-bit weights for torch's int4 kernel where int4_supported(device), in bf16
    repetition_penalty: float = 1.0  # small models loop without one
    graph_decode: bool = True  # on CUDA, replay decoding as a captured CUDA graph (falls back when it cannot)
    fuse_projections: bool = True  # 4-bit Llama layers: one matmul for q/k/v and one for gate/up
    temperature: float = 0.7  # used when a request sets none; small models need it lower
    int4_store: str | None = None  # a folder keeping int4 weights for the next start (None: quantized each time)


def load_text_model(spec: TextModelSpec, device: str, token: str | None = None,
                    dtype: torch.dtype | None = None, compile_step: bool | None = None,
                    compile_later: bool = False, store_later: bool = False) -> "TextModel":
    """Load tokenizer and model for spec onto device; raises ModelLoadError with the cause.

    dtype overrides the compute dtype chosen for the device (bf16 where native, else fp16; fp32 on CPU).
    compile_later serves at once with an uncompiled decoding step where a compiled one would be built, leaving
    that to compile_decoder() and take_decoder() (the studio runs them beside its lane). int4 weights quantized
    here are written to spec.int4_store by a thread started at once, or with store_later by store_weights()
    (a server starts it once both models are loaded, so the writing does not slow SDXL's loading)."""
    # 1. tokenizer: carries the chat template and the end-of-turn tokens
    source, extra = spec.source, {"gguf_file": spec.gguf_file} if spec.gguf_file else {}
    try:
        if spec.gguf_file and spec.gguf_cache:
            source, extra = str(ensure_built(Path(spec.gguf_cache), lambda folder: dequantize_gguf(spec, folder))), {}
        tokenizer = AutoTokenizer.from_pretrained(source, token=token, **extra)
    except (OSError, ValueError) as error:
        raise ModelLoadError.from_error(spec.source, error) from error
    # 2. model: 4-bit (torch's int4 kernel where the GPU suits it, else NF4 with double quantization), or plain
    # weights in the device's dtype. int4 weights are quantized from the bf16 ones, read into CPU memory first, or
    # read back from the store an earlier start wrote.
    dtype = dtype or compute_dtype(device)
    int4 = spec.quantize_4bit and spec.int4_kernel and dtype == torch.bfloat16 and int4_supported(device)
    if spec.quantize_4bit and not int4:
        extra["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, device_map="cpu" if int4 else device,
                                                     token=token, **extra)
    except (OSError, ValueError, ImportError, RuntimeError) as error:
        raise ModelLoadError.from_error(spec.source, error) from error
    model.eval()
    unstored = None
    if spec.quantize_4bit and spec.fuse_projections and not int4:
        fuse_projections(model)
    if int4:
        store = Int4Store(spec.int4_store) if spec.int4_store else None
        try:
            unstored = make_int4(model, device, spec.fuse_projections, store)
            model.to(device)
        except StoredWeightsMismatch as error:  # removed, so the next load quantizes afresh
            log.warning("stored int4 weights unusable, quantizing again: %s", error)
            del model
            free_gpu_memory()
            return load_text_model(spec, device, token, dtype, compile_step, compile_later, store_later)
        except (RuntimeError, ValueError) as error:  # no kernel or odd layer sizes after all: NF4 works everywhere
            log.warning("int4 kernel unavailable, loading NF4 instead: %s", error)
            del model
            free_gpu_memory()
            return load_text_model(dataclasses.replace(spec, int4_kernel=False), device, token, dtype, compile_step,
                                   compile_later, store_later)
    use_grouped_decode_attention(model)
    if compile_step is None and model.device.type == "cuda":
        compile_step = torch.cuda.get_device_capability(model.device)[0] >= 8
    later = bool(compile_later and compile_step and spec.graph_decode)
    if later:  # nothing compiled before serving: prompts dequantize eagerly until the compile beside the lane
        compile_step = False
        use_compiled_dequantize(model, False)
    fast = GraphDecoder.try_build(model, compile_step=compile_step) if spec.graph_decode else None
    engine = TextModel(model, tokenizer, spec, fast, compile_step)
    engine.compile_later = later and fast is not None
    engine._unstored = unstored
    if not store_later:
        engine.store_weights()
    return engine


def dequantize_gguf(spec: TextModelSpec, folder: Path) -> None:
    """The GGUF's tokenizer and its weights, dequantized by transformers in float32 (exactly what a load from the
    GGUF gives), saved in folder."""
    AutoTokenizer.from_pretrained(spec.source, gguf_file=spec.gguf_file).save_pretrained(folder)
    loaded = AutoModelForCausalLM.from_pretrained(spec.source, gguf_file=spec.gguf_file, dtype=torch.float32)
    # transformers refuses to save a model it marks as GGUF-quantized, though its weights are plain float32 now:
    # the same weights go into a model of the same architecture without that mark
    config = loaded.config
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    model.save_pretrained(folder)


class TextModel(TextEngine):
    """An instruct model with its tokenizer, shared across sessions. Only the single model worker parks or
    unparks it, between jobs; nothing else changes after construction."""

    def __init__(self, model, tokenizer, spec: TextModelSpec, fast: GraphDecoder | None = None,
                 compile_step: bool | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self.fast = fast
        self.home = model.device
        self.parked = False
        self._compile_step = compile_step
        self.compile_later = False  # serving uncompiled until take_decoder() swaps the compiled step in
        self.storing_weights: threading.Thread | None = None  # writing the int4 weights for the next start
        self._unstored = None  # what starts that writing, until store_weights() does
        self._storing = threading.Lock()
        self.name = model_label(spec.source) if not spec.gguf_file else spec.gguf_file
        self.stop_token_ids = _stop_token_ids(model, tokenizer)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def store_weights(self) -> threading.Thread | None:
        """Start writing the int4 weights this load quantized, for the next start, once; the writing thread (the
        same one on a later call), or None when there was nothing to write."""
        with self._storing:
            if self._unstored is not None:
                self.storing_weights, self._unstored = self._unstored(), None
            return self.storing_weights

    def park(self) -> bool:
        """Move the weights to CPU memory so the image models can have the GPU; the next request brings them
        back. Returns whether anything moved (nothing does on CPU)."""
        if self.home.type != "cuda" or self.parked:
            return False
        self.fast = None  # its CUDA graphs point at the weights about to move
        self.model.to("cpu")
        free_gpu_memory()
        self.parked = True
        return True

    def unpark(self) -> None:
        """Bring parked weights back to the GPU and re-capture the decoding graphs (about a second uncompiled)."""
        if not self.parked:
            return
        self.model.to(self.home)
        self.parked = False
        if self.spec.graph_decode:
            self.fast = GraphDecoder.try_build(self.model, compile_step=self._compile_step)

    # -- the compiled decoding step, built beside the lane once the model serves ---------------------------
    @property
    def compile_pending(self) -> bool:
        """Whether this model serves with an uncompiled decoding step that compile_decoder() could replace."""
        return self.compile_later and self.fast is not None and not self.parked

    def compile_decoder(self) -> GraphDecoder | None:
        """Off the model's lane (the minutes): the prompts' dequantizing kernels compiled and turned on (the lane's
        own prompts use them from then on), then the decoding step compiled and run once; None where the step
        fails, which keeps the current decoder serving."""
        try:
            compile_dequantize(self.model)
        except Exception as error:  # noqa: BLE001 - the eager dequantizing goes on serving the prompts
            log.warning("compiling the int4 dequantizing kernels failed: %s: %s", type(error).__name__, error)
        return GraphDecoder.try_prepare(self.model)

    def take_decoder(self, decoder: GraphDecoder) -> bool:
        """On the model's lane, between two jobs: capture the compiled decoder's graphs and serve with it from the
        next request on; False leaves the current decoder serving (the weights moved meanwhile, or capture
        failed)."""
        if self.parked or decoder.model is not self.model or not decoder.try_capture():
            return False
        self.fast = decoder
        self._compile_step = True  # an unpark rebuilds the compiled one (from the in-process compile cache)
        self.compile_later = False
        return True

    def stream(self, messages: list[dict], max_new_tokens: int,
               sampling: SamplingSettings = SamplingSettings(), prefill: str = "") -> Iterator[str]:
        """Yield the answer to a chat as text pieces while the model writes it.

        prefill starts the answer for the model (and is yielded first), which keeps models to a format.
        Closing the iterator early stops generation at the next token.
        """
        self.unpark()
        # 1. apply the chat template, so each model sees its own turn markers
        if prefill:
            messages = [*messages, {"role": "assistant", "content": prefill}]
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=not prefill,
                                                    continue_final_message=bool(prefill), return_tensors="pt",
                                                    return_dict=True).to(self.device)
        temperature = self.spec.temperature if sampling.temperature is None else sampling.temperature
        if self.fast is not None:
            yield from self._stream_graph(inputs["input_ids"], max_new_tokens, temperature, sampling, prefill)
            return
        # 2. generate on a worker thread; the streamer hands decoded text back to this one
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()
        failure: list[BaseException] = []
        kwargs = dict(
            **inputs, streamer=streamer, max_new_tokens=max_new_tokens, eos_token_id=self.stop_token_ids,
            pad_token_id=self.tokenizer.pad_token_id or self.stop_token_ids[0],
            do_sample=temperature > 0, repetition_penalty=self.spec.repetition_penalty,
            stopping_criteria=StoppingCriteriaList([_Cancelled(cancelled)]),
        )
        if temperature > 0:
            kwargs.update(temperature=temperature, top_p=sampling.top_p)

        def work():
            try:
                if sampling.seed is not None:
                    torch.manual_seed(sampling.seed)
                with torch.inference_mode():
                    self.model.generate(**kwargs)
            except BaseException as error:  # handed to the reading thread below
                failure.append(error)
                streamer.end()

        worker = threading.Thread(target=work, name="text-generation", daemon=True)
        worker.start()
        # 3. pass the text on; stop the worker if our reader goes away
        try:
            if prefill:
                yield prefill
            yield from streamer
        finally:
            cancelled.set()
            worker.join()
        if failure:
            error = failure[0]
            if isinstance(error, torch.OutOfMemoryError):
                raise error
            raise GenerationError(action="text generation", detail=f"{type(error).__name__}: {error}") from error

    def _stream_graph(self, input_ids, max_new_tokens: int, temperature: float, sampling: SamplingSettings,
                      prefill: str) -> Iterator[str]:
        """The CUDA-graph path: same contract as the generate path, decoded text yielded as it grows."""
        generator = None
        if sampling.seed is not None:
            generator = torch.Generator(self.device).manual_seed(sampling.seed)
        if prefill:
            yield prefill
        ids: list[int] = []
        shown = ""
        try:
            for token in self.fast.generate(input_ids, max_new_tokens, self.stop_token_ids, temperature,
                                            sampling.top_p, self.spec.repetition_penalty, generator=generator):
                ids.append(token)
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                if len(text) > len(shown) and not text.endswith("\ufffd"):  # wait for whole characters
                    yield text[len(shown):]
                    shown = text
        except torch.OutOfMemoryError:
            raise
        except RuntimeError as error:
            raise GenerationError(action="text generation", detail=f"{type(error).__name__}: {error}") from error
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        if len(text) > len(shown):
            yield text[len(shown):]

    def count_tokens(self, text: str) -> int:
        """How many tokens this model's tokenizer makes of text."""
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)


class _Cancelled(StoppingCriteria):
    def __init__(self, event: threading.Event):
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def _stop_token_ids(model, tokenizer) -> list[int]:
    ids: list[int] = []
    configured = model.generation_config.eos_token_id
    for value in (configured if isinstance(configured, list) else [configured]) + [tokenizer.eos_token_id]:
        if value is not None and value not in ids:
            ids.append(value)
    vocab = tokenizer.get_vocab()
    ids += [vocab[t] for t in END_OF_TURN_TOKENS if t in vocab and vocab[t] not in ids]
    if not ids:
        raise ModelLoadError(model="(text)", detail="it defines no end-of-sequence token, so generation could "
                                                               "never stop")
    return ids
