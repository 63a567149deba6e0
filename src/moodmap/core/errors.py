"""Typed errors: each names the file it is about and says what is wrong, in one line.

Raise them where the problem is known; catch them only where something can be
done about it (skip-and-report in batch jobs, exit code 2 in the CLI).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from os import PathLike

# Around a parameter's name inside a reason (private-use characters: a value quoted with !r shows them escaped).
_OPEN, _CLOSE = "\ue000", "\ue001"
_PARAMETER = re.compile(f"{_OPEN}(\\w+){_CLOSE}")


def one_line(text: object) -> str:
    """``text`` on one line: every run of white space (line breaks too) one space — the house rule for messages."""
    return " ".join(str(text).split())


def parameter(name: str) -> str:
    """The parameter ``name`` (as the Python and HTTP APIs call it: ``sort``, ``mood_tag``) inside an
    error's reason. The library speaks in those terms; each front end writes them in its own — the
    HTTP API as the field (``mood_tag``), the command line as its option (``--mood-tag``)."""
    return f"{_OPEN}{name}{_CLOSE}"


def as_fields(text: str) -> str:
    """``text`` with its parameters as the APIs name them."""
    return _PARAMETER.sub(r"\1", text)


def as_options(text: str) -> str:
    """``text`` with its parameters as the command line's options."""
    return _PARAMETER.sub(lambda m: "--" + m.group(1).replace("_", "-"), text)


class MoodmapError(Exception):
    """Base of every error moodmap raises on purpose. ``str()`` says it in the APIs' terms;
    ``for_command_line()`` names the parameters as the command's options."""

    def __init__(self, path: str | PathLike | None, reason: str) -> None:
        self.path = None if path is None else str(path)
        self.template = reason
        self.reason = as_fields(reason)
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)

    def for_command_line(self) -> str:
        """The one line a command prints (without ``moodmap: ``)."""
        reason = as_options(self.template)
        return f"{self.path}: {reason}" if self.path else reason

    def __reduce__(self):
        """Rebuild from (path, reason), so the error crosses process boundaries intact."""
        return type(self), (self.path, self.template)


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


class TooLongError(MoodmapError):
    """The audio runs past what the work asked of it may decode (a server's timeline budget)."""


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


class Interrupted(MoodmapError):
    """Ctrl-C stopped a resumable job: what finished is saved, and the same command resumes it."""


class TagWriteError(MoodmapError):
    """Mood tags could not be written into a file, or restored in it."""


class WorkerCrashed(MoodmapError):
    """The worker process handling a file died every time the file was tried."""


class UnexpectedError(MoodmapError):
    """An error moodmap did not foresee, met on one file of a batch: a fault in moodmap, not in
    the file. Reported as an internal error, never fatal to the batch, never held against the file."""


@dataclass(frozen=True)
class Failure:
    """A file a batch job (scan, prepare, predict, tagging) could not process: reported and
    skipped, never fatal. The one shape every such report takes.

    ``error`` names the error type (an AudioError subclass, TagWriteError, WorkerCrashed,
    UnexpectedError); ``reason`` says what is wrong in one line; ``song_id`` is the data
    set's id of the song, when the file is one (``prepare``)."""

    path: str
    error: str
    reason: str
    song_id: str | None = None

    @classmethod
    def of(cls, path: str | PathLike, exc: BaseException, song_id: str | None = None) -> Failure:
        """The record of ``exc`` met on ``path``: moodmap's errors by type and reason, any
        other exception as an UnexpectedError naming it."""
        if not isinstance(exc, MoodmapError):
            exc = UnexpectedError(path, f"{type(exc).__name__}: {exc}")
        return cls(str(path), type(exc).__name__, exc.reason, song_id)

    @property
    def internal(self) -> bool:
        """Whether moodmap itself failed here (a bug, not the file's fault): such a failure is
        reported, never recorded against the file, so that the next run tries it again."""
        return self.error == UnexpectedError.__name__


def debugging() -> bool:
    """Whether an internal error should show its traceback instead of one line (``--debug`` or
    ``MOODMAP_DEBUG=1``; workers inherit it with the environment)."""
    return os.environ.get("MOODMAP_DEBUG", "") not in ("", "0")


def crashed(path: str | PathLike, reason: str, song_id: str | None = None) -> Failure:
    """The record of a file whose worker process died every time it was tried."""
    return Failure.of(path, WorkerCrashed(path, reason), song_id)
