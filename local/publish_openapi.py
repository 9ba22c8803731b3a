"""Write the HTTP API's OpenAPI document to a file.

``make openapi`` runs ``python -m local.publish_openapi`` to refresh ``docs/openapi.json``, the
published copy clients read or generate from without running anything. A test keeps it equal to
the document the API serves at ``/openapi.json``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

PUBLISHED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.publish_openapi", description=__doc__)
    parser.add_argument("target", nargs="?", type=Path, default=PUBLISHED, help="default: docs/openapi.json")
    args = parser.parse_args(argv)

    from backend.handlers.api import openapi_json

    args.target.write_text(openapi_json() + "\n")
    print(f"wrote {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
