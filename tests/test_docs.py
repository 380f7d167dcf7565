"""The task pages in docs/ run as written, so they cannot rot.

In each page, a ```python block right after ``<!-- file: PATH -->`` is written to PATH, then every
```console block runs: a line ``$ command`` is a shell command (it must exit 0), and every other line
below it is a fragment its output must contain. Each page runs in a fresh copy of the checkout (the
package, codecs/, metrics/, the workflow, config and committed results), with `rdbench` and `python`
on PATH, so the copy's own codecs/ and metrics/ are the plugin folders, as in a user's clone.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = ["add-a-codec.md", "add-a-metric.md", "benchmark-a-checkpoint.md", "regenerate-tables.md",
         "read-the-report.md"]
COPIED = ["rdbench", "codecs", "metrics", "pyproject.toml", "Snakefile", "workflow", "config", "results"]
FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\s*```python\n(?P<body>.*?)```", re.S)
CONSOLE_BLOCK = re.compile(r"```console\n(?P<body>.*?)```", re.S)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("kodak_dir", "reference_dir")]


def steps(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected output fragments) of every console block, in page order."""
    out: list[tuple[str, list[str]]] = []
    for block in CONSOLE_BLOCK.finditer(text):
        for line in block["body"].splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif line.strip():
                if not out:
                    raise ValueError(f"output line {line!r} before any command")
                out[-1][1].append(line.strip())
    return out


def test_every_task_page_has_commands_to_run():
    for page in PAGES:
        assert steps((REPO / "docs" / page).read_text()), f"docs/{page} has no ```console block with a $ command"


@pytest.mark.parametrize("page", PAGES)
def test_the_page_runs_as_written(page, tmp_path):
    text = (REPO / "docs" / page).read_text()
    copy = tmp_path / "rdbench"
    for name in COPIED:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(REPO / name, copy / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, target in (("rdbench", f'"{sys.executable}" -m rdbench.cli'), ("python", f'"{sys.executable}"')):
        (bin_dir / tool).write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        (bin_dir / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("RDBENCH_PLUGINS", "RDBENCH_WEIGHTS")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(copy), env.get("PYTHONPATH")])))
    for block in FILE_BLOCK.finditer(text):
        path = copy / block["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block["body"])
    for command, expected in steps(text):
        proc = subprocess.run(command, shell=True, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"docs/{page}: `{command}` exited {proc.returncode}:\n{output[-3000:]}"
        for fragment in expected:
            assert fragment in output, f"docs/{page}: `{command}` did not print {fragment!r}:\n{output[-3000:]}"
