"""Typed errors raised by the engine; every user-facing failure is one of these."""


class CoreError(Exception):
    """Base of every error the engine raises on purpose; its message is fit to show a user."""


class BriefError(CoreError, ValueError):
    """A brief field holds a value the engine will not accept."""

    def __init__(self, field: str, value: object, reason: str):
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field} {reason} (got {_shown(value)})")


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
    return text if len(text) <= limit else text[: limit - 3] + "..."
