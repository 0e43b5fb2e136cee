"""A SOCKS5 (and 4/4a) server with an allow list, configured by environment.

    PORT=1080 ALLOW='*.example.com,10.0.0.*' USERS=/etc/pipyx/socks-users pipyx samples/l4/socks.py

PORT     where to listen (default 1080)
ALLOW    comma separated host globs a client may connect to ('*' matches any run of characters; default: every
         host); the host is the name or address the client asked for, matched without its case
PORTS    comma separated ports a client may connect to (default: any)
USERS    a file of name:password lines (# comments and blank lines skipped): SOCKS5 clients must log in with one of
         them, and SOCKS4 clients (which cannot) are refused. Without it, no login is asked.
"""
import fnmatch
import logging
import os
import sys

from pipyx import pipy, socks_target

PORT = os.environ.get('PORT', '1080')
ALLOW = [g.strip().lower() for g in os.environ.get('ALLOW', '*').split(',') if g.strip()]
PORTS = {int(p) for p in os.environ.get('PORTS', '').split(',') if p.strip()}
USERS_FILE = os.environ.get('USERS')

log = logging.getLogger('socks')


def read_users(path):
    users = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            name, sep, password = line.partition(':')
            if not sep or not name:
                sys.exit('samples/l4/socks.py: %s:%d is not name:password' % (path, number))
            users[name] = password
    return users


USERS = read_users(USERS_FILE) if USERS_FILE else None


def allowed(host, port, user):
    if PORTS and port not in PORTS:
        log.info('refused %s:%d for %s: port not in PORTS', host, port, user)
        return False
    if not any(fnmatch.fnmatchcase(host.lower(), glob) for glob in ALLOW):
        log.info('refused %s:%d for %s: host not in ALLOW', host, port, user)
        return False
    return True


def logged_in(user, password):
    return USERS.get(user) == password


(pipy()
 .listen(PORT)
 .accept_socks(allowed, auth=logged_in if USERS is not None else None)
 .to(lambda p: p.connect(socks_target, read_timeout=0)))
