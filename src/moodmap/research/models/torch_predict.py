"""Running a trained network over feature arrays, in batches, without autograd."""
from __future__ import annotations

import numpy as np
import torch


def predict_features(model: torch.nn.Module, features, batch_size: int = 256,
                     offset=(0.0, 0.0), scale=(1.0, 1.0)) -> np.ndarray:
    """(n, n_mels, frames) features → (n, 2) valence/arousal on 0–1 (model in eval mode)."""
    model.eval()
    out = np.empty((len(features), 2), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(features), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(features[start:start + batch_size], dtype=np.float32))
            out[start:start + len(batch)] = model(batch).numpy()
    return out * np.asarray(scale, np.float32) + np.asarray(offset, np.float32)
