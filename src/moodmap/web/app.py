"""moodmap's web app and HTTP API: the library's mood map, predictions for uploaded files, playlists.

Safe by default: ``moodmap serve`` binds to 127.0.0.1; uploads are size-limited before
they are read, refused (503) before they are stored when the analysis queue is full, proven to
be audio by decoding them, kept in a private temporary folder and deleted (a folder a killed
server left is removed at the next start); library audio is served only for songs in the index
and only from inside the library folder; bad input gets a 4xx JSON error, never a traceback,
quoting at most a short escaped prefix of what was sent and never a path of the server's. Inference
runs in a bounded pool of worker processes off the event loop, so an analysis does not stall the
map; at most a few costly reads (playlists, the map, song lists) run at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..core.errors import AudioError, MoodmapError, TooLongError, WorkerCrashed
from ..core.mood import mood_names
from ..inference.registry import DEFAULT_MODEL
from ..library.index import open_library
from ..library.mood_map import map_data
from ..library.playlists import build_playlist, to_json, to_m3u8
from ..library.scan import AUDIO_TYPES, EXTENSIONS
from ..library.song_table import SongTable
from .editor import editor_router, playlist_request
from .guard import RequestGuard
from .limits import MAX_KEY, MULTIPART_SLACK, Admission, BodyLimit, quoted

HERE = Path(__file__).parent
MAX_PAGE = 1000
MAX_PLAYLIST = 200  # songs in one playlist: an arousal curve over 50 000 songs stays well under a second
MAX_JSON_BODY = 64 * 1024  # every body but an upload: a playlist request is a few hundred bytes
COSTLY = r"/api/(playlists|map|songs|playlist-preview|playlist-folder)/?"  # scale with the index: a few at once
COSTLY_AT_ONCE, COSTLY_WAITING = 2, 8
MAX_DETAIL = 400  # the longest error detail (a net under QUOTE_CHARS: no message quotes input whole)
UPLOADS_PREFIX = "moodmap-uploads-"
OWNER_FILE = ".moodmap-owner"  # in each upload folder: the server process that made it


@dataclass(frozen=True)
class ServerSettings:
    """What one server instance serves and how much it accepts."""

    db: Path | None = None
    library_root: Path | None = None  # default: the folders `moodmap scan` recorded (see LibraryView)
    max_upload_bytes: int = 100 * 2**20
    inference_workers: int = 2
    default_model: str = DEFAULT_MODEL
    allowed_hosts: tuple[str, ...] = ()  # besides the loopback names: the bound address, --allowed-host names
    queue: int = 4  # uploads waiting for a worker beyond those analysed; past them: 503 + Retry-After
    playlists: Path | None = None  # --playlists: the folder the map editor saves into (None: no saving)


class LibraryView:
    """The index as a ``SongTable``, reloaded when the database changes (a scan running beside the server).

    Audio is served only from inside the library folders: ``--library`` when given, else the
    folders ``moodmap scan`` recorded, else the folder holding every song indexed at start-up
    (fixed then, so rows added later cannot widen it).
    """

    def __init__(self, db: Path | None, root: Path | None) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._table = SongTable.from_rows([])
        self.roots = [root.resolve()] if root is not None else self._recorded_roots()

    def table(self) -> SongTable:
        if self.db is None:
            return self._table
        stamp = tuple(_stat_or_none(Path(f"{self.db}{suffix}")) for suffix in ("", "-wal"))
        with self._lock:
            if stamp != self._stamp:
                self._table, self._stamp = SongTable.from_library(self.db), stamp
            return self._table

    def _recorded_roots(self) -> list[Path]:
        if self.db is None:
            return []
        with open_library(self.db) as library:
            roots = library.roots()
        if not roots:
            paths = [row["path"] for row in self.table().rows]
            common = os.path.commonpath(paths) if paths else None
            roots = [] if common is None else [common if os.path.isdir(common) else os.path.dirname(common)]
        return [Path(r).resolve() for r in roots]

    def contains(self, path: Path) -> bool:
        """Whether a resolved path lies inside one of the library folders."""
        return any(root in path.parents for root in self.roots)

    def timeline(self, song_id: int) -> list[dict] | None:
        with open_library(self.db) as library:
            return library.timeline(song_id)


def _stat_or_none(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


DOCS_ASSETS = "/docs-assets"


class PlaylistRequest(BaseModel):
    """A playlist query, as `moodmap playlist` takes it: at most one of mood, quadrant, near, from+to, arousal
    (rise, fall, arc), narrowed by ranges (valence, arousal: LO:HI), parts of genre, artist or album, a text,
    and ordered by sort (valence or arousal, - after it for highest first)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    mood: str | None = None
    quadrant: str | None = None
    near: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    valence: str | None = Field(None, max_length=40)
    genre: str | None = Field(None, max_length=200)
    artist: str | None = Field(None, max_length=200)
    album: str | None = Field(None, max_length=200)
    text: str | None = Field(None, max_length=200)
    sort: str | None = Field(None, max_length=20)
    steps: int = Field(10, ge=2, le=500)
    arousal: str | None = None
    n: int = Field(20, ge=1, le=MAX_PLAYLIST)
    min_distance: float = Field(0.0, ge=0.0, le=2.0, allow_inf_nan=False)
    exclude_artist_repeats: bool = False
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    format: Literal["json", "m3u8", "nsp"] = "json"


