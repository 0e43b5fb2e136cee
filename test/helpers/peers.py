"""The programs the tests talk to (curl, wrk, chromium, etcd, mosquitto...), and what a test does when one is
missing: skipped in a plain pytest run, a failure under scripts/test, which installs them all."""
import os
import shutil

import pytest

# scripts/test installs every peer the tests talk to and says so here.
PEERS_REQUIRED = os.environ.get('PIPYX_TEST_PEERS') == 'required'

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'


def missing_peer(reason):
    """A peer a test needs is not on this machine."""
    if PEERS_REQUIRED:
        pytest.fail(reason + ' (scripts/test installs it: the set-up is broken)')
    pytest.skip(reason)


def lacks(command):
    """For skipif: the command is not installed, in a run that does not require the peers."""
    return not PEERS_REQUIRED and shutil.which(command) is None


def headless_chromium(profile_dir, window_size='1200,900', performance_log=False):
    """A selenium driver of Debian's headless Chromium (see missing_peer when it is not installed)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        missing_peer('headless browser test: %s not installed' % ', '.join(missing))
    webdriver = pytest.importorskip('selenium.webdriver', reason='headless browser test: selenium not installed')
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--disable-background-networking', '--disable-component-update', '--disable-sync',
                '--no-first-run', '--window-size=%s' % window_size, '--user-data-dir=%s' % profile_dir):
        options.add_argument(arg)
    if performance_log:
        options.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
