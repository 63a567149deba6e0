"""Loaded by every Python process `benchmarks/mutation.py` starts (it is first on their PYTHONPATH).

While mutmut collects which tests reach which function (``MUTANT_UNDER_TEST=stats``), the mutated
code's trampolines record their hits in the pytest process only; moodmap's tests mostly run the
installed program and its worker processes. Here a child process writes its hits to a file instead,
with the test that was running when it started (``PYTEST_CURRENT_TEST``, inherited), and
benchmarks/mutation.py adds them to mutmut's table. Outside that phase this file does nothing.
"""
import os

if os.environ.get("MUTANT_UNDER_TEST") == "stats" and os.environ.get("MOODMAP_MUTATION_HITS"):
    from mutmut.mutation import trampoline

    _seen: set[str] = set()
    _test = os.environ.get("PYTEST_CURRENT_TEST", "")
    _path = os.path.join(os.environ["MOODMAP_MUTATION_HITS"], f"{os.getpid()}.tsv")

    def _record(name: str, caller: str | None = None) -> None:
        """Written at once, line by line: a worker may be killed rather than exit."""
        if name not in _seen:
            _seen.add(name)
            with open(_path, "a", encoding="utf-8") as hits:
                hits.write(f"{_test}\t{name}\n")

    trampoline.record_trampoline_hit = _record
