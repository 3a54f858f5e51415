"""Typed errors raised by the engine; every user-facing failure is one of these, with a code and parameters."""
from __future__ import annotations

from core.messages import Message, render


class CoreError(Exception):
    """Base of every error the engine raises on purpose. code and params say what happened (core/messages.py
    words them in each language); str() is the English text, for logs and the command line."""

    code = "generation_failed"

    def __init__(self, code: str | None = None, **params):
        self.code = code or type(self).code
        self.params = params
        super().__init__(render(self.code, params, "en"))

    @property
    def message(self) -> Message:
        return Message(self.code, self.params)

    @classmethod
    def from_message(cls, message: Message) -> "CoreError":
        """The error saying message: its code and parameters."""
        return cls(message.code, **message.params)

    def text(self, language: str) -> str:
        """The error worded in language (pt-BR, en or es)."""
        return render(self.code, self.params, language)


class FieldError(CoreError, ValueError):
    """A named field holds a value the engine will not accept; field and value are kept for the faces."""

    def __init__(self, field: str, value: object, code: str, **params):
        self.field = field
        self.value = value
        super().__init__(code, field=field, value=value, **params)


class BriefError(FieldError):
    """A brief field holds a value the engine will not accept."""

    def __init__(self, field: str, value: object, code: str, **params):
        super().__init__(field, value, code, **params)
        self.problems: list[BriefError] = [self]  # every bad field, where a brief had several

    @classmethod
    def combined(cls, problems: list["BriefError"]) -> "BriefError":
        """One error reporting every bad field at once; field, value and code are the first one's."""
        first = problems[0]
        error = cls(first.field, first.value, first.code, **_own(first.params))
        error.problems = list(problems)
        error.args = ("; ".join(str(problem) for problem in problems),)
        return error

    def text(self, language: str) -> str:
        return "; ".join(render(problem.code, problem.params, language) for problem in self.problems)


class Problems:
    """The bad fields found while validating a form, so it hears of all of them at once: check(step) runs one
    field's check and keeps its BriefErrors; add() keeps one found directly; raise_all() raises them combined."""

    def __init__(self):
        self.found: list[BriefError] = []

    def check(self, step) -> None:
        try:
            step()
        except BriefError as problem:
            self.found.extend(problem.problems)

    def add(self, problem: BriefError) -> None:
        self.found.extend(problem.problems)

    def raise_all(self, kind: type[BriefError]) -> None:
        if self.found:
            raise kind.combined(self.found)


class SettingsError(FieldError):
    """A generation setting (steps, size, seed, ...) is out of its bounds."""


class ProfileError(CoreError):
    """A profile name, model location or device cannot be used."""

    code = "configuration"

    def __init__(self, detail: str):
        super().__init__(detail=detail)


class ModelLoadError(CoreError):
    """A model could not be loaded from the hub or a local folder."""

    code = "model_load_failed"

    @classmethod
    def from_error(cls, source: str, error: Exception) -> "ModelLoadError":
        """The failure to fetch or load source, telling a gated model (a licence to accept, a token to give) apart."""
        gated = "gated" in str(error).lower() or "401" in str(error) or "403" in str(error)
        return cls("model_gated" if gated else "model_load_failed", model=source,
                   detail=f"{type(error).__name__}: {str(error)[:300]}")


class GenerationError(CoreError):
    """Text or image generation failed after it started."""


def _own(params: dict) -> dict:
    return {name: value for name, value in params.items() if name not in ("field", "value")}
