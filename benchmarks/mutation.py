"""Mutation testing of the library side with mutmut: ``make mutation`` (not in CI: it is slow).

    python benchmarks/mutation.py [MODULE ...]      # default: every module of MODULES, in order
    python benchmarks/mutation.py --report          # only re-render docs/explanation/mutation.md

Each module runs in its own folder, ``build/mutation/<module>/`` (links to src/, tests/ and
pyproject.toml, a setup.cfg for mutmut, mutmut's ``mutants/``), so a module's results are kept
and a rerun retests only what can have changed: mutants of edited functions, and every mutant not
yet killed (a new test may kill it). mutmut runs one worker, pytest serially (``-p no:xdist``,
``-x``), and only the test files MODULES lists for the module.

Most of moodmap's tests run the installed ``moodmap`` program, and it starts worker processes.
Those child processes import the mutated copy because PYTHONPATH puts ``mutants/src`` first (the
editable install's path comes later) and they inherit MUTANT_UNDER_TEST. mutmut learns which
tests reach which function from the pytest process only; ``mutation_hooks/sitecustomize.py`` makes
the child processes write their hits too (with the test that started them), and they are added
to mutmut's table before any mutant runs. Each function is then tried on every test of each file
that reaches it (mutmut credits a function only to the test it first ran in, and an app built by a
shared fixture runs once), and a function reached by no test on every test: no mutant goes untested.

The report, ``docs/explanation/mutation.md``: per module mutants, killed, survived, timeouts, equivalent and
the share of non-equivalent mutants killed; each survivor of an earlier run that a test now kills,
with that test (found by running it, kept in ``mutation_killers.json``); each equivalent mutant
with its reason (``mutation_equivalent.toml``, by mutant name and mutated line: if the line no
longer matches, the entry is stale and the mutant counts as survived); every other survivor.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutation"
HOOKS = ROOT / "benchmarks" / "mutation_hooks"
EQUIVALENT = ROOT / "benchmarks" / "mutation_equivalent.toml"
KILLERS = ROOT / "benchmarks" / "mutation_killers.json"
REPORT = ROOT / "docs" / "explanation" / "mutation.md"

# module (under src/moodmap) → the test files that concern it; missing files are left out.
MODULES: dict[str, list[str]] = {
    # the guard's checks in process (milliseconds); test_web_security.py makes the same requests to a
    # real server, a minute per mutant on 2 cores
    "web/guard": ["tests/test_web_guard_mutants.py"],
    "web/limits": ["tests/test_web_guard_mutants.py"],
    "library/navidrome": ["tests/test_navidrome.py", "tests/test_navidrome_rules.py"],
    "library/playlist_folder": ["tests/test_mpd.py", "tests/test_playlist_folder.py"],
    "library/song_table": ["tests/test_playlists.py", "tests/test_mood_map.py", "tests/test_song_table.py"],
    # the watcher's decisions in process, its rescans recorded (a second a mutant); test_watch.py runs the real
    # watcher on real folders, minutes a surviving mutant
    "library/watch": ["tests/test_watch_mutants.py"],
    # tags.py and tagging.py through their public functions in process (seconds a mutant); test_user_tags.py
    # and test_tag_frames.py scan a library through the program, a minute a surviving mutant
    "library/tags": ["tests/test_tags_mutants.py", "tests/test_tags.py"],
    # scan, library and predict in process (seconds); test_scan_scope.py, test_library.py,
    # test_index_safety.py and test_predict.py make the same scans, refusals and predictions through
    # the CLI or with a model trained for the session, half a minute and more per surviving mutant
    "library/scan": ["tests/test_scan_mutants.py"],
    "library/index": ["tests/test_library_mutants.py"],
    "library/tagging": ["tests/test_tagging_mutants.py", "tests/test_user_tags.py"],
    "inference/predict": ["tests/test_predict_mutants.py"],
}
PYTEST_ARGS = ["-p", "no:xdist"]  # serial, whatever the Makefile's test target passes
KILLED = ("killed", "timeout")  # a mutant that makes the tests hang is caught too
UNPROVEN = "killed, no test found"  # mutmut's run failed with it, its tests rerun did not: a survivor
# Done once by hand, so that the report says how far a test that runs the installed program counts.
CHILD_PROCESS_CHECK = (
    "Mutants reached only in a child process are tested (checked 2026-11-30 by hand): a test whose pytest "
    "process runs no navidrome code, only the installed `moodmap playlist --mood calm -o x.nsp` as a "
    "subprocess, was credited with `navidrome.smart_playlist` and `navidrome.to_nsp` in the stats phase "
    "(mutation_hooks/sitecustomize.py), and failed under `x_smart_playlist__mutmut_60` (`\"sort\": \"RANDOM\"`: "
    "`assert 'RANDOM' == 'random'`); with the mutants' folder left off the child's PYTHONPATH the same mutant passed.")


def source_of(module: str) -> Path:
    return Path("src/moodmap") / f"{module}.py"


def dotted(module: str) -> str:
    return "moodmap." + module.replace("/", ".")


def workdir(module: str) -> Path:
    return WORK / module.replace("/", ".")


# ----------------------------------------------------------------------------- the outside
def run_module(module: str) -> None:
    """Prepare the module's folder and run mutmut there (in a fresh process: mutmut keeps state)."""
    work = workdir(module)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("src", "tests", "pyproject.toml"):
        if not (work / name).is_symlink():
            (work / name).symlink_to(ROOT / name)
    tests = [t for t in MODULES[module] if (ROOT / t).exists()]
    lines = ["[mutmut]", "source_paths = src", f"only_mutate = {source_of(module)}",
             "pytest_add_cli_args =", *(f"    {a}" for a in PYTEST_ARGS),
             "pytest_add_cli_args_test_selection =", *(f"    {t}" for t in tests),
             "use_git_change_detection = false", ""]
    (work / "setup.cfg").write_text("\n".join(lines))
    # before the process starts: a PYTHONPATH folder missing at start-up is never looked in again
    (work / "mutants" / "src").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MUTANT_UNDER_TEST"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HOOKS), str(work / "mutants" / "src"),
                                                      env.get("PYTHONPATH")]))
    env["MOODMAP_MUTATION_HITS"] = str(work / "hits")
    print(f"== {module}: mutmut over {source_of(module)} with {' '.join(tests)}", flush=True)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--inside", module], cwd=work, env=env,
                   check=True)


