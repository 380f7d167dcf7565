"""The parts of ``rdbench train`` (the loop itself is :mod:`rdbench.train`).

- :mod:`rdbench.training.config`: the run's settings and their checks;
- :mod:`rdbench.training.loss`: the paper's rate-distortion loss and a differentiable MS-SSIM;
- :mod:`rdbench.training.data`: training folders, the held-back validation images, crops cut on the device;
- :mod:`rdbench.training.step`: one optimisation step (eager, ``torch.compile``, CUDA graph);
- :mod:`rdbench.training.models`: fresh models, rate-point lambdas and weight export through the learned codecs;
- :mod:`rdbench.training.evaluate`: validation on the held-back images and the CSV log;
- :mod:`rdbench.training.checkpoint`: atomic checkpoints that resume bit-exactly (on CPU).
"""
