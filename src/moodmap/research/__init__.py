"""The research side (``pip install 'moodmap[train]'``): data sets and their loaders, the feature
cache, the networks, training and calibration, the paper's sweep, comparisons, reports and figures,
export to a named model with its card.

It may import every other part of moodmap; nothing outside ``research`` and the research commands
of ``moodmap.cli`` imports it (tests/test_import_contract.py).
"""
