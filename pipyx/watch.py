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
    version read while loading (worker.files), changes."""
    def state(worker):
        found = snapshot(root)
        found.update(stat_files(p for p in worker.files if p not in found))
        return found

    async def watch(worker):
        log.info('watching %s for changes', root)
        last = state(worker)
        while True:
            await asyncio.sleep(interval)
            now = state(worker)
            if now == last:
                continue
            changed = sorted(p for p in set(now) | set(last) if now.get(p) != last.get(p))
            last = now
            log.info('%s changed: reloading', os.path.relpath(changed[0], root) if changed else root)
            await worker.reload()
            last = state(worker)     # the files of the version now running, which a reload may have changed
    return watch
