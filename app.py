#!/usr/bin/env python3
"""CDK app entry: reads context, builds the JobWarden stack.

`cdk synth` runs it with cdk.json's context; `CDK_OUTDIR=cdk.out python app.py` (make synth)
works the same with no AWS credentials, no network and no Docker.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
for entry in (ROOT, ROOT / "lambdas"):  # `jobwarden` without an editable install
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

from infra.stack import build_app, cdk_json_context  # noqa: E402


def main() -> None:
    build_app(cdk_json_context()).synth()


if __name__ == "__main__":
    main()
