"""The mood map as a playlist editor: what the page needs to show the songs a region (or a path, a
mood) holds and to save that playlist into the folder ``moodmap serve --playlists DIR`` was given.

Saving writes into the user's folder, so on top of the guard's rules for every ``/api/`` request
(known Host, same origin only, a small JSON body): without ``--playlists`` nothing is saved (a JSON
403 says how to turn it on); the name given is a plain file name (``playlist_folder.playlist_file_name``:
no folder, no dot-file) with the format's suffix added; an existing file is replaced only when moodmap
wrote it and nobody changed it since, and only when asked (``replace``) — ``playlist_folder`` keeps
that promise for ``playlists --all-moods`` too; and an M3U8 is saved only while the playlist still
holds the songs the page listed (``songs``), so a scan that changed the library in between is
reported, not saved unseen. M3U8 entries are relative to the folder, as ``moodmap playlist-folder`` writes them.

No ``from __future__ import annotations`` here: the save request is a class made per server (it extends
the app's ``PlaylistRequest``, passed in), which FastAPI reads from the annotations as objects.
"""
import json
from dataclasses import replace as with_fields
from pathlib import Path
from typing import Literal, Optional

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from ..library.playlist_folder import SUFFIXES, PlaylistExists, PlaylistTaken, playlist_file_name, save_playlist
from ..library.playlist_query import one_mode, query_filters
from ..library.playlists import Constraints, build_playlist, playlist_query, to_json, to_m3u8
from ..library.song_table import SongTable, region_mask
from .limits import MAX_KEY, quoted

MAX_IDS = 1000  # song ids a save may list (a playlist has at most the app's n)
SAVING_OFF = ("this server saves no playlists: start it with `moodmap serve --playlists DIR` (a folder your "
              "player reads) to save them there; downloading works without it")


def editor_router(folder: Optional[Path], request_model: type[BaseModel]) -> APIRouter:
    """The editor's endpoints for one server: ``folder`` is where saves go (None: saving is off),
    ``request_model`` the app's playlist query (``PlaylistRequest``), which a save extends."""
    router = APIRouter(tags=["map editor"])

    class SavePlaylist(request_model):  # type: ignore[misc, valid-type]
        """A playlist to save into the server's playlists folder: its query (as for ``/api/playlists``),
        the name to save it under, M3U8 or Navidrome ``.nsp``, whether to replace moodmap's own earlier
        save of that name, and the ids of the songs the page listed (an M3U8 is saved only if it still
        holds exactly those)."""

        name: str = Field(..., max_length=200, description="The playlist's name; its file is NAME.m3u8 or NAME.nsp.")
        format: Literal["m3u8", "nsp"] = "m3u8"  # type: ignore[assignment]
        replace: bool = False
        songs: Optional[list[int]] = Field(None, max_length=MAX_IDS)

    @router.get("/api/playlist-folder")
    def folder_status() -> dict:
        """Whether this server saves playlists (``--playlists``), the folder's name (not its path) and the formats."""
        return {"enabled": folder is not None, "name": folder.name if folder else None, "formats": list(SUFFIXES)}

    @router.post("/api/playlist-preview")
    def preview(body: request_model, request: Request) -> Response:  # type: ignore[valid-type]
        """The playlist as JSON (as ``/api/playlists``), with ``matching``: how many songs of the library
        the region or mood holds after the filters (null for a path, near or curve playlist)."""
        table = request.app.state.library.table()
        query, constraints = playlist_request(body)
        result = build_playlist(table, query, constraints, body.steps)
        payload = {**json.loads(to_json(result)),  # the one playlist shape, and more
                   "matching": matching(table, query)}
        return Response(json.dumps(payload, ensure_ascii=False), media_type="application/json")

    @router.post("/api/playlist-folder")
    def save(body: SavePlaylist, request: Request) -> JSONResponse:
        """Save the playlist into the playlists folder as NAME.m3u8 (paths relative to the folder) or
        NAME.nsp; 409 when the name is taken by a file moodmap may not replace (``PlaylistTaken``), is
        moodmap's earlier save and ``replace`` is not set (``PlaylistExists``), or the library changed
        since the page listed the songs (``LibraryChanged``)."""
        if folder is None:
            return error(403, "SavingOff", SAVING_OFF)
        file_name = playlist_file_name(body.name, body.format)  # a bad name: the app's 400
        title = file_name[:-len(SUFFIXES[body.format])]
        query, constraints = playlist_request(body)
        count = None
        if body.format == "nsp":
            from ..library.navidrome import to_nsp

            text = to_nsp(query, constraints, title)
        else:
            result = build_playlist(request.app.state.library.table(), query, constraints, body.steps)
            if body.songs is not None and [song["id"] for song in result.songs] != body.songs:
                return error(409, "LibraryChanged", "the library changed since these songs were listed; look at "
                                                    "the new list and save again (nothing was saved)")
            text, count = to_m3u8(with_fields(result, title=title), folder / file_name), len(result.songs)
        try:
            status = save_playlist(folder, file_name, text, body.replace)
        except (PlaylistExists, PlaylistTaken) as exc:
            return error(409, type(exc).__name__, exc.reason)
        except OSError as exc:
            return error(500, "FolderUnwritable", f"could not write into the playlists folder ({exc.strerror or exc})")
        return JSONResponse({"file": file_name, "format": body.format, "status": status, "songs": count,
                             "folder": folder.name})

    return router


def playlist_request(body: BaseModel) -> tuple[dict, Constraints]:
    """The query and constraints of a ``PlaylistRequest``, for /api/playlists and the editor alike (a
    key longer than MAX_KEY refused first, quoted short)."""
    for name in ("mood", "quadrant", "near", "from_", "to", "arousal"):
        value = getattr(body, name)
        if value is not None and len(value) > MAX_KEY:
            raise HTTPException(400, f"{name.rstrip('_')}: {quoted(value)} is longer than {MAX_KEY} characters")
    query = playlist_query(body.mood, body.quadrant, body.near, body.from_, body.to, body.arousal,
                           valence=body.valence, genre=body.genre, artist=body.artist, album=body.album,
                           text=body.text, sort=body.sort)
    return query, Constraints(body.n, body.min_distance, body.exclude_artist_repeats, body.seed)


def matching(table: SongTable, query: dict) -> int | None:
    """How many songs a range or mood playlist draws from (after its filters); None for the other modes,
    whose songs are chosen one by one (a path, near a song, a curve)."""
    mode, value = one_mode(query)
    if mode == "range":
        return int(table.matching(query_filters(query)).sum())
    if mode == "mood":
        return int((region_mask(table, value) & table.matching(query_filters(query))).sum())
    return None


def error(status: int, kind: str, detail: str) -> JSONResponse:
    """moodmap's one error shape, with a kind the page can act on (``PlaylistExists``: offer to replace)."""
    return JSONResponse({"error": kind, "detail": detail}, status_code=status)