def create_app(settings: ServerSettings = ServerSettings(), on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The FastAPI application for one library index (or none: predictions only): its state (the
    settings, the library), the guards around every request, the routes. Building it starts
    nothing: the analysis workers and the upload folder belong to the running server
    (``_server_lifetime``); ``on_ready`` is called once they are there."""
    # The API docs' scripts and styles come from the package (fastapi-offline), not a CDN: /docs works offline.
    app = FastAPIOffline(title="moodmap", version=__version__, static_url=DOCS_ASSETS,
                         swagger_ui_parameters={"validatorUrl": None},  # no call to an online validator
                         description="Valence and arousal of music: predict files, browse a library's mood map, "
                                     "build mood playlists.",
                         lifespan=_server_lifetime)
    app.state.settings, app.state.library = settings, LibraryView(settings.db, settings.library_root)
    app.state.on_ready = on_ready
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes, paths=("/api/predict",), slack=MULTIPART_SLACK)
    app.add_middleware(BodyLimit, limit=MAX_JSON_BODY, paths=("/",), skip=("/api/predict",))
    app.add_middleware(Admission, pattern="/api/predict/?", what="analyses",
                       limit=settings.inference_workers + max(0, settings.queue))
    app.add_middleware(Admission, pattern=COSTLY, what="playlists, maps or song lists",
                       limit=COSTLY_AT_ONCE + COSTLY_WAITING, running=COSTLY_AT_ONCE)
    app.add_middleware(RequestGuard, allowed_hosts=settings.allowed_hosts)  # outermost: checked first
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for path, endpoint, method, options in ROUTES:  # each app its own routes (HEAD is added to them below)
        app.add_api_route(path, endpoint, methods=[method], **options)
    app.include_router(editor_router(settings.playlists, PlaylistRequest))  # the map as a playlist editor
    _error_handlers(app)
    app.openapi()  # the schema as declared; then HEAD where GET is (not listed in it: same answers, no body)
    for route in app.routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            route.methods.add("HEAD")
    return app


@contextlib.asynccontextmanager
async def _server_lifetime(app: FastAPI) -> AsyncIterator[None]:
    """What a running server owns, from start to stop: its upload folder (the folders of killed
    servers are removed first) and its analysis workers, started from the server's thread so
    that they die with it. At stop the workers end and the folder goes, uploads and all."""
    remove_leftover_uploads(Path(tempfile.gettempdir()))
    app.state.uploads = upload_folder()
    try:
        app.state.analyses = AnalysisPool(app.state.settings.inference_workers)
        try:
            if app.state.on_ready is not None:
                app.state.on_ready()
            yield
        finally:
            app.state.analyses.close()
    finally:
        shutil.rmtree(app.state.uploads, ignore_errors=True)


# What a route needs of its app, as dependencies (the app's state, set by create_app).
def _settings(request: Request) -> ServerSettings:
    return request.app.state.settings


def _library(request: Request) -> LibraryView:
    return request.app.state.library


Settings = Annotated[ServerSettings, Depends(_settings)]
Library = Annotated[LibraryView, Depends(_library)]


def page() -> str:
    return (HERE / "templates" / "index.html").read_text(encoding="utf-8").replace("{{version}}", __version__)


def health(library: Library, settings: Settings) -> dict:
    """Server status: version, songs in the index, models to choose from."""
    from ..inference.registry import available_models, note_for

    models = [{"name": name, "description": entry.get("description", ""), "note": note_for(entry)}
              for name, entry in available_models().items()]
    return {"status": "ok", "version": __version__, "songs": len(library.table()), "models": models,
            "moods": mood_names(), "default_model": settings.default_model,
            "max_upload_bytes": settings.max_upload_bytes}


async def predict(request: Request, settings: Settings,
                  file: UploadFile = File(..., description="An audio file (mp3, flac, ogg, wav, m4a, …)."),
                  model: str | None = Form(None, description="A model's name (default: the server's model)."),
                  timeline: bool = Form(False), hop: float = Form(5.0, gt=0.5, le=60.0)) -> dict:
    """Valence, arousal, quadrant and emotion of an uploaded file (its timeline on request)."""
    model = model or settings.default_model
    _check_model(model, settings)
    target = request.app.state.uploads / f"{os.urandom(8).hex()}{_safe_suffix(file.filename)}"
    try:
        with open(target, "wb") as handle:
            while chunk := await file.read(1 << 20):
                handle.write(chunk)
        if target.stat().st_size == 0:
            raise HTTPException(422, "the uploaded file is empty")
        result = await request.app.state.analyses.run(_predict_upload, str(target), model, timeline, hop,
                                                      gone=request.is_disconnected)
    except ClientGone:
        return Response(status_code=499)  # nobody reads it; the worker stops once the upload is gone
    except MoodmapError as exc:  # its reason names the file as the client does, never where the server kept it
        name = _client_name(file.filename)
        reason = exc.reason.replace(f"'{target}'", name).replace(str(target), name)
        raise type(exc)(None, reason if name in reason else f"{name}: {reason}") from None
    finally:
        target.unlink(missing_ok=True)
    return {**result, "path": None, "filename": file.filename}


def songs(library: Library,
          mood: str | None = Query(None, max_length=MAX_KEY, description="A named emotion or Q1–Q4."),
          quadrant: str | None = Query(None, pattern="^[Qq][1-4]$"),
          q: str | None = Query(None, max_length=200, description="Text in artist, title, album or file name."),
          offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=MAX_PAGE)) -> dict:
    """Songs of the index, filtered and paginated."""
    table = library.table()
    keep = table.filter(mood, quadrant, q)
    page = [table.rows[i] for i in keep[offset:offset + limit]]
    return {"total": len(keep), "offset": offset, "limit": limit, "songs": page}


def song(song_id: int, library: Library) -> dict:
    """One song with its stored timeline (if scanned with --timeline)."""
    row = _song(library, song_id)
    return {**row, "timeline": library.timeline(song_id)}


def audio(song_id: int, request: Request, library: Library) -> Response:
    """The song's audio file (range requests supported), only from inside the library folder."""
    row = _song(library, song_id)
    path = _library_file(library, row)
    # The type of the indexed name moodmap decoded, never one guessed from where a link points (poly.html).
    kind = AUDIO_TYPES.get(Path(row["path"]).suffix.lower(), "application/octet-stream")
    response = FileResponse(path, media_type=kind, filename=Path(row["path"]).name,
                            content_disposition_type="inline", stat_result=path.stat())
    return _range_error(response, request) or response


def mood_map(library: Library) -> dict:
    """What the mood map draws: songs, named-emotion anchors and quadrant names."""
    return map_data(library.table())


def playlists(body: PlaylistRequest, request: Request, library: Library) -> Response:
    """A playlist, the same modes as `moodmap playlist`, as JSON or M3U8 whose entries are this
    server's URLs for the songs' audio (a phone or another computer can play them)."""
    return _playlist_response(library, body, str(request.base_url))


def playlist_link(body: Annotated[PlaylistRequest, Query()], request: Request, library: Library) -> Response:
    """The same, as a link a player can open (``/api/playlists?mood=calm&format=m3u8``)."""
    return _playlist_response(library, body, str(request.base_url))


# path, function, method, options: added to each app by create_app
ROUTES = [
    ("/", page, "GET", {"response_class": HTMLResponse, "include_in_schema": False}),
    ("/api/health", health, "GET", {}),
    ("/api/predict", predict, "POST", {}),
    ("/api/songs", songs, "GET", {}),
    ("/api/songs/{song_id}", song, "GET", {}),
    ("/api/songs/{song_id}/audio", audio, "GET", {"response_class": FileResponse}),
    ("/api/map", mood_map, "GET", {}),
    ("/api/playlists", playlists, "POST", {}),
    ("/api/playlists", playlist_link, "GET", {}),
]

def _playlist_response(library: LibraryView, body: PlaylistRequest, base_url: str) -> Response:
    query, constraints = playlist_request(body)
    if body.format == "nsp":  # rules Navidrome evaluates: no library needed, refused (400) when rules cannot say it
        from ..library.navidrome import to_nsp
        from ..library.playlists import query_name

        return Response(to_nsp(query, constraints, f"{query_name(query)} (moodmap)"), media_type="application/json")
    result = build_playlist(library.table(), query, constraints, body.steps)
    if body.format == "m3u8":
        text = to_m3u8(result, locate=lambda song: f"{base_url}api/songs/{song['id']}/audio")
        return Response(text, media_type="audio/x-mpegurl")
    return Response(to_json(result), media_type="application/json")


class AnalysisPool:
    """Worker processes for analyses: true parallelism off the event loop, at most ``jobs`` at once.

    A file that crashes a worker (a decoder bug) breaks the pool; the pool is then replaced
    and that request answered 422, so one bad file cannot take the server down.
    """

    def __init__(self, jobs: int) -> None:
        from ..core.engines import worker_pool

        self.jobs, self._start = jobs, worker_pool
        self.pool = worker_pool(jobs)

    async def run(self, function, *args, gone: Callable[[], Awaitable[bool]] | None = None):
        """``function(*args)`` in a worker; when ``gone()`` turns true first (the client disconnected),
        a queued task is cancelled and ClientGone raised: the caller then withdraws the task's
        input, which a running task checks between pieces of work (``predict_file``'s ``wanted``)."""
        pool = self.pool
        try:
            future = pool.submit(function, *args)
            waiting = asyncio.wrap_future(future)
            waiting.add_done_callback(_retrieved)
            while gone is not None and not (await asyncio.wait({waiting}, timeout=CLIENT_CHECK_SECONDS))[0]:
                if await gone():
                    future.cancel()
                    raise ClientGone()
            return await waiting
        except BrokenProcessPool:
            if self.pool is pool:
                self.pool = self._start(self.jobs)
                pool.shutdown(wait=False, cancel_futures=True)
            raise WorkerCrashed(None, "the analysis of this file stopped its worker process (a decoder crash?)")

    def close(self) -> None:
        """End the workers now: queued analyses are cancelled, running ones stopped."""
        from ..core.engines import stop_pool

        stop_pool(self.pool)


CLIENT_CHECK_SECONDS = 0.5  # how often a waiting analysis asks whether its client is still there


class ClientGone(Exception):
    """The client of a request disconnected while its analysis ran; nobody is left to answer."""


def _retrieved(future: asyncio.Future) -> None:
    """Take an abandoned analysis' outcome, so its error (cancelled, say) is not reported as lost."""
    if not future.cancelled():
        future.exception()


def _predict_upload(path: str, model: str, timeline: bool, hop: float) -> dict:
    """Worker process (nothing is decoded in the server's): one file through the same path as
    `moodmap predict`; it stops early once the upload is withdrawn (deleted: the client has gone)."""
    from ..inference.predict import predict_file
    from ..inference.registry import resolve

    budget = _check_budget(Path(path), hop) if timeline else None
    prediction = predict_file(path, resolve(model).predictor, model, timeline, hop,
                              wanted=lambda: os.path.exists(path), limit=budget)
    return prediction.as_dict()


MAX_TIMELINE_WINDOWS = 1500  # a 2-hour mix at the default 5 s hop; each window is a 15 s analysis


def _check_budget(path: Path, hop: float) -> float:
    """Refuse, before any work, a timeline that would keep a worker busy for minutes (a 3-hour file
    at a 0.5 s hop is 20 000 windows): every request gets an answer in bounded time. The seconds
    the timeline may then decode: it stops there too, whatever the header said (a lying Ogg)."""
    from ..core.audio import probe

    budget = (MAX_TIMELINE_WINDOWS - 1) * hop + 15.0  # the last window's start, and its 15 s
    windows = int(probe(path, limit=budget).duration / hop) + 1
    if windows > MAX_TIMELINE_WINDOWS:
        raise TooLongError(None, f"a timeline of {windows} windows is more than this server does per request "
                                 f"({MAX_TIMELINE_WINDOWS}); use a larger hop, or `moodmap predict --timeline`")
    return budget


def _check_model(model: str, settings: ServerSettings) -> None:
    """Requests may name a registered model or the server's default, never a file on the server's disk."""
    from ..inference.registry import available_models

    if model != settings.default_model and model not in available_models():
        raise HTTPException(400, f"unknown model {quoted(model)}; one of {', '.join(available_models())}")


def _client_name(filename: str | None) -> str:
    """An upload as its client named it (the name only, quoted short), never the server's copy."""
    return quoted(Path(filename or "upload").name or "upload")


def _range_error(response: FileResponse, request: Request) -> JSONResponse | None:
    """A ``Range`` the file cannot answer, in the one error shape (Starlette's own answer is plain
    text): malformed 400, past the end 416; None when the range is served (or ignored, If-Range)."""
    from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

    wanted, condition = request.headers.get("range"), request.headers.get("if-range")
    if wanted is None or (condition is not None and not response._should_use_range(condition)):
        return None
    size = response.stat_result.st_size
    try:
        FileResponse._parse_range_header(wanted, size)
    except MalformedRangeHeader:
        return _error_reply(400, "BadRange", "the Range header is not one this server reads (bytes=START-END, …)")
    except RangeNotSatisfiable:
        return _error_reply(416, "RangeNotSatisfiable", f"the range starts past the end of the file ({size} bytes)",
                            {"content-range": f"bytes */{size}"})
    return None


def _error_reply(status: int, error: str, detail: str, headers: dict | None = None) -> JSONResponse:
    """moodmap's one error shape: a short detail, never a path of the server's upload folder."""
    detail = UPLOAD_PATH.sub("the upload", detail)
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL - 1] + "…"
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


