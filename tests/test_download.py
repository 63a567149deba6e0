"""Downloads against a throwaway HTTP server on 127.0.0.1 serving small fake archives (never the internet)."""
import http.server
import io
import threading
import zipfile

import pytest

from moodmap.research.datasets import load_deam
from moodmap.research.download import Archive, DownloadError, Source, download_dataset, fetch, sha256_of, unpack

from helpers import tone, write_audio


class Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    cut_next: set[str] = set()  # paths whose next response stops halfway
    no_length: set[str] = set()  # paths served without Content-Length (the end is the connection's end)
    served: list[tuple[str, str | None]] = []

    def do_GET(self):
        body = self.files.get(self.path)
        self.served.append((self.path, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        if start >= len(body):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if self.path in self.no_length:
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if self.path in self.cut_next:
            self.cut_next.discard(self.path)
            self.wfile.write(body[start:start + (len(body) - start) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Handler.files, Handler.cut_next, Handler.no_length, Handler.served = {}, set(), set(), []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def deam_zips(tmp_path):
    """Two small zips in DEAM's own layout."""
    notes = io.BytesIO()
    with zipfile.ZipFile(notes, "w") as z:
        z.writestr("annotations/annotations averaged per song/song_level/static_annotations_averaged_songs_1_2000.csv",
                   "song_id, valence_mean, valence_std, arousal_mean, arousal_std\n2, 3.1, 0.9, 3, 0.6\n")
    audio = io.BytesIO()
    song = write_audio(tmp_path / "2.mp3", tone(2.0, 16000), 16000)
    with zipfile.ZipFile(audio, "w") as z:
        z.write(song, "MEMD_audio/2.mp3")
    return notes.getvalue(), audio.getvalue()


def test_download_unpacks_into_the_loaders_layout(server, tmp_path):
    notes, audio = deam_zips(tmp_path)
    Handler.files = {"/a.zip": notes, "/b.zip": audio}
    source = Source("deam", server, (Archive(f"{server}/a.zip", "a.zip", len(notes)),
                                     Archive(f"{server}/b.zip", "b.zip", len(audio))), "by hand")
    root = download_dataset("deam", tmp_path / "DEAM", source)
    data = load_deam(root)
    assert [s.song_id for s in data.songs] == ["2"] and data.songs[0].valence == pytest.approx(0.31)


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    payload = bytes(range(256)) * 1000
    Handler.files = {"/big.zip": payload}
    Handler.cut_next = {"/big.zip"}
    archive = Archive(f"{server}/big.zip", "big.zip", len(payload), __import__("hashlib").sha256(payload).hexdigest())
    target = tmp_path / "big.zip"
    with pytest.raises(DownloadError):
        fetch(archive, target)
    partial = tmp_path / "big.zip.part"
    assert 0 < partial.stat().st_size < len(payload) and not target.exists()
    fetch(archive, target)
    assert target.read_bytes() == payload and not partial.exists()
    assert Handler.served[-1][1] == f"bytes={len(payload) // 2}-"


def test_corrupt_archive_is_deleted_with_a_clear_error(server, tmp_path):
    Handler.files = {"/x.zip": b"not the archive you are looking for"}
    archive = Archive(f"{server}/x.zip", "x.zip", sha256="0" * 64)
    with pytest.raises(DownloadError, match="sha256"):
        fetch(archive, tmp_path / "x.zip")
    assert not (tmp_path / "x.zip.part").exists() and not (tmp_path / "x.zip").exists()


def test_moved_url_and_offline_give_one_line_with_manual_steps(server, tmp_path):
    source = Source("deam", server, (Archive(f"{server}/gone.zip", "gone.zip"),), "download it from the page")
    with pytest.raises(DownloadError, match="404.*By hand: download it from the page") as info:
        download_dataset("deam", tmp_path, source)
    assert "\n" not in str(info.value)
    offline = Source("deam", "x", (Archive("http://127.0.0.1:9/none.zip", "none.zip"),), "by hand")
    with pytest.raises(DownloadError, match="cannot reach"):
        download_dataset("deam", tmp_path, offline)


def test_an_unpublished_checksum_is_reported_as_unverified_and_later_copies_held_to_the_first(server, tmp_path):
    Handler.files = {"/a.zip": deam_zips(tmp_path)[0]}
    source = Source("deam", server, (Archive(f"{server}/a.zip", "a.zip"),), "by hand")
    said: list[str] = []
    download_dataset("deam", tmp_path / "d", source, report=said.append)
    assert len(said) == 1 and said[0].startswith("a.zip: unverified (no published checksum") and sha256_of(
        tmp_path / "d" / "a.zip") in said[0]
    (tmp_path / "d" / "a.zip").unlink()
    Handler.files["/a.zip"] = other_zip()
    with pytest.raises(DownloadError, match="differs from the copy downloaded here before.*remove its entry"):
        download_dataset("deam", tmp_path / "d", source)


def other_zip(name: str = "other.csv", data: bytes = b"x,y\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(name, data)
    return buffer.getvalue()


def test_a_first_download_cut_short_is_never_the_reference(server, tmp_path):
    """The connection ends at half the announced length: refused, kept to resume, nothing recorded;
    the rerun resumes and the whole archive is what is recorded."""
    notes = deam_zips(tmp_path)[0]
    Handler.files, Handler.cut_next = {"/a.zip": notes}, {"/a.zip"}
    source = Source("deam", server, (Archive(f"{server}/a.zip", "a.zip"),), "by hand")
    with pytest.raises(DownloadError, match=f"ended after {len(notes) // 2} of the {len(notes)} bytes"):
        download_dataset("deam", tmp_path / "d", source)
    assert not (tmp_path / "d" / ".moodmap-downloads.json").exists() and not (tmp_path / "d" / "a.zip").exists()
    download_dataset("deam", tmp_path / "d", source)
    assert (tmp_path / "d" / "a.zip").read_bytes() == notes and Handler.served[-1][1] == f"bytes={len(notes) // 2}-"


def test_without_content_length_a_truncated_archive_fails_to_unpack_and_is_deleted(server, tmp_path):
    notes = deam_zips(tmp_path)[0]
    Handler.files, Handler.cut_next, Handler.no_length = {"/a.zip": notes}, {"/a.zip"}, {"/a.zip"}
    source = Source("deam", server, (Archive(f"{server}/a.zip", "a.zip"),), "by hand")
    with pytest.raises(DownloadError, match="cannot be unpacked.*deleted, rerun"):
        download_dataset("deam", tmp_path / "d", source)
    assert not (tmp_path / "d" / "a.zip").exists() and not (tmp_path / "d" / ".moodmap-downloads.json").exists()
    download_dataset("deam", tmp_path / "d", source)  # the rerun fetches it again, whole
    assert (tmp_path / "d" / "a.zip").read_bytes() == notes


def test_a_complete_part_answered_416_is_finished_not_stuck(server, tmp_path):
    payload = other_zip()
    Handler.files = {"/a.zip": payload}
    (tmp_path / "a.zip.part").write_bytes(payload)  # every byte arrived, then the run was stopped
    fetch(Archive(f"{server}/a.zip", "a.zip"), tmp_path / "a.zip")
    assert (tmp_path / "a.zip").read_bytes() == payload and not (tmp_path / "a.zip.part").exists()


def test_a_zip_bomb_is_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", bytes(200 * 2**20))  # 200 MB of zeros: a few hundred KB packed
    with pytest.raises(DownloadError, match="zip bomb"):
        unpack(bomb, tmp_path / "target")
    assert not (tmp_path / "target" / "zeros.bin").exists()


def test_tar_special_files_and_truncated_tar_gz_are_download_errors(tmp_path):
    import tarfile

    special = tmp_path / "dev.tar"
    with tarfile.open(special, "w") as tar:
        device = tarfile.TarInfo("null")
        device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
        tar.addfile(device)
    with pytest.raises(DownloadError, match="special files"):
        unpack(special, tmp_path / "t1")
    whole = tmp_path / "data.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        info = tarfile.TarInfo("noise.bin")
        noise = __import__("os").urandom(200_000)
        info.size = len(noise)
        tar.addfile(info, io.BytesIO(noise))
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DownloadError, match="cannot be unpacked"):
        unpack(truncated, tmp_path / "t2")
    assert not truncated.exists()


def test_an_archive_may_not_replace_the_next_archive_or_the_record(server, tmp_path):
    second = deam_zips(tmp_path)[1]
    for name in ("b.zip", ".moodmap-downloads.json"):
        Handler.files = {"/a.zip": other_zip(name, b"replaced"), "/b.zip": second}
        source = Source("deam", server, (Archive(f"{server}/a.zip", "a.zip"), Archive(f"{server}/b.zip", "b.zip")),
                        "by hand")
        target = tmp_path / name.strip(".")
        with pytest.raises(DownloadError, match="would replace moodmap's own download files"):
            download_dataset("deam", target, source)
        assert not (target / name).exists()


def test_unpack_refuses_path_traversal(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../outside.txt", "gotcha")
    with pytest.raises(DownloadError, match="outside"):
        unpack(evil, tmp_path / "target")
    assert not (tmp_path / "outside.txt").exists()


def test_data_sets_without_a_direct_link_explain_the_manual_steps(tmp_path):
    with pytest.raises(DownloadError, match="clips_45seconds"):
        download_dataset("emomusic", tmp_path)
