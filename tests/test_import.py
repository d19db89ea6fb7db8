"""Heavy dependencies stay out of `import minigd`, and a missing one explains itself."""

import subprocess
import sys
from pathlib import Path

import pytest

import minigd as mg


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_import_minigd_does_not_import_tensorflow_or_matplotlib():
    result = run_python(
        "import sys, minigd\n"
        "print(sorted(m for m in ('tensorflow', 'matplotlib', 'tqdm') if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_missing_tensorflow_says_which_pip_install_fixes_it():
    result = run_python(
        "import sys\n"
        "sys.modules['tensorflow'] = None  # as if it were not installed\n"
        "import minigd as mg\n"
        "x, y = mg.make_linear_data(n=5, seed=0)\n"
        "try:\n"
        "    mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients='tape').fit(mg.Linear(), x, y, steps=1)\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert "pip install 'minigd[tf]'" in result.stdout, result.stderr


@pytest.mark.parametrize("name", mg.__all__)
def test_every_public_name_is_documented(name):
    assert getattr(mg, name).__doc__, f"minigd.{name} has no docstring"
    api = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text()
    assert f"::: minigd.{name}\n" in api, f"minigd.{name} is missing from docs/api.md"
