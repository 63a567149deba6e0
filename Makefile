# moodmap — the two commands of the quick start, and what they need.
# Every target bootstraps .venv on its own, so `make demo` and `make test`
# work on a fresh clone with nothing installed by hand.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= build/demo
DEMO_SONGS ?= 200

.PHONY: demo test test-slow stress mutation venv bench browser-deps player-deps soundfont clean paper-reproduction

venv: $(STAMP)

# torch pinned, so the resolver takes the CPU wheel where pip is told to find one (pip's find-links:
# $PIP_FIND_LINKS or pip.conf, handed to uv, which does not read pip's settings), never a CUDA build;
# everything with uv (from PyPI, into the venv): it installs torch and the other ~110 packages in about
# 20 s where pip took ~35 s, bytecode compiled at install as pip does (else every test process of the
# first run compiles it again).
FIND_LINKS = $(sort $(PIP_FIND_LINKS) $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python $(addprefix --find-links ,$(FIND_LINKS)) \
		torch==2.13.0 -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/moodmap synth $(DEMO)/synth --songs $(DEMO_SONGS) --seed 7
	$(BIN)/moodmap prepare $(DEMO)/synth --format emomusic --out $(DEMO)/cache
	$(BIN)/moodmap info $(DEMO)/cache
	$(BIN)/moodmap train $(DEMO)/cache --out $(DEMO)/paper-run --runs 2 --epochs 10 --jobs 2
	$(BIN)/moodmap evaluate $(DEMO)/paper-run/run-0/last.pt $(DEMO)/cache --rows validation
	@echo "--- the same model, BatchNorm statistics re-estimated after each epoch (not the paper's protocol):"
	$(BIN)/moodmap train $(DEMO)/cache --out $(DEMO)/paper-run-recalibrated --runs 2 --epochs 10 --jobs 2 \
		--set recalibrate_batchnorm=true
	@echo "--- the paper's seven experiments, reduced (1 run x 10 epochs each), and their report:"
	$(BIN)/moodmap sweep paper $(DEMO)/cache --out $(DEMO)/sweep --runs 1 --epochs 10
	$(BIN)/moodmap report $(DEMO)/sweep
	@echo "--- the improved model against the paper's, on identical grouped splits (2 runs each; 5-10 for a real test):"
	$(BIN)/moodmap compare $(DEMO)/cache --models paper,improved --runs 2 --jobs 2 --out $(DEMO)/compare \
		--json $(DEMO)/compare.json
	@echo "--- the library side: index the songs with the shipped model, a mood playlist, the mood map:"
	$(BIN)/moodmap scan $(DEMO)/synth/clips_45seconds --db $(DEMO)/library.sqlite --jobs 2
	$(BIN)/moodmap playlist --db $(DEMO)/library.sqlite --mood calm --n 10
	$(BIN)/moodmap playlist --db $(DEMO)/library.sqlite --arousal rise --n 15 -o $(DEMO)/workout.m3u8
	$(BIN)/moodmap map --db $(DEMO)/library.sqlite -o $(DEMO)/map.html

# PYTEST_ARGS adds to pytest's arguments: .ci/run passes -m "not ray" to run the fast and slow suites in
# one pass (the slow tests' long runs overlap the fast ones), all but the Ray tests.
PYTEST_ARGS ?=
test: $(STAMP) browser-deps player-deps soundfont
	$(BIN)/python -m pytest -q -n auto --dist loadgroup $(PYTEST_ARGS)

# The whole reproduction published in docs/research/paper-reproduction/: 744 synthetic songs, the
# paper's 280 trainings (about 80 minutes on 2 cores), the report copied into docs/.
REPRO ?= build/paper-reproduction
paper-reproduction: $(STAMP)
	$(BIN)/moodmap synth $(REPRO)/synth --songs 744 --seed 2019
	$(BIN)/moodmap prepare $(REPRO)/synth --out $(REPRO)/cache
	$(BIN)/moodmap sweep paper $(REPRO)/cache --out $(REPRO)/sweep --runs 10 --epochs 10 --jobs 2
	$(BIN)/moodmap report $(REPRO)/sweep
	mkdir -p docs/research/paper-reproduction
	cp $(REPRO)/sweep/report/report.md $(REPRO)/sweep/report/*.png docs/research/paper-reproduction/

# `moodmap synth --renderer soundfont` plays scores through FluidSynth with a General MIDI
# soundfont (Debian fluidsynth + fluid-soundfont-gm); install both when missing (needs root).
soundfont:
	@if ! command -v fluidsynth >/dev/null || [ ! -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; then \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth fluid-soundfont-gm ) \
		>/dev/null 2>&1 || echo "moodmap: could not install fluidsynth + fluid-soundfont-gm; the soundfont renderer is unavailable"; \
	fi

# The browser test drives Debian's chromium through chromium-driver; install both when missing
# (needs root, as in CI). Without them that one test is skipped and says why.
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver ) \
		>/dev/null 2>&1 || echo "moodmap: could not install chromium + chromium-driver; the browser test is skipped"; \
	fi

# The MPD test starts Debian's Music Player Daemon on a private socket (never as a service);
# install mpd + mpc when missing. Without them that test is skipped and says why. Debian's package
# enables a system MPD on port 6600 where systemd runs: one installed here for the tests is
# switched off again (an MPD the machine had before is not touched: then nothing is installed).
player-deps:
	@if ! command -v mpd >/dev/null || ! command -v mpc >/dev/null; then \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mpd mpc ) \
		>/dev/null 2>&1 || echo "moodmap: could not install mpd + mpc; the MPD test is skipped"; \
		if [ -d /run/systemd/system ]; then systemctl disable --now mpd.service mpd.socket >/dev/null 2>&1 || true; fi; \
	fi

# Slow tests guard something essential (the model learns the synthetic set); CI runs them.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow -n auto --dist loadgroup

# Longer hardening runs than make test's: 1 000 fuzz examples per property, 10 kills per
# faulted job, 5 minutes of web load (about 20 minutes in all).
stress: $(STAMP)
	MOODMAP_FUZZ_EXAMPLES=1000 MOODMAP_KILLS=10 MOODMAP_LOAD_SECONDS=300 $(BIN)/python -m pytest -q -m '' \
		tests/test_fuzz.py tests/test_hostile.py tests/test_faults.py tests/test_web_load.py

# Mutation testing of the library side (mutmut; not in CI: about an hour for every module on 2 cores).
# MODULES="library/navidrome web/guard" runs a subset; each module's results are kept in build/mutation/ and a
# rerun retests only what can have changed. Writes docs/explanation/mutation.md (benchmarks/mutation.py says how).
MODULES ?=
mutation: $(STAMP)
	$(BIN)/python benchmarks/mutation.py $(MODULES)

bench: $(STAMP)
	$(BIN)/python benchmarks/features.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/scan.py
	$(BIN)/python benchmarks/playlists.py
	$(BIN)/python benchmarks/engines.py

clean:
	rm -rf build .pytest_cache
