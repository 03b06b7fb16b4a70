"""What the Lambda code asset holds: `lambdas/` as deployed, and its bytecode when it can be made.

Lambda's task root (/var/task) is read-only, so Python cannot cache the bytecode it compiles:
an asset of sources alone is compiled on every cold start (about as long again as importing
the package from bytecode; bench/import_cost.py). The asset therefore carries `__pycache__`
files when the Python that synthesizes the stack is the runtime's own version (bytecode is
specific to a minor version; another version's would never be read). They are checked-hash
files: Python reads them only when the source beside them hashes the same, so they are right
whatever dates the asset's zip gives its files, and never stale.
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
from collections.abc import Callable, Iterable
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


def stage(output_dir: Path, *, bytecode: bool, source: Path = LAMBDAS_DIR) -> None:
    """Copy the deployed package into `output_dir` (which may exist, empty) and, with
    `bytecode`, compile it with this interpreter, as checked-hash `.pyc` files."""
    shutil.copytree(source, output_dir, ignore=_ignored(source), dirs_exist_ok=True)
    if bytecode:
        compiled = compileall.compile_dir(
            output_dir,
            quiet=1,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )
        if not compiled:
            raise RuntimeError(f"could not compile the Lambda package in {output_dir}")


def bytecode_for(runtime_name: str) -> bool:
    """Whether this interpreter writes bytecode the runtime reads."""
    return sys.version_info[:2] == runtime_version(runtime_name)
