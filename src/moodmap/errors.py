"""Typed errors: each names the file it is about and says what is wrong, in one line.

Raise them where the problem is known; catch them only where something can be
done about it (skip-and-report in batch jobs, exit code 2 in the CLI).
"""
from __future__ import annotations

from os import PathLike


class MoodmapError(Exception):
    """Base of every error moodmap raises on purpose."""

    def __init__(self, path: str | PathLike | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)

    def __reduce__(self):
        """Rebuild from (path, reason), so the error crosses process boundaries intact."""
        return type(self), (self.path, self.reason)


class AudioError(MoodmapError):
    """A file could not be turned into usable audio."""


class MissingFileError(AudioError):
    """The file does not exist."""


class UnreadableFileError(AudioError):
    """The file exists but cannot be opened (permissions, a directory, …)."""


class EmptyFileError(AudioError):
    """The file has zero bytes."""


class DecodeError(AudioError):
    """Neither decoder understands the file: corrupt, or not audio at all."""


class TruncatedAudioError(AudioError):
    """The file holds less audio than its header promises."""


class InvalidSamplesError(AudioError):
    """The decoded samples contain NaN or infinity."""


class SilentAudioError(AudioError):
    """The audio is silent: nothing to normalise, nothing to hear."""


class TooShortError(AudioError):
    """The audio is shorter than the excerpt policy accepts."""


class DatasetError(MoodmapError):
    """A data set's files are missing or malformed."""


class CacheError(MoodmapError):
    """A feature cache is missing, incomplete or built with another config."""


class ConfigError(MoodmapError):
    """A configuration value or file is invalid."""


class ModelError(MoodmapError):
    """A model file is missing, corrupt or incompatible."""


class CancelledError(MoodmapError):
    """Work stopped on purpose before it finished (the client that asked for it has gone)."""