UPLOAD_PATH = re.compile(r"[^\s'\"]*" + re.escape(UPLOADS_PREFIX) + r"[^\s'\";,)]*")  # a path in the upload folder


def upload_folder() -> Path:
    """A private temporary folder for this server's uploads, marked with its owner (this process:
    pid and start time) so that a later server can tell a folder a killed one left behind."""
    folder = Path(tempfile.mkdtemp(prefix=UPLOADS_PREFIX))
    (folder / OWNER_FILE).write_text(json.dumps(_process_identity(os.getpid())), encoding="utf-8")
    return folder


def remove_leftover_uploads(temp: Path) -> list[Path]:
    """Remove the upload folders of servers that are gone (killed -9: no shutdown ran); the removed
    folders. Only folders moodmap made — named so, a real folder of this user, holding the owner
    mark — whose owner process is not running (its pid gone, or taken by a process started at
    another time). A live server's folder, or anything else, is left alone."""
    removed = []
    for folder in temp.glob(f"{UPLOADS_PREFIX}*"):
        try:
            st = folder.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
                continue
            owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
            pid, started = int(owner["pid"]), owner.get("started")
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # not marked, unreadable: not provably moodmap's
        now = _process_identity(pid)["started"]  # None: no such process, or no /proc to say
        if pid == os.getpid() or (now is not None and started in (None, now)) or (now is None and _running(pid)):
            continue  # its owner runs (or a process of that pid, when a start time cannot be compared)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _process_identity(pid: int) -> dict:
    """A process as a pid and its start time (clock ticks after boot, Linux's /proc; None elsewhere):
    the pair names one process, whereas a pid alone is reused."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
        return {"pid": pid, "started": int(stat_line.rsplit(")", 1)[1].split()[19])}
    except (OSError, ValueError, IndexError):
        return {"pid": pid, "started": None}


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: it runs
        return True
    return True


def _safe_suffix(filename: str | None) -> str:
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in EXTENSIONS else ""


def _song(library: LibraryView, song_id: int) -> dict:
    table = library.table()
    index = (table.ids == song_id).nonzero()[0]
    if not len(index):
        raise HTTPException(404, f"no song with id {song_id}")
    return table.rows[int(index[0])]


def _library_file(library: LibraryView, row: dict) -> Path:
    """The song's file, resolved; 404 unless it is a regular file inside the library folder."""
    path = Path(row["path"]).resolve()
    if not library.contains(path) or not path.is_file():
        raise HTTPException(404, f"song {row['id']}: its file is not available")
    return path


