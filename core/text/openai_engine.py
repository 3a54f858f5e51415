"""The OpenAI-compatible text engine: copy from a model server (Ollama, vLLM, llama.cpp's server, `transformers
serve`, or a hosted API) through the official openai client, streamed, with explicit timeouts and never a silent
retry of a half-streamed answer. Every failure is a Message with the server's address, worded by each face."""
from __future__ import annotations

import re

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import openai

from core.errors import GenerationError, ModelLoadError
from core.messages import Message
from core.text.engine import SamplingSettings, TextEngine

T = TypeVar("T")


@dataclass(frozen=True)
class ServerSpec:
    """Where the model server is and which of its models writes the copy."""

    base_url: str  # e.g. http://localhost:11434/v1 (Ollama), http://localhost:8000/v1 (vLLM)
    model: str
    api_key: str | None = field(default=None, repr=False)  # never shown or logged
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 120.0  # the longest wait for the next streamed piece (a cold server loads its model)
    temperature: float = 0.7  # used when a request sets none
    concurrency: int = 4  # drafts sent to the server at once; a batching server serves them together


class OpenAIEngine(TextEngine):
    """Chat completions from a server speaking the OpenAI API. Holds no GPU weights, so parking is a no-op."""

    def __init__(self, spec: ServerSpec):
        self.spec = spec
        self.name = f"{spec.model} @ {spec.base_url}"
        self.client = openai.OpenAI(base_url=spec.base_url, api_key=spec.api_key or "not-needed", max_retries=0,
                                    timeout=openai.Timeout(spec.read_timeout_s, connect=spec.connect_timeout_s))

    def check(self) -> None:
        """Reach the server and, where it lists its models, find ours; a ModelLoadError says what is wrong."""
        try:
            offered = [m.id for m in self._reaching(self.client.models.list)]
        except openai.APIStatusError as error:
            if error.status_code in (401, 403):
                raise ModelLoadError.from_message(self._explain(error)) from None
            return  # a server that cannot list its models may still serve them: the first request will tell
        except openai.APIError as error:
            raise ModelLoadError.from_message(self._explain(error)) from None
        if offered and self.spec.model not in offered:
            raise ModelLoadError("no_such_model", url=self.spec.base_url, value=self.spec.model,
                                 allowed=", ".join(offered[:20]))

    def stream(self, messages: list[dict], max_new_tokens: int,
               sampling: SamplingSettings = SamplingSettings(), prefill: str = "") -> Iterator[str]:
        """Yield the server's answer as it streams. Servers cannot be handed the start of an answer, so a prefill
        is yielded first and dropped from the answer where the model writes it again. Closing the iterator closes
        the HTTP stream, which stops generation on the server."""
        temperature = self.spec.temperature if sampling.temperature is None else sampling.temperature
        extra = {"seed": sampling.seed} if sampling.seed is not None else {}
        try:
            response = self._reaching(lambda: self.client.chat.completions.create(
                model=self.spec.model, messages=messages, stream=True, max_tokens=max_new_tokens,
                temperature=temperature, top_p=sampling.top_p, **extra))
        except openai.APIError as error:
            raise GenerationError.from_message(self._explain(error)) from None
        if prefill:
            yield prefill
        pending = prefill  # what the model may repeat of the prefill, not yet passed on
        received = 0
        try:
            for chunk in response:
                if not chunk.choices:
                    continue
                piece = chunk.choices[0].delta.content or ""
                if pending:
                    piece, pending = _drop_repeat(piece, pending)
                if piece:
                    received += len(piece)
                    yield piece
        except Exception as error:  # the server died or the connection dropped mid-answer: it was reached
            cause = error.__cause__ if isinstance(error, openai.APIConnectionError) and error.__cause__ else error
            detail = self._redacted(f"{type(cause).__name__}: {str(cause)[:200]}")
            if received:
                raise GenerationError("server_stopped_after", detail=detail, received=received) from None
            raise GenerationError("server_stopped", detail=detail) from None
        finally:
            response.close()

    @staticmethod
    def _reaching(request: Callable[[], T]) -> T:
        """request(), and once more on a fresh connection when the first try never reached the server. A kept-alive
        connection that the server closed meanwhile (uvicorn closes one after answering an error, and after 5 s
        idle; a tunnel drops idle ones) fails with a reset before any answer, so nothing was streamed yet and
        nothing is repeated. A time-out is not retried: the server was reached and is slow."""
        try:
            return request()
        except openai.APITimeoutError:
            raise
        except openai.APIConnectionError:
            return request()

    def _explain(self, error: openai.APIError) -> Message:
        """What went wrong, for the team; the API key is never in it, whatever the server echoed."""
        message = self._explained(error)
        return Message(message.code, {name: self._redacted(value) if isinstance(value, str) else value
                                      for name, value in message.params.items()})

    def _redacted(self, text: str) -> str:
        """text with the API key, any bearer token and anything shaped like a key hidden."""
        key = self.spec.api_key or ""
        if len(key) >= 4:
            text = text.replace(key, KEY_HIDDEN)
        text = re.sub(r"(?i)\b(bearer|token|api[_-]?key|authorization)([\s\"':=]+)[^\s\"',}]+", rf"\1\2{KEY_HIDDEN}",
                      text)
        return re.sub(r"\bsk-[A-Za-z0-9_\-]{6,}", KEY_HIDDEN, text)

    def _explained(self, error: openai.APIError) -> Message:
        url = self.spec.base_url
        if isinstance(error, openai.APITimeoutError):
            return Message("server_timeout", {"url": url, "seconds": f"{self.spec.read_timeout_s:g}"})
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return Message("server_unreachable", {"url": url, "cause": str(cause)[:200] or type(cause).__name__})
        if isinstance(error, openai.APIStatusError):
            if error.status_code in (401, 403):
                return Message("server_refused_key", {"url": url, "status": error.status_code})
            detail = _detail(error)
            if error.status_code in (400, 404) and "model" in detail.lower():
                return Message("server_lacks_model", {"url": url, "value": self.spec.model, "detail": detail})
            return Message("server_http_error", {"url": url, "status": error.status_code, "detail": detail})
        return Message("server_error", {"url": url, "detail": f"{type(error).__name__}: {str(error)[:200]}"})


KEY_HIDDEN = "[key hidden]"


def _detail(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        body = body.get("detail") or body.get("message") or body.get("error") or body
    if isinstance(body, dict):
        body = body.get("message") or body
    return str(body)[:300]


def _drop_repeat(piece: str, pending: str) -> tuple[str, str]:
    """(what to pass on of piece, what of the prefill may still be repeated) while the model's answer opens with
    the prefill again."""
    stripped = piece.lstrip() if len(pending) == len(pending.lstrip()) else piece
    if pending.startswith(stripped):
        return "", pending[len(stripped):]
    if stripped.startswith(pending):
        return stripped[len(pending):], ""
    return piece, ""
