"""``python -m asl_recognition``: the same as the ``asl-recognition`` command."""

from __future__ import annotations

import sys

from asl_recognition.cli import main

if __name__ == "__main__":
    sys.exit(main())
