"""The map as a playlist editor, over HTTP: the songs a region holds, saved into the folder `moodmap serve
--playlists DIR` was given — only from the page's own origin, under a plain name, never over a file moodmap
may not replace, and only while the library still holds the songs the page listed. The browser half
(draw a region, save, an MPD loads it) is tests/test_browser.py's."""
import json
import os
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from helpers import write_library_db  # noqa: E402
from moodmap.library.playlist_folder import MANIFEST, save_playlist, write_playlists  # noqa: E402
from moodmap.web.app import ServerSettings, create_app  # noqa: E402

REGION = {"valence": "0.55:0.95", "arousal": "0.1:0.5", "n": 200}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return write_library_db(tmp_path_factory.mktemp("editor"), songs=80, seed=34)


@pytest.fixture(scope="module")
def served(db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("editor-playlists") / "Playlists"
    folder.mkdir()
    settings = ServerSettings(db=db, playlists=folder, inference_workers=1)
    with TestClient(create_app(settings), raise_server_exceptions=False, base_url="http://127.0.0.1") as client:
        yield client, folder


@pytest.fixture
def client(served):
    """The server with an empty playlists folder: (client, folder)."""
    client, folder = served
    for path in folder.iterdir():
        path.unlink()
    return client, folder


def preview(client, **query) -> dict:
    answer = client.post("/api/playlist-preview", json=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def entries(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def test_a_saved_region_holds_the_listed_songs_by_paths_relative_to_the_folder(client, db):
    client, folder = client
    listed = preview(client, **REGION)
    ids = [song["id"] for song in listed["songs"]]
    assert 3 < len(ids) == listed["matching"] < 80  # a region of the plane: every song in it, nothing else
    assert all(0.55 <= s["valence"] <= 0.95 and 0.1 <= s["arousal"] <= 0.5 for s in listed["songs"])
    answer = client.post("/api/playlist-folder", json={**REGION, "name": "Calm ñ evening", "songs": ids})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"file": "Calm ñ evening.m3u8", "format": "m3u8", "status": "written",
                             "songs": len(ids), "folder": "Playlists"}
    saved = folder / "Calm ñ evening.m3u8"
    assert not any(Path(e).is_absolute() for e in entries(saved))
    assert [str((folder / e).resolve()) for e in entries(saved)] == [str(Path(s["path"]).resolve())
                                                                      for s in listed["songs"]]
    assert saved.read_text(encoding="utf-8").startswith("#EXTM3U\n#PLAYLIST:Calm ñ evening\n")
    record = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert list(record["saved"]) == ["Calm ñ evening.m3u8"] and record["files"] == {}


def test_a_region_narrowed_by_artist_and_sorted_is_saved_as_listed(client):
    client, folder = client
    query = {**REGION, "valence": "0.3:1", "artist": "artist 3", "sort": "arousal-"}
    listed = preview(client, **query)
    assert listed["songs"] and {s["artist"] for s in listed["songs"]} == {"Artist 3"}
    arousal = [s["arousal"] for s in listed["songs"]]
    assert arousal == sorted(arousal, reverse=True)
    ids = [s["id"] for s in listed["songs"]]
    assert client.post("/api/playlist-folder", json={**query, "name": "a3", "songs": ids}).status_code == 200
    assert [Path(e).name for e in entries(folder / "a3.m3u8")] == [Path(s["path"]).name for s in listed["songs"]]


def test_an_nsp_is_saved_as_rules_on_the_region(client):
    client, folder = client
    answer = client.post("/api/playlist-folder", json={**REGION, "genre": "jazz", "name": "calm jazz.nsp",
                                                       "format": "nsp"})
    assert answer.status_code == 200, answer.text
    nsp = json.loads((folder / "calm jazz.nsp").read_text(encoding="utf-8"))  # the suffix given is not doubled
    assert nsp["name"] == "calm jazz" and {"contains": {"genre": "jazz"}} in nsp["all"]
    assert {"any": [{"gt": {"valence": 0.55}}, {"is": {"valence": 0.55}}]} in nsp["all"]


@pytest.mark.parametrize("hostile", [{"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:3000"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}])
def test_a_save_from_another_origin_is_refused_and_writes_nothing(client, hostile):
    client, folder = client
    answer = client.post("/api/playlist-folder", json={**REGION, "name": "evil"}, headers=hostile)
    assert answer.status_code == 403 and answer.json()["error"] == "ForbiddenOrigin"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name, says", [
    ("../x", "cannot hold '/'"), ("..\\x", "cannot hold '\\\\'"), ("sub/x", "cannot hold '/'"),
    (".hidden", "cannot start with a dot"), ("..", "cannot start with a dot"), (".m3u8", "give the playlist a name"),
    ("   ", "give the playlist a name"), ("a\x00b", "cannot hold U+0000"), ("a\nb", "cannot hold U+000A"),
    ("C:x", "cannot hold ':'"), ("x" * 150, "at most 115 characters"), ("\u202eevil", "cannot hold U+202E")])
def test_a_name_that_leaves_the_folder_or_hides_is_refused_and_writes_nothing(client, name, says):
    client, folder = client
    answer = client.post("/api/playlist-folder", json={**REGION, "name": name})
    assert answer.status_code == 400 and says in answer.json()["detail"], answer.text
    assert name not in answer.json()["detail"] or name in ("..",)  # the name is not echoed back
    assert list(folder.iterdir()) == [] and list(folder.parent.iterdir()) == [folder]