def diff_line(diff: str) -> str:
    """What the mutant changed: its added lines, stripped."""
    return " / ".join(line[1:].strip() for line in diff.splitlines()
                      if line.startswith("+") and not line.startswith("+++"))


def render() -> str:
    equivalent = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    killers = json.loads(KILLERS.read_text()) if KILLERS.exists() else {}
    results = {m: json.loads((workdir(m) / "results.json").read_text())
               for m in MODULES if (workdir(m) / "results.json").exists()}
    for found in results.values():  # survivors of earlier runs that a test now kills
        killers.update(found["killers"])
    KILLERS.write_text(json.dumps(dict(sorted(killers.items())), indent=1, ensure_ascii=False) + "\n")

    out = ["# Mutation testing of the library side", "",
           f"Rendered {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make mutation` "
           "(`python benchmarks/mutation.py [MODULE ...]`; mutmut, one worker, pytest serial with `-x`).",
           "A mutant is *killed* when a test fails with it (or it runs past mutmut's time limit: "
           "*timeouts*, counted as killed); *equivalent* mutants behave exactly like the code "
           "(reasons below, from `benchmarks/mutation_equivalent.toml`); the share is killed ÷ "
           "(mutants − equivalent). Target: ≥ 85 % in each module. A survivor of an earlier run is listed "
           "as killed only with the test found to fail with it; one that mutmut's run killed but no test "
           "fails with when its tests are rerun stays a survivor (*killed, no test found*).", "",
           "| module | run | tests | mutants | killed | timeouts | survived | equivalent | not run yet | killed of non-equivalent (run) |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    lists: dict[str, list[str]] = {"killed": [], "equivalent": [], "surviving": []}
    for module, found in results.items():
        status = found["status"]
        counts = defaultdict(int)
        for name, state in status.items():
            entry = equivalent.get(name)
            # a survivor of an earlier run that a test now kills; an old entry without a test (no
            # test failed with it when rerun) leaves it a survivor until a run finds its killer
            killer = killers.get(name) if name in killers and killers[name]["mutated"] == found["diffs"].get(name) \
                else None
            state = UNPROVEN if state in KILLED and killer and not named(killer) else state
            if state not in KILLED and entry and entry.get("mutated") == found["diffs"].get(name):
                counts["equivalent"] += 1
                lists["equivalent"].append(f"- `{name}`: `{found['diffs'][name]}` — {entry['reason']}")
            elif state in KILLED and not (killer and not named(killer)):
                counts[state] += 1
                if killer:
                    lists["killed"].append(f"- `{name}`: `{killer['mutated']}` — `{killer['test']}`")
            elif state == "not checked":
                counts["not checked"] += 1
            else:
                counts["survived"] += 1
                stale = " (its entry in mutation_equivalent.toml is stale)" if entry else ""
                lists["surviving"].append(f"- `{name}` ({state}): `{found['diffs'].get(name, '')}`{stale}")
        total = len(status)
        share = (counts["killed"] + counts["timeout"]) / max(1, total - counts["equivalent"] - counts["not checked"])
        out.append(f"| `{module}` | {found['date']} | {', '.join(Path(t).name for t in found['tests'])} | {total} "
                   f"| {counts['killed']} | {counts['timeout']} | {counts['survived']} | {counts['equivalent']} "
                   f"| {counts['not checked']} | {100 * share:.1f} % |")
    for module in MODULES:
        if module not in results:
            out.append(f"| `{module}` | not run yet | {', '.join(Path(t).name for t in MODULES[module])} "
                       "| | | | | | | |")
    machines = sorted({f"{r['machine']}" for r in results.values()})
    out += ["", f"Machine: {'; '.join(machines)}.", "", CHILD_PROCESS_CHECK, ""]
    out += ["## Survivors now killed, and the test that kills each", "",
            *(lists["killed"] or ["(none)"]), "",
            "## Equivalent mutants", "", *(lists["equivalent"] or ["(none)"]), "",
            "## Still surviving", "", *(lists["surviving"] or ["(none)"]), ""]
    return "\n".join(out)


# ----------------------------------------------------------------------------- inside the module's folder
def inside(module: str) -> None:
    """mutmut run, with the child processes' hits added to its table; then results.json."""
    import mutmut.__main__ as mutmut_main
    from mutmut.runners import harness
    from mutmut.state import state
    from mutmut.stats import status_by_exit_code
    from mutmut.workers.isolation import ForkRunner

    source = source_of(module)

    def exit_codes() -> dict[str, int | None]:
        meta = Path("mutants") / f"{source}.meta"
        return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}

    unproven = unproven_kills(module)
    before = {k for k, v in exit_codes().items()  # survived, or stopped the test run (a KeyboardInterrupt)
              if v is not None and status_by_exit_code[v] not in (*KILLED, "not checked")} | unproven
    # mutmut keeps a result until the function changes; a mutant not yet killed is tried again, and
    # so is one whose kill no test reproduced.
    mutmut_main._reset_mutant_results(lambda key, code: status_by_exit_code[code] not in KILLED or key in unproven)

    run_stats = harness.PytestRunner.run_stats

    def run_stats_with_children(self, *, tests):
        hits = Path(os.environ["MOODMAP_MUTATION_HITS"])
        shutil.rmtree(hits, ignore_errors=True)
        hits.mkdir()
        code = run_stats(self, tests=tests)
        add_child_hits(state(), hits)
        return code

    collect_or_load_stats = mutmut_main.collect_or_load_stats

    def whole_files(*args, **kwargs):
        collect_or_load_stats(*args, **kwargs)
        widen(state(), dotted(module))
        mutmut_main.save_stats()

    harness.PytestRunner.run_stats = run_stats_with_children
    ForkRunner.wait_for_result = wait_for_own_result
    mutmut_main.collect_or_load_stats = whole_files
    try:
        mutmut_main.cli(["run", "--max-children", "1"], standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            raise
    write_results(module, before)


def write_results(module: str, before: set[str]) -> None:
    """results.json from mutmut's files in the module's folder (also for a run that was stopped:
    mutants not run yet are "not checked")."""
    import mutmut.__main__ as mutmut_main
    from mutmut.state import state
    from mutmut.stats import load_stats, status_by_exit_code

    source = source_of(module)
    meta = Path("mutants") / f"{source}.meta"
    status = {k: status_by_exit_code[v] for k, v in json.loads(meta.read_text())["exit_code_by_key"].items()}
    if not state().duration_by_test:
        load_stats()
    diffs = {name: diff_line(mutmut_main.get_diff_for_mutant(name, path=source)) for name in status}
    killers = {}
    for name in sorted((before | unproven_kills(module)) & status.keys()):
        if status[name] not in KILLED:
            continue
        test = killing_test(state(), name)
        if test is None:  # mutmut's run failed with it, no test does when rerun: not shown to be killed
            status[name] = UNPROVEN
        else:
            killers[name] = {"test": test, "mutated": diffs[name]}
    tests = [t for t in MODULES[module] if (ROOT / t).exists()]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    Path("results.json").write_text(json.dumps({
        "module": module, "date": f"{datetime.now(timezone.utc):%Y-%m-%d}", "tests": tests,
        "machine": f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "status": status, "diffs": diffs, "killers": killers}, indent=1, ensure_ascii=False))


def add_child_hits(state, hits: Path) -> None:
    """Add the child processes' hits to mutmut's test table. A process started during a test's call
    belongs to that test; one started by a fixture (a server shared by a file's tests) to every test
    of that file; one started outside a test, to every test."""
    tests = set(state.duration_by_test)
    by_file = defaultdict(set)
    for test in tests:
        by_file[test.split("::")[0]].add(test)
    for found in hits.glob("*.tsv"):
        for line in found.read_text(encoding="utf-8").splitlines():
            current, function = line.split("\t")
            nodeid, _, phase = current.rpartition(" (")
            if phase == "call)" and nodeid in tests:
                reached = {nodeid}
            else:
                reached = by_file.get(nodeid.split("::")[0], tests)
            state.tests_by_mangled_function_name[function] |= reached


def widen(state, module: str) -> None:
    """Each function of the module gets every test of each test file that reached it, and a function
    no test reached gets every test: mutmut credits a function to the test during which it first ran,
    so one called from a shared fixture (an app built once per file) would be tried on one test only."""
    tests = set(state.duration_by_test)
    by_file = defaultdict(set)
    for test in tests:
        by_file[test.split("::")[0]].add(test)
    for function in state.current_function_hashes:
        if function.startswith(module + "."):
            reached = state.tests_by_mangled_function_name.get(function) or tests
            files = {test.split("::")[0] for test in reached}
            state.tests_by_mangled_function_name[function] = set().union(*(by_file[f] for f in files)) or set(reached)


def killing_test(state, name: str) -> str | None:
    """The first of the mutant's tests that fails (or errors) with it, run the way mutmut runs them;
    for a mutant that makes them hang, says so; None when every test passes with it."""
    from mutmut.utils.format_utils import mangled_name_from_mutant_name

    tests = sorted(state.tests_by_mangled_function_name[mangled_name_from_mutant_name(name)],
                   key=lambda t: state.duration_by_test.get(t, 0))
    limit = 60 + 10 * sum(state.duration_by_test.get(t, 0) for t in tests)
    env = {**os.environ, "MUTANT_UNDER_TEST": name}
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "--rootdir=.", "-x", "-q", "-rfE", *PYTEST_ARGS,
                               *tests], cwd="mutants", env=env, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return f"(timeout: its tests run past {limit:.0f} s)"
    return failing_test(done.stdout, tests)


