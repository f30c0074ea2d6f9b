"""The course's JupyterLab server settings, applied by `make lab` through JUPYTER_CONFIG_PATH."""

import os

c = get_config()  # noqa: F821 - defined by Jupyter when it loads this file

# The file browser shows the course, not build and test clutter.
c.ContentsManager.hide_globs = [
    "__pycache__", "*.pyc", "*.pyo", ".DS_Store", "*.so", "*.dylib", "*~",  # Jupyter's own
    "*.egg-info", "build", "dist", "test-artifacts", "jupyter-config", "gradebook.db-journal",
]

# Kernels inherit this: NumPy's BLAS on one thread. The course's matrices are small, and BLAS
# threads fighting over two busy cores made one training cell of topic 02 take 78 s (3.6 s on one
# thread, measured in one run).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
