import signal
import sqlite3
import subprocess
import sys
import time

from moodmap.core.config import FeatureConfig
from moodmap.research.sweep import ResultsStore, plan_sweep, run_sweep


def test_plan_shares_the_base_models_runs():
    tasks = plan_sweep(FeatureConfig(), runs=2, epochs=10, split="grouped")
    settings = {t.setting for t in tasks}
    assert len(settings) == 28 and len(tasks) == 56


def test_sweep_stores_one_row_per_run_and_resumes(synth_cache, tmp_path):
    first = run_sweep(synth_cache, tmp_path, runs=1, epochs=1, jobs=1, only=["dropout"])
    assert (first.planned, first.finished_now) == (4, 4)
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = store.rows()
    assert len(rows) == 4 and {r["split"] for r in rows} == {"grouped"}
    assert all(r["predictions"] for r in rows)
    again = run_sweep(synth_cache, tmp_path, runs=2, epochs=1, jobs=1, only=["dropout"])
    assert (again.already_done, again.finished_now) == (4, 4)
    assert [r["finished_at"] for r in store.rows() if r["run"] == 0] == [r["finished_at"] for r in rows]
    store.close()


def test_killed_sweep_reruns_nothing_finished(synth_cache, tmp_path):
    command = [sys.executable, "-m", "moodmap.cli", "sweep", "paper", str(synth_cache), "--out", str(tmp_path),
               "--runs", "1", "--epochs", "1", "--jobs", "1", "--only", "optimizer"]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "results.sqlite"
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline and count < 2:
        time.sleep(0.2)
        if db.exists():
            try:
                count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    before = {(r[0], r[1]): r[2] for r in sqlite3.connect(db).execute("SELECT setting, run, finished_at FROM runs")}
    assert 2 <= len(before) < 7
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    connection = sqlite3.connect(db)
    after = {(r[0], r[1]): r[2] for r in connection.execute("SELECT setting, run, finished_at FROM runs")}
    assert len(after) == 7 and all(after[key] == stamp for key, stamp in before.items())
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert f"{len(before)} already done" in done.stdout
