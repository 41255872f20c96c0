"""The README's Python API example runs as written (against the sample models)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_python_example_runs(sample_models, tmp_path):
    text = README.read_text()
    section = text[text.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "samples").mkdir()
    (tmp_path / "samples" / "models").symlink_to(next(iter(sample_models.values())).parent)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\d+\.\d{3} ms, [\d,]+ cycles$", r.stdout, re.M)
    assert "graph cgra_baseline(" in r.stdout
