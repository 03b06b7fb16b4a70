"""The Lambda asset as `infra.package` stages it: the deployed files, and bytecode that
Python reads in a read-only task root, is never stale, and never changes the template."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra import package
from tests.infra.conftest import Synth, synthesize

THIS_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


def sources(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.py")}


def test_stage_copies_the_package_without_emulator_or_caches(tmp_path: Path) -> None:
    package.stage(tmp_path, compiler=None)
    staged = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    deployed = {f for f in sources(package.LAMBDAS_DIR) if not f.startswith("jobwarden/local/")}
    assert staged == deployed
    assert "jobwarden/handlers/sweep.py" in staged


def test_bytecode_is_checked_hash_of_each_source(tmp_path: Path) -> None:
    package.stage(tmp_path, compiler=[sys.executable])
    for name in sources(tmp_path):
        source = tmp_path / name
        pyc = Path(importlib.util.cache_from_source(str(source)))
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, name
        # PEP 552: flags 0b11 = hash-based and checked; then the source's hash.
        assert int.from_bytes(header[4:8], "little") == 0b11, name
        assert header[8:16] == importlib.util.source_hash(source.read_bytes()), name


def imports_from_bytecode(root: Path, module: str) -> bool:
    """Whether `module` loads from its bytecode with bytecode writing off (a read-only root)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    verbose = subprocess.run(
        [sys.executable, "-v", "-c", f"import {module}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    pyc = importlib.util.cache_from_source(str(root / (module.replace(".", "/") + ".py")))
    return f"code object from '{pyc}'" in verbose


def test_python_reads_the_bytecode_and_ignores_it_once_the_source_changed(
    tmp_path: Path,
) -> None:
    package.stage(tmp_path, compiler=[sys.executable])
    assert imports_from_bytecode(tmp_path, "jobwarden.model")
    model = tmp_path / "jobwarden" / "model.py"
    model.write_text(model.read_text() + "\nEDITED = True\n")
    assert not imports_from_bytecode(tmp_path, "jobwarden.model")


def test_the_runtimes_python_compiles_this_one_or_a_working_one_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert package.compiler_for(THIS_PYTHON) == [sys.executable]
    monkeypatch.setenv("PATH", str(tmp_path))
    assert package.compiler_for("python3.98") is None
    other = tmp_path / "python3.98"
    # A pyenv shim of a version that is not installed: on the PATH, but it cannot run.
    other.write_text("#!/bin/sh\necho 'pyenv: python3.98: command not found' >&2; exit 127\n")
    other.chmod(0o755)
    assert package.compiler_for("python3.98") is None
    # This interpreter under another version's name: it runs, but says what it is.
    other.unlink()
    other.symlink_to(sys.executable)
    assert package.compiler_for("python3.98") is None
    # One that runs and is that version (here, a stand-in that answers the version question).
    other.unlink()
    other.write_text("#!/bin/sh\necho 3 98\n")
    other.chmod(0o755)
    assert package.compiler_for("python3.98") == [str(other)]


def test_the_asset_hash_is_of_the_sources(
    default_synth: Synth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With bytecode or without, one template: a deploy from another Python changes nothing."""
    monkeypatch.setattr(package, "compiler_for", lambda runtime: [sys.executable])
    compiled = synthesize({}, tmp_path)
    (asset,) = [p for p in compiled.outdir.iterdir() if p.name.startswith("asset.")]
    assert any(asset.rglob("*.pyc"))
    assert compiled.template == default_synth.template
