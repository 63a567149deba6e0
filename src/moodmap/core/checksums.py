"""What names a file's bytes: its sha256, read in blocks (how models, downloads and indexes
name exact bytes), and a quick content fingerprint (how the library index recognises a moved
or retagged file without reading all of it)."""
from __future__ import annotations

import hashlib
import os
from os import PathLike

FINGERPRINT_BYTES = 1 << 16


def sha256(path: str | PathLike) -> str:
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(path: str | PathLike, size: int) -> str:
    """A content fingerprint: size plus the first and last 64 KiB (recognises a moved file)."""
    digest = hashlib.sha1(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BYTES))
        if size > 2 * FINGERPRINT_BYTES:
            handle.seek(-FINGERPRINT_BYTES, os.SEEK_END)
            digest.update(handle.read(FINGERPRINT_BYTES))
    return digest.hexdigest()