def failing_test(output: str, tests: list[str]) -> str | None:
    """The first test pytest's short summary (``-rfE``) names as failed or in error: the longest of
    ``tests`` the line starts with (a parametrized id may hold spaces, and `` - <message>`` follows),
    else the line's first word (a test file that fails to import)."""
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("FAILED", "ERROR") and rest:
            ids = [t for t in tests if rest == t or rest.startswith(t + " - ")]
            return max(ids, key=len) if ids else rest.split(" - ", 1)[0].split()[0]
    return None


def unproven_kills(module: str) -> set[str]:
    """The module's mutants that mutmut counted as killed but no test was found to fail with: marked
    so in its results.json, or recorded in mutation_killers.json without a test (before the search
    said so). They are tried again and their killer looked for again."""
    found = workdir(module) / "results.json"
    status = json.loads(found.read_text())["status"] if found.exists() else {}
    killers = json.loads(KILLERS.read_text()) if KILLERS.exists() else {}
    return ({name for name, state in status.items() if state == UNPROVEN}
            | {name for name, killer in killers.items() if name in status and not named(killer)})


def named(killer: dict) -> bool:
    """Whether a killer entry names a test (or a timeout), not the old "(no test fails…)" note."""
    return not killer["test"].startswith("(no test")


def wait_for_own_result(self, timeout: float | None = None):
    """mutmut's ForkRunner.wait_for_result, but a child that is no mutant's worker is passed over:
    os.wait() reaps any child, and a test run in this process (the clean run) may leave one behind
    (a `sleep` it killed without waiting for), which made mutmut stop with a KeyError."""
    from mutmut.workers.isolation import MutantResult

    if self._no_tests_results:
        return self._no_tests_results.pop(0)
    while True:
        pid, wait_status = os.wait()
        if pid in self._running:
            break
    worker = self._running.pop(pid)
    duration = (datetime.now() - worker.start_time).total_seconds()
    return MutantResult(mutant_name=worker.mutant_name, exit_code=os.waitstatus_to_exitcode(wait_status),
                        duration=duration)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--inside"]:
        inside(argv[1])
        return
    if argv[:1] == ["--collect"]:  # in the module's folder: results.json from a stopped run
        write_results(argv[1], set())
        return
    if argv[:1] != ["--report"]:
        unknown = [m for m in argv if m not in MODULES]
        if unknown:
            sys.exit(f"mutation: unknown module {', '.join(unknown)}; known: {', '.join(MODULES)}")
        for module in argv or list(MODULES):
            run_module(module)
    REPORT.write_text(render())
    print(f"wrote {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
