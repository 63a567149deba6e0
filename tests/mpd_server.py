"""A real MPD for the tests: Debian's Music Player Daemon on a private config (never the system's
service), on a unix socket in the test folder and on 127.0.0.1 at a free port, with a null audio
output. Like most MPDs that others can reach, it wants a password for its admin commands (stickers,
config): reading, queueing and playing need none. The fixtures that start one are in conftest.py."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import free_port

HAVE_MPD = bool(shutil.which("mpd") and shutil.which("mpc"))
PASSWORD = "moodmap-test"


@dataclass
class MpdServer:
    """A running MPD: call it with mpc's arguments to run mpc against it (logged in)."""

    root: Path
    socket: Path
    port: int
    process: subprocess.Popen

    @property
    def host(self) -> str:
        """MPD_HOST for a client that may use stickers: password@socket."""
        return f"{PASSWORD}@{self.socket}"

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "MPD_HOST": self.host}
        return subprocess.run(["mpc", *args], env=env, capture_output=True, text=True, timeout=120)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def start_mpd(root: Path, music: Path, playlists: Path | None = None, stickers: bool = True) -> MpdServer:
    """MPD over ``music`` (and ``playlists``), its files in ``root``; its database updated before it
    is handed out. ``stickers``: with a sticker database."""
    socket, port = root / "mpd.socket", free_port()
    lines = [f'music_directory "{music}"', f'db_file "{root / "mpd.db"}"', f'state_file "{root / "mpd.state"}"',
             f'bind_to_address "{socket}"', 'bind_to_address "127.0.0.1"', f'port "{port}"',
             f'password "{PASSWORD}@read,add,control,admin"', 'default_permissions "read,add,control"',
             'audio_output {\n  type "null"\n  name "silence"\n}']
    lines += [f'playlist_directory "{playlists}"'] if playlists else []
    lines += [f'sticker_file "{root / "sticker.sql"}"'] if stickers else []
    (root / "mpd.conf").write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(["mpd", "--no-daemon", "--stderr", str(root / "mpd.conf")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if socket.exists() or process.poll() is not None:
            break
        time.sleep(0.1)
    assert process.poll() is None, f"mpd did not start: {process.stderr.read()}"
    server = MpdServer(root, socket, port, process)
    assert server("update", "--wait").returncode == 0
    return server
