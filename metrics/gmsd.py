"""GMSD (Xue et al., "Gradient Magnitude Similarity Deviation", IEEE TIP 2014), as piq computes it.

An example one-file metric plugin: rdbench registers the metric below because this file is in the
top-level ``metrics/`` folder (or a folder named by ``$RDBENCH_PLUGINS`` / ``plugins:``). Lower is
better (0 for identical images), so BD-rate uses 1 - GMSD. piq takes the luma of the RGB images,
halves them by 2x2 average pooling (the paper's choice for viewing distance) and compares Prewitt
gradient magnitudes; data range 1 after dividing by 255.
"""

from rdbench.metrics import metric


@metric("gmsd", higher_is_better=False, unit="", implementation="piq.gmsd", reduction="per image",
        aggregate="mean of per-image values")
def gmsd(reference, distorted):
    """GMSD of two HxWx3 uint8 RGB images (at least 2x2 pixels after piq's 2x downsampling)."""
    import numpy as np
    import piq
    import torch

    def tensor(rgb):
        return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].double() / 255

    with torch.no_grad():
        return float(piq.gmsd(tensor(reference), tensor(distorted), data_range=1.0))
