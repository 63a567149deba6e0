"""The sha256 of a file, read in blocks: how models, downloads and indexes name exact bytes."""
from __future__ import annotations

import hashlib
from os import PathLike


def sha256(path: str | PathLike) -> str:
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
