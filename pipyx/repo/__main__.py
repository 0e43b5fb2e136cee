"""python -m pipyx.repo: runs the repo server (see pipyx/repo/server.py)."""
import sys

from .server import main

sys.exit(main())
