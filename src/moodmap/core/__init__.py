"""The core both sides stand on: settings and errors, atomic files and checksums, audio decoding,
log-mel features, the mood plane's names, the engines that spread work over processes (or Ray),
and provenance records.

It imports nothing of ``inference``, ``library``, ``web`` or ``research``, and none of torch,
SciPy, matplotlib or librosa (tests/test_import_contract.py).
"""
