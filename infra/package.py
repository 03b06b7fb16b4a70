"""What the Lambda code asset holds: `lambdas/` as deployed, and its bytecode when it can be made.

Lambda's task root (/var/task) is read-only, so Python cannot cache the bytecode it compiles:
an asset of sources alone is compiled on every cold start (0.17-0.26x of `import boto3` here;
bench/import_cost.py). The asset therefore carries `__pycache__`
files, compiled by the runtime's own Python version (bytecode is specific to a minor version;
another version's would never be read): the Python that synthesizes the stack if it is that
version, or else that version's interpreter on the PATH (`python3.12`), if there is one.
They are checked-hash files: Python reads them only when the source beside them hashes the
same, so they are right whatever dates the asset's zip gives its files, and never stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

LAMBDAS_DIR = Path(__file__).resolve().parents[1] / "lambdas"
PACKAGE = "jobwarden"
# Not deployed: caches and build metadata, and the local emulator and demo (moto fills), which
# are for laptops and CI. The same patterns, in CDK's glob form, fingerprint the asset.
EXCLUDED_NAMES = ("__pycache__", "*.pyc", "*.egg-info")
EXCLUDED_PACKAGES = (f"{PACKAGE}/local",)
ASSET_EXCLUDES = [
    *(f"**/{name}" for name in EXCLUDED_NAMES),
    *EXCLUDED_PACKAGES,
    *(f"{package}/**" for package in EXCLUDED_PACKAGES),
]


def runtime_version(runtime_name: str) -> tuple[int, int]:
    """(3, 12) for Lambda's runtime name "python3.12"."""
    major, minor = runtime_name.removeprefix("python").split(".")
    return int(major), int(minor)


def _ignored(source: Path) -> Callable[[str, list[str]], Iterable[str]]:
    names_ignored = shutil.ignore_patterns(*EXCLUDED_NAMES)
    excluded = {source / package for package in EXCLUDED_PACKAGES}

    def ignore(directory: str, names: list[str]) -> Iterable[str]:
        skipped = set(names_ignored(directory, names))
        skipped.update(name for name in names if Path(directory) / name in excluded)
        return skipped

    return ignore


def stage(output_dir: Path, *, compiler: Sequence[str] | None, source: Path = LAMBDAS_DIR) -> None:
    """Copy the deployed package into `output_dir` (which may exist, empty) and, given a
    `compiler` (a Python command), compile it to checked-hash `.pyc` files with it."""
    shutil.copytree(source, output_dir, ignore=_ignored(source), dirs_exist_ok=True)
    if compiler:
        compile_all = ["-m", "compileall", "-q", "--invalidation-mode", "checked-hash"]
        subprocess.run([*compiler, *compile_all, str(output_dir)], check=True)


def compiler_for(runtime_name: str) -> list[str] | None:
    """The Python that writes bytecode the runtime reads: this one if it is the runtime's
    version, else `python3.X` on the PATH if it runs and says it is that version (a pyenv shim
    of a version not installed does neither); None when there is neither."""
    version = runtime_version(runtime_name)
    if sys.version_info[:2] == version:
        return [sys.executable]
    found = shutil.which(f"python{version[0]}.{version[1]}")
    return [found] if found and _reports(found, version) else None


def _reports(python: str, version: tuple[int, int]) -> bool:
    try:
        said = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return False
    return said == [str(part) for part in version]
