"""Prediction with a named or saved model, without PyTorch: ``registry`` (the shipped models and
``DEFAULT_MODEL``; ``resolve``), ``predictor`` (a model as prediction sees it, on onnxruntime) and
``predict`` (files → ``Prediction`` records, timelines included).

Imports only ``core`` (tests/test_import_contract.py).
"""
