"""A digest of a file's audio payload, leaving its tags out: proof that a tag write touched no audio.

mp3: the frames between the ID3v2 header and any trailing ID3v1/APE tag. flac: all that
follows the metadata blocks. ogg (vorbis/opus/flac): the packets after the two header
packets. m4a/mp4: the ``mdat`` atoms. wav/aiff: the sample data chunk. Anything else:
the decoded samples.
"""
from __future__ import annotations

import hashlib
import struct
from pathlib import Path


def audio_digest(path: str | Path, suffix: str | None = None) -> str:
    """sha1 of the audio payload of ``path`` (tags excluded); ``suffix`` names the format when
    the file's own name does not (a temporary copy)."""
    path = Path(path)
    data = path.read_bytes()
    suffix = (suffix or path.suffix).lower()
    if suffix == ".mp3":
        payload = _mp3_frames(data)
    elif suffix == ".flac":
        payload = _flac_frames(data)
    elif suffix in (".ogg", ".oga", ".opus"):
        payload = b"".join(_ogg_packets(data)[2:])
    elif suffix in (".m4a", ".mp4", ".aac", ".m4b"):
        payload = b"".join(_mp4_atoms(data, b"mdat"))
    elif suffix in (".wav", ".aif", ".aiff"):
        payload = _chunk(data, b"data" if suffix == ".wav" else b"SSND")
    else:
        payload = _decoded(path)
    return hashlib.sha1(payload).hexdigest()


def _mp3_frames(data: bytes) -> bytes:
    start = 0
    while data[start:start + 3] == b"ID3":
        size = _syncsafe(data[start + 6:start + 10])
        footer = 10 if data[start + 5] & 0x10 else 0
        start += 10 + size + footer
    end = len(data)
    if data[end - 128:end - 125] == b"TAG":
        end -= 128
    if data[end - 32:end - 24] == b"APETAGEX":
        size = struct.unpack("<I", data[end - 20:end - 16])[0]
        end -= size + (32 if data[end - 32 - size:end - 24 - size] == b"APETAGEX" else 0)
    return data[start:end]


def _syncsafe(four: bytes) -> int:
    return (four[0] << 21) | (four[1] << 14) | (four[2] << 7) | four[3]


def _flac_frames(data: bytes) -> bytes:
    position = 4  # "fLaC"
    while position + 4 <= len(data):
        header = data[position]
        length = int.from_bytes(data[position + 1:position + 4], "big")
        position += 4 + length
        if header & 0x80:  # last metadata block
            break
    return data[position:]


def _ogg_packets(data: bytes) -> list[bytes]:
    """Packets of the first logical stream, reassembled from Ogg pages."""
    packets, current, position, serial = [], bytearray(), 0, None
    while position + 27 <= len(data) and data[position:position + 4] == b"OggS":
        page_serial = struct.unpack("<I", data[position + 14:position + 18])[0]
        segments = data[position + 26]
        table = data[position + 27:position + 27 + segments]
        body = position + 27 + segments
        if serial is None:
            serial = page_serial
        for lacing in table:
            if page_serial == serial:
                current += data[body:body + lacing]
                if lacing < 255:
                    packets.append(bytes(current))
                    current = bytearray()
            body += lacing
        position = body
    return packets


def _mp4_atoms(data: bytes, name: bytes) -> list[bytes]:
    found, position = [], 0
    while position + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[position:position + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[position + 8:position + 16])[0], 16
        elif size == 0:
            size = len(data) - position
        if kind == name:
            found.append(data[position + header:position + size])
        if size < header:
            break
        position += size
    return found


def _chunk(data: bytes, name: bytes) -> bytes:
    position = 12
    big_endian = data[:4] == b"FORM"
    while position + 8 <= len(data):
        kind = data[position:position + 4]
        size = struct.unpack(">I" if big_endian else "<I", data[position + 4:position + 8])[0]
        if kind == name:
            return data[position + 8:position + 8 + size]
        position += 8 + size + (size & 1)
    return data


def _decoded(path: Path) -> bytes:
    from .audio import load_audio

    return load_audio(path, normalize=False).tobytes()
