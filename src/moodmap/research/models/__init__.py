"""The networks and what training does with them: ``networks`` (``build_model``: the paper's CNN,
MoodNet), ``checkpoint`` (the training form, on torch), ``torch_predict`` (a network over feature
arrays in batches, for evaluation), ``onnx_form`` and ``card`` (export), losses and optimizers.

Prediction for library owners does not come through here: it runs the exported ONNX form
(``moodmap.inference``).
"""
