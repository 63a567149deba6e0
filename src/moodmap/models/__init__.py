"""Models: the two sides of one package.

Library side (no PyTorch): ``predictor`` (a model as prediction sees it, on onnxruntime) and
``registry`` (named models, ``resolve``). Research side (``moodmap[train]``): ``networks``
(``build_model``: the paper's CNN, MoodNet), ``checkpoint`` (the training form, on torch),
``onnx_form`` and ``card`` (export), losses and optimizers. Importing this package imports
neither side.
"""
