#!/usr/bin/env python3
"""Latency benchmark: the same as ``voiceagent bench`` (see ``--help``)."""

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from voiceagent.bench.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
