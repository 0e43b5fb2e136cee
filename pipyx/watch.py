"""--watch: reload the script when a file in its directory changes, or a file its filters read while loading (the
certificates and keys accept_tls and connect_tls named, wherever they are).

Polling mtimes keeps this free of platform file-notification APIs; a script directory is small, so walking it twice a
second costs next to nothing. The reload is the SIGHUP one: the new version is loaded first and only switched to when
it loads, so a half-saved or broken edit leaves the running version in place.
"""
import asyncio
import logging
import os

log = logging.getLogger('pipyx')

INTERVAL = 0.5


def watched_dir(script):
    """The directory --watch looks at: the script's own, or the directory given as the script."""
    path = os.path.abspath(script)
    return path if os.path.isdir(path) else os.path.dirname(path)


def snapshot(root):
    """{path: (mtime_ns, size)} of every file under root, skipping hidden entries and bytecode caches (they change
    without the user editing anything)."""
    found = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
        for name in files:
            if name.startswith('.') or name.endswith(('.pyc', '.swp', '~')):
                continue
            path = os.path.join(directory, name)
            try:
                st = os.stat(path)
            except OSError:          # removed between listing and stat: the next round sees it gone
                continue
            found[path] = (st.st_mtime_ns, st.st_size)
    return found


def stat_files(paths):
    """{path: (mtime_ns, size), or None while it is missing} of each of paths: a file that appears, goes or changes
    is a change."""
    found = {}
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            found[path] = None
        else:
            found[path] = (st.st_mtime_ns, st.st_size)
    return found


def watcher(root, interval=INTERVAL):
    """A background task for Worker.run: reloads the worker whenever the snapshot of root, or of the files the running
    version read (worker.files: while loading, and at handshakes for a certificate callable), changes. A file that
    joins worker.files is only noted: being read is no change."""
    def state(worker):
        tree = snapshot(root)
        return tree, stat_files(p for p in list(worker.files) if p not in tree)

    async def watch(worker):
        log.info('watching %s for changes', root)
        last_tree, last_files = state(worker)
        while True:
            await asyncio.sleep(interval)
            tree, files = state(worker)
            changed = sorted(p for p in set(tree) | set(last_tree) if tree.get(p) != last_tree.get(p))
            changed += sorted(p for p in last_files if p in files and files[p] != last_files[p])
            last_tree, last_files = tree, files
            if not changed:
                continue
            log.info('%s changed: reloading', os.path.relpath(changed[0], root))
            await worker.reload()
            last_tree, last_files = state(worker)     # the files of the version now running
    return watch