def _error_handlers(app: FastAPI) -> None:
    """moodmap's errors become 4xx JSON; anything unexpected a 500 without a traceback."""
    reply = _error_reply

    @app.exception_handler(AudioError)
    async def audio_error(_request: Request, exc: AudioError) -> JSONResponse:
        return reply(422, type(exc).__name__, f"not usable audio: {exc.reason}")

    @app.exception_handler(WorkerCrashed)  # the file's fault, as in a scan's failure record
    async def worker_crashed(_request: Request, exc: WorkerCrashed) -> JSONResponse:
        return reply(422, "WorkerCrashed", exc.reason)

    @app.exception_handler(TooLongError)  # past the timeline budget, found by the probe or while decoding
    async def too_long(_request: Request, exc: TooLongError) -> JSONResponse:
        return reply(413, "TooLongError", exc.reason)

    @app.exception_handler(MoodmapError)
    async def moodmap_error(_request: Request, exc: MoodmapError) -> JSONResponse:
        return reply(400, type(exc).__name__, exc.reason)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's and Starlette's (unknown routes, 405, …)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return reply(exc.status_code, "HTTPError", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """Which fields are wrong and why — never the input itself (it can be megabytes)."""
        problems = "; ".join(f"{'.'.join(_field(part) for part in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
                             for e in exc.errors()[:10])
        return reply(422, "ValidationError", problems)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        return reply(500, "InternalError", f"unexpected {type(exc).__name__}; see the server log")


def _field(part: object) -> str:
    """One step of a field's location: a name of the API's as it is, a client's (an unknown query
    parameter) quoted short."""
    text = str(part)
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}|\d{1,6}", text) else quoted(text, 20)