def test_a_file_moodmap_did_not_write_is_never_overwritten(client):
    client, folder = client
    mine = folder / "mine.m3u8"
    mine.write_text("#EXTM3U\nmy order\n", encoding="utf-8")
    for replace in (False, True):
        answer = client.post("/api/playlist-folder", json={**REGION, "name": "mine", "replace": replace})
        assert answer.status_code == 409 and answer.json()["error"] == "PlaylistTaken", answer.text
    assert mine.read_text(encoding="utf-8") == "#EXTM3U\nmy order\n"
    os.symlink(mine, folder / "linked.m3u8")  # a link to the user's file is not moodmap's either
    assert client.post("/api/playlist-folder", json={**REGION, "name": "linked", "replace": True}).status_code == 409
    assert mine.read_text(encoding="utf-8") == "#EXTM3U\nmy order\n"


def test_moodmaps_own_save_is_replaced_only_when_asked_and_never_once_edited(client):
    client, folder = client
    first = {**REGION, "name": "evening"}
    assert client.post("/api/playlist-folder", json=first).json()["status"] == "written"
    assert client.post("/api/playlist-folder", json=first).json()["status"] == "unchanged"  # the same text: no question
    other = {**first, "valence": "0:0.4"}
    answer = client.post("/api/playlist-folder", json=other)
    assert answer.status_code == 409 and answer.json()["error"] == "PlaylistExists"
    before = (folder / "evening.m3u8").read_text(encoding="utf-8")
    answer = client.post("/api/playlist-folder", json={**other, "replace": True})
    assert answer.status_code == 200 and answer.json()["status"] == "replaced"
    assert (folder / "evening.m3u8").read_text(encoding="utf-8") != before
    with open(folder / "evening.m3u8", "a", encoding="utf-8") as handle:
        handle.write("# my note\n")
    answer = client.post("/api/playlist-folder", json={**first, "replace": True})
    assert answer.status_code == 409 and answer.json()["error"] == "PlaylistTaken"
    assert (folder / "evening.m3u8").read_text(encoding="utf-8").endswith("# my note\n")


def test_a_save_whose_songs_changed_since_they_were_listed_is_refused(client):
    client, folder = client
    ids = [song["id"] for song in preview(client, **REGION)["songs"]]
    answer = client.post("/api/playlist-folder", json={**REGION, "name": "stale", "songs": ids[:-1]})
    assert answer.status_code == 409 and answer.json()["error"] == "LibraryChanged"
    assert list(folder.iterdir()) == []


def test_without_a_playlists_folder_the_server_saves_nothing_and_says_how(db, tmp_path):
    with TestClient(create_app(ServerSettings(db=db, inference_workers=1)), raise_server_exceptions=False,
                    base_url="http://127.0.0.1") as client:
        assert client.get("/api/playlist-folder").json()["enabled"] is False
        answer = client.post("/api/playlist-folder", json={**REGION, "name": "x"})
    assert answer.status_code == 403
    assert answer.json() == {"error": "SavingOff", "detail": "this server saves no playlists: start it with `moodmap "
                             "serve --playlists DIR` (a folder your player reads) to save them there; downloading "
                             "works without it"}


def test_all_moods_never_removes_a_playlist_saved_from_the_map(tmp_path):
    write_playlists({"moodmap - calm.m3u8": "calm\n", "moodmap - sad.m3u8": "sad\n"}, tmp_path)
    assert save_playlist(tmp_path, "mine.m3u8", "mine\n") == "written"
    summary = write_playlists({"moodmap - calm.m3u8": "calm, again\n"}, tmp_path)  # sad has no song now
    assert summary.removed == ["moodmap - sad.m3u8"] and (tmp_path / "mine.m3u8").read_text() == "mine\n"
    record = json.loads((tmp_path / MANIFEST).read_text())
    assert set(record["saved"]) == {"mine.m3u8"} and set(record["files"]) == {"moodmap - calm.m3u8"}


def test_serve_refuses_a_playlists_folder_that_is_not_there(db, tmp_path):
    from typer.testing import CliRunner

    from moodmap.cli import app

    result = CliRunner().invoke(app, ["serve", "--db", str(db), "--playlists", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.strip() == f"moodmap: {tmp_path / 'nope'}: --playlists: no such folder; create it, or name " \
                                    "your player's playlist folder"
    assert not (tmp_path / "nope").exists()  # nothing made


def test_saves_at_once_each_keep_their_record(tmp_path):
    """Two saves (threads of the server, or a save beside `--all-moods`) take turns on the folder's record:
    none is lost, so each file stays moodmap's to replace later."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"p{i}.m3u8" for i in range(16)]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda name: save_playlist(tmp_path, name, f"{name}\n"), names)) == ["written"] * 16
    assert sorted(json.loads((tmp_path / MANIFEST).read_text())["saved"]) == sorted(names)


@pytest.mark.parametrize("name,format,file", [("calm jazz", "m3u8", "calm jazz.m3u8"),
                                              ("calm jazz.m3u8", "m3u8", "calm jazz.m3u8"),
                                              ("calm jazz.NSP", "m3u8", "calm jazz.m3u8"),
                                              ("calm jazz.m3u8", "nsp", "calm jazz.nsp"),
                                              ("  Café  ", "nsp", "Café.nsp")])
def test_a_saved_playlists_suffix_is_its_formats_never_two(name, format, file):
    from moodmap.library.playlist_folder import playlist_file_name

    assert playlist_file_name(name, format) == file
