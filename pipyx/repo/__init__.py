"""The pipyx repo: a server holding codebases that pipyx workers pull, and reload when a new version is published.

`python -m pipyx.repo` runs it (pipyx.repo.server.main); the HTTP contract is in docs/repo-api.md.
"""
from .store import Conflict, NotFound, SQLiteStore, Store, check_name, check_path


def main(argv=None):
    """Runs the repo server with command-line arguments argv; returns the exit code."""
    from .server import main as run
    return run(argv)


__all__ = ['Store', 'SQLiteStore', 'NotFound', 'Conflict', 'check_name', 'check_path', 'main']
