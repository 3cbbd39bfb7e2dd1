# The two set-up commands of the README: `make demo` and `make test`. Each creates .venv on
# first use; nothing has to be installed by hand (ffmpeg, the CJK font and espeak-ng all come
# from PyPI wheels).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
XTTS_STAMP := $(VENV)/.installed-xtts
VOXCPM := voxcpm==2.0.3

.PHONY: demo test lint typecheck unit install install-xtts clean i18n bench-deps chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Voice cloning (the xtts and voxcpm extras), for operators with XTTS-v2 or VoxCPM2 weights and
# for the tests; the ray extra too, for the tests' local Ray cluster.
# voxcpm is installed without the dependencies its wheel declares (a demo UI, training and
# model-download stack that inference never imports); the voxcpm extra lists what it imports.
# torchaudio's only PyPI build links CUDA's libraries (libc10_cuda.so) and was built against
# another torch, so importing it beside the pinned CPU torch fails in its compiled extension.
# Without that extension torchaudio runs on plain torch, and plain torch is all XTTS uses of it
# (mel spectrograms, resampling): the extension's files are removed after installing.
$(XTTS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,xtts,voxcpm,ray]'
	$(BIN)/pip install --quiet --no-deps $(VOXCPM)
	$(BIN)/python -c 'import importlib.util, pathlib; \
	    lib = pathlib.Path(importlib.util.find_spec("torchaudio").origin).parent / "lib"; \
	    [path.unlink() for path in lib.glob("*.so")]'
	touch $(XTTS_STAMP)

install: $(STAMP)

install-xtts: $(XTTS_STAMP)

demo: $(STAMP)
	$(BIN)/tuanyuan demo --out demo-out

lint: $(XTTS_STAMP)
	$(BIN)/ruff check bot engine tests
	$(BIN)/ruff format --check bot engine tests

typecheck: $(XTTS_STAMP)
	$(BIN)/mypy

# The admin web's browser tests (tests/test_web.py) run Debian's chromium headless; CI runs
# as root on Debian bookworm, where apt installs it when it is missing.
chromium:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q --no-install-recommends chromium)

# Two processes, a test file each at a time (module fixtures render once): a test mostly keeps
# one core busy, so on CI's two cores the suite takes about two thirds of the time in one. Files
# go out in the order collected, the slowest first (tests/auxil/slowest_first.py), so that no
# long file starts last while the other process has nothing left to do.
unit: $(XTTS_STAMP) chromium
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=30

test: lint typecheck unit

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache tests/artefacts

# Refresh the translation catalogs after changing user-facing text; tests/test_i18n.py fails
# until every new message is translated in bot/locale/*/LC_MESSAGES/tuanyuan.po.
i18n: $(STAMP)
	$(BIN)/pybabel extract -k _ --no-location --omit-header --width 100 -o bot/locale/tuanyuan.pot bot
	$(BIN)/pybabel update -i bot/locale/tuanyuan.pot -d bot/locale -D tuanyuan --ignore-obsolete --width 100
	rm bot/locale/tuanyuan.pot

# The benchmarks' extra measuring tools. invisible-watermark declares a full OpenCV and an
# unpinned torch it does not need for DWT-DCT-SVD, so it and blind-watermark go in without deps.
# Real speakers for `bench likeness` (engine/likeness/_real.py): pyannote-audio's wheel only
# for the sample conversation it ships (its own dependencies are never imported), and
# pocketsphinx's source archive, whose tests carry LibriVox recordings, kept as it is.
# Real photos the same way, kept and never installed: scikit-image's wheel (its astronaut.png)
# and face_recognition's source archive (its tests' obama.jpg).
bench-deps: $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/pip install --quiet --no-deps invisible-watermark==0.2.0 blind-watermark==0.4.4 \
		pyannote-audio==4.0.7
	$(BIN)/pip download --quiet --no-deps --no-binary :all: pocketsphinx==5.1.1 \
		face_recognition==1.3.0 -d $(VENV)/share/tuanyuan-bench
	$(BIN)/pip download --quiet --no-deps --only-binary :all: scikit-image==0.26.0 \
		-d $(VENV)/share/tuanyuan-bench
