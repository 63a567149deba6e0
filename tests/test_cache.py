import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from moodmap.core.audio import load_excerpts
from moodmap.research.cache import FeatureCache, prepare_cache, song_key
from moodmap.core.config import FeatureConfig, config_hash
from moodmap.research.datasets import load_emomusic
from moodmap.core.errors import CacheError
from moodmap.core.features import logmel


@pytest.fixture
def dataset(synth_set):
    return load_emomusic(synth_set)


def test_cache_holds_features_labels_and_ids(dataset, tmp_path):
    summary = prepare_cache(dataset, tmp_path / "c", jobs=1)
    assert (summary.songs, summary.excerpts, summary.extracted) == (12, 36, 12)
    cache = FeatureCache.open(tmp_path / "c")
    assert isinstance(cache.features, np.memmap) and cache.features.shape == (36, 80, 469)
    song = dataset.songs[4]
    rows = np.flatnonzero(cache.song_ids == song.song_id)
    np.testing.assert_allclose(cache.features[rows], logmel(load_excerpts(song.path)[0]), atol=1e-5)
    assert cache.targets[rows[0]].tolist() == pytest.approx([song.valence, song.arousal])
    assert list(cache.excerpt[rows]) == [0, 1, 2] and list(cache.start[rows]) == [0.0, 15.0, 30.0]
    assert cache.path.name == config_hash(FeatureConfig())


def test_rerun_reuses_everything(dataset, tmp_path):
    prepare_cache(dataset, tmp_path / "c", jobs=1)
    again = prepare_cache(dataset, tmp_path / "c", jobs=1)
    assert (again.extracted, again.reused, again.excerpts) == (0, 12, 36)


def test_interrupted_run_resumes_where_it_stopped(dataset, tmp_path):
    calls = []

    def stop_after_five(done, total):
        calls.append(done)
        if done == 5:
            raise KeyboardInterrupt

    first = prepare_cache(dataset, tmp_path / "c", jobs=1, progress=stop_after_five)
    assert first.interrupted and first.extracted == 5
    with pytest.raises(CacheError):
        FeatureCache.open(tmp_path / "c")
    second = prepare_cache(dataset, tmp_path / "c", jobs=1)
    assert (second.extracted, second.reused, second.excerpts) == (7, 5, 36)
    clean = prepare_cache(dataset, tmp_path / "clean", jobs=1)
    a, b = FeatureCache.open(tmp_path / "c"), FeatureCache.open(clean.cache)
    assert list(a.song_ids) == list(b.song_ids)
    np.testing.assert_array_equal(np.asarray(a.features), np.asarray(b.features))


def test_broken_file_is_reported_and_the_rest_cached(synth_set, tmp_path):
    import shutil
    root = tmp_path / "set"
    shutil.copytree(synth_set, root)
    (root / "clips_45seconds" / "3.flac").write_bytes(b"garbage" * 100)
    summary = prepare_cache(load_emomusic(root), tmp_path / "c", jobs=1)
    assert [f.song_id for f in summary.failures] == ["3"] and summary.failures[0].error == "DecodeError"
    cache = FeatureCache.open(tmp_path / "c")
    assert cache.n_songs == 11 and "3" not in set(cache.song_ids)
    assert cache.failures[0].path.endswith("3.flac")


def test_added_songs_extend_the_cache(synth_set, tmp_path):
    full = load_emomusic(synth_set)
    part = type(full)(full.name, full.root, full.songs[:6])
    prepare_cache(part, tmp_path / "c", jobs=1)
    grown = prepare_cache(full, tmp_path / "c", jobs=1)
    assert (grown.extracted, grown.reused, grown.excerpts) == (6, 6, 36)
    meta = json.loads((grown.cache / "meta.json").read_text())
    assert meta["generation"] == 2 and not (grown.cache / "features.1.npy").exists()


def test_parallel_equals_serial(dataset, tmp_path):
    prepare_cache(dataset, tmp_path / "one", jobs=1)
    prepare_cache(dataset, tmp_path / "two", jobs=2)
    a, b = FeatureCache.open(tmp_path / "one"), FeatureCache.open(tmp_path / "two")
    assert list(a.song_ids) == list(b.song_ids)
    # workers use single-threaded BLAS; the mel projection may round differently in the last bit
    np.testing.assert_allclose(np.asarray(a.features), np.asarray(b.features), atol=1e-4)


def test_configs_live_side_by_side(dataset, tmp_path):
    prepare_cache(dataset, tmp_path / "c", jobs=1)
    original = FeatureConfig(excerpts=1)
    prepare_cache(dataset, tmp_path / "c", original, jobs=1)
    with pytest.raises(CacheError, match="several"):
        FeatureCache.open(tmp_path / "c")
    assert len(FeatureCache.open(tmp_path / "c", config_hash(original))) == 12


def test_song_key_changes_with_the_file(dataset, tmp_path):
    song = dataset.songs[0]
    assert song_key(song) == song_key(song)
    other = type(song)(**{**song.__dict__, "song_id": "x"})
    assert song_key(other) != song_key(song)


def test_kill_9_mid_prepare_then_rerun_completes(synth_set, tmp_path):
    """A hard kill leaves finished songs in shards, never a torn file; a rerun finishes the job."""
    out = tmp_path / "c"
    command = [sys.executable, "-m", "moodmap.cli", "prepare", str(synth_set), "--out", str(out), "--jobs", "1"]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shards = out / config_hash(FeatureConfig()) / "shards"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(shards.glob("*.npz"))) < 3:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert 3 <= len(list(shards.glob("*.npz"))) < 12
    for shard in shards.glob("*.npz"):
        np.load(shard)["features"]  # every shard on disk is whole
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    cache = FeatureCache.open(out)
    assert cache.n_songs == 12 and len(cache) == 36 and not list(shards.glob("*"))
