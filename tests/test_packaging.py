"""The sdist and wheel meet today's PyPA norms, and the sdist carries a test suite that runs.

Both are built once, from a copy of the source tree (so the build never writes into the
working tree), with ``python -m build --no-isolation``: the build backend comes from the
test extra, no network needed.
"""

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "build", "dist", "site", "*.egg-info", "__pycache__", "*.py[cod]",
              ".pytest_cache", ".hypothesis")
EXTRAS = {"tf", "plot", "progress", "tensorboard", "notebook", "all", "docs", "test"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(source copy, sdist path, wheel path, build output)."""
    source = tmp_path_factory.mktemp("source") / "minigd"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    out = tmp_path_factory.mktemp("dist")
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: that warning
    # is about the environment the tests run in, not about the package.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out),
                             str(source)], capture_output=True, text=True, env=env, check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    (sdist,), (wheel,) = out.glob("*.tar.gz"), out.glob("*.whl")
    return source, sdist, wheel, log


@pytest.fixture(scope="module")
def metadata(built):
    _, _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def sdist_files(sdist):
    """Paths inside the sdist, relative to its top folder."""
    with tarfile.open(sdist) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def source_files(folder):
    return {path.relative_to(folder.parent).as_posix() for path in folder.rglob("*") if path.is_file()}


def test_the_build_prints_no_warning(built):
    *_, log = built
    assert not re.search(r"warn|deprecat", log, re.I), log


def test_twine_check_strict_passes(built):
    _, sdist, wheel, _ = built
    result = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wheel_holds_every_module_py_typed_and_the_license_and_no_tests(built):
    source, _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    modules = {name for name in source_files(source / "minigd") if name.endswith(".py")}
    assert modules and modules <= names
    assert "minigd/py.typed" in names
    assert any(re.fullmatch(r"minigd-[^/]+\.dist-info/licenses/LICENSE", name) for name in names)
    assert not [name for name in names if name.startswith("tests/")]


def test_the_metadata_has_an_spdx_license_classifiers_and_the_extras(built, metadata):
    source, *_ = built
    init = (source / "minigd" / "__init__.py").read_text()
    assert metadata["Version"] == re.search(r'__version__ = "([^"]+)"', init).group(1)
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License"] is None  # the deprecated free-text field is gone
    assert metadata["Author"] and metadata["Requires-Python"] == ">=3.11"
    assert set(metadata.get_all("Provides-Extra")) == EXTRAS


def test_every_classifier_is_a_known_trove_classifier(metadata):
    from trove_classifiers import classifiers, deprecated_classifiers

    given = metadata.get_all("Classifier")
    assert "Typing :: Typed" in given
    assert [name for name in given if name not in classifiers or name in deprecated_classifiers] == []


def test_the_readme_on_pypi_has_no_relative_link(metadata):
    description = metadata.get_payload()
    assert "## Quick start" in description and metadata["Description-Content-Type"] == "text/markdown"
    targets = re.findall(r"\]\(([^)\s]+)", description) + re.findall(r"(?:href|src)=\"([^\"]+)", description)
    assert [target for target in targets if not re.match(r"https?://|#", target)] == []


def test_the_sdist_carries_the_tests_their_helpers_and_the_docs(built):
    source, sdist, _, _ = built
    names = sdist_files(sdist)
    assert {"tests/conftest.py", "tests/helpers.py", "tests/seed_program.py", "LICENSE",
            "mkdocs.yml", ".ci/run", "minigd/py.typed"} <= names
    assert source_files(source / "tests") <= names
    assert source_files(source / "docs") <= names


def test_tests_run_from_the_unpacked_sdist(built, tmp_path):
    _, sdist, _, _ = built
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (unpacked,) = tmp_path.iterdir()
    # cwd comes first on sys.path, so these tests import the sdist's own minigd
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/test_import.py"], cwd=unpacked, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout
