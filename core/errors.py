"""Typed errors raised by the engine; every user-facing failure is one of these."""


class CoreError(Exception):
    """Base of every error the engine raises on purpose; its message is fit to show a user."""


class BriefError(CoreError, ValueError):
    """A brief field holds a value the engine will not accept."""

    def __init__(self, field: str, value: object, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        self.problems: list["BriefError"] = [self]  # every bad field, where a brief had several
        super().__init__(f"{field} {reason} (got {_shown(value)})")

    @classmethod
    def combined(cls, problems: list["BriefError"]) -> "BriefError":
        """One error reporting every bad field at once; field, value and reason are the first one's."""
        first = problems[0]
        error = cls(first.field, first.value, first.reason)
        error.problems = list(problems)
        error.args = ("; ".join(str(problem) for problem in problems),)
        return error


class SettingsError(CoreError, ValueError):
    """A generation setting (steps, size, seed, ...) is out of its bounds."""

    def __init__(self, field: str, value: object, reason: str):
        self.field = field
        self.value = value
        super().__init__(f"{field} {reason} (got {_shown(value)})")


class ProfileError(CoreError):
    """A profile name, model location or device cannot be used."""


class ModelLoadError(CoreError):
    """A model could not be loaded from the hub or a local folder."""


class GenerationError(CoreError):
    """Text or image generation failed after it started."""


def _shown(value: object, limit: int = 80) -> str:
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):  # cut the text, not its quotes
        return repr(value[: limit - 10]) + "…"
    return text[: limit - 1] + "…"
