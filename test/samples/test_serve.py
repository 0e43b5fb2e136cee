"""samples/serve end to end: the sample's main.py as a real pipyx process, its site loaded in headless Chromium
(through Selenium, Debian's chromium + chromedriver) and with curl; and pointed at another folder.

The browser test watches the wire through Chrome's performance log: every request the page makes succeeds, and a
reload is answered with 304s from the server's memory (x-cache: hit) or from the browser's own cache.
"""
import json
import os

import pytest

from test.files.support import curl, write
from test.helpers import ROOT, PipyxProcess, free_port, headless_chromium, wait_for

SAMPLE = os.path.join(ROOT, 'samples', 'serve')


@pytest.fixture
def sample(tmp_path):
    def start(**env):
        port = free_port()
        env = dict({'PORT': str(port), 'X_CACHE': '1'}, **env)
        p = PipyxProcess([os.path.join(SAMPLE, 'main.py')], cwd=str(tmp_path), env=env).wait_ready(port)
        started.append(p)
        return 'http://127.0.0.1:%d' % port
    started = []
    yield start
    for p in started:
        p.stop()


@pytest.fixture
def browser(tmp_path):
    driver = headless_chromium(tmp_path / 'chromium', '1200,900', performance_log=True)
    driver.set_page_load_timeout(10)
    yield driver
    driver.quit()                       # ends the chromedriver and Chromium this fixture started


class Wire:
    """What went over the network, from Chrome's performance log (which each read drains, so it is kept here)."""

    def __init__(self, driver, origin):
        self.driver, self.origin = driver, origin
        self.messages = []

    def mark(self):
        self.read()
        return len(self.messages)

    def read(self):
        self.messages += [json.loads(e['message'])['message'] for e in self.driver.get_log('performance')]

    def since(self, mark=0):
        """({path: [(wire status, x-cache), ...]}, [paths of failed loads]) for the origin's URLs after mark."""
        self.read()
        urls, seen, failed = {}, {}, []
        for m in self.messages:                 # request ids from the start: a response may follow the mark
            if m['method'] == 'Network.requestWillBeSent':
                urls[m['params']['requestId']] = m['params']['request']['url']
        for m in self.messages[mark:]:
            p = m['params']
            if m['method'] == 'Network.responseReceivedExtraInfo':
                headers = {k.lower(): v for k, v in p['headers'].items()}
                seen.setdefault(p['requestId'], []).append((p['statusCode'], headers.get('x-cache')))
            elif m['method'] == 'Network.loadingFailed':
                failed.append(p['requestId'])
        out = {}
        for rid, statuses in seen.items():
            url = urls.get(rid, '')
            if url.startswith(self.origin):
                out.setdefault(url[len(self.origin):], []).extend(statuses)
        return out, [urls.get(rid, rid) for rid in failed if urls.get(rid, '').startswith(self.origin)]


def page_state(driver):
    return driver.execute_script("""
        const h1 = document.querySelector('h1');
        return {ready: document.body.dataset.ready || null, info: document.body.dataset.info || null,
                infoText: (document.getElementById('info') || {}).textContent,
                status: (document.getElementById('status') || {}).className,
                h1Color: h1 ? getComputedStyle(h1).color : null,
                photo: document.getElementById('photo').naturalWidth,
                logo: document.getElementById('logo').naturalWidth,
                resources: performance.getEntriesByType('resource').map(e => [
                    new URL(e.name).pathname, e.responseStatus])};""")


def test_the_sample_site_in_chromium(sample, browser):
    origin = sample()
    d = browser
    net = Wire(d, origin)
    d.get(origin + '/')
    assert wait_for(lambda: page_state(d)['info'] == 'yes', 10, interval=0.05), page_state(d)
    state = page_state(d)
    assert state['ready'] == 'yes' and state['status'] == 'ready'            # app.js ran, and imported greet.mjs
    assert state['infoText'] == 'served by pipyx serve_files()'              # fetch() of info.json
    assert state['h1Color'] == 'rgb(34, 102, 153)'                           # style.css applied
    assert state['photo'] == 96 and state['logo'] == 64                      # the PNG and the SVG decoded
    resources = dict(state['resources'])
    for path in ('/css/style.css', '/js/app.js', '/js/greet.mjs', '/img/logo.svg', '/img/photo.png',
                 '/data/info.json'):
        assert resources.get(path) == 200, (path, state['resources'])
    assert wait_for(lambda: '/favicon.ico' in net.since()[0], 5, interval=0.05)      # asked for after the load
    first, failed = net.since()
    assert not failed, failed
    assert all(s in (200, 304) for statuses in first.values() for s, _ in statuses), first
    assert first['/'][0] == (200, 'miss')
    assert not [e for e in d.get_log('browser') if e['level'] == 'SEVERE']

    # A reload: the page is revalidated (304, from the server's memory); the assets, fresh for 10 minutes, come
    # from the browser's cache or, if it asks, from the server's memory.
    mark = net.mark()
    d.refresh()
    assert wait_for(lambda: page_state(d)['info'] == 'yes', 10, interval=0.05)
    again, failed = net.since(mark)
    assert not failed, failed
    assert again['/'] == [(304, 'hit')], again
    assert all(x == 'hit' for statuses in again.values() for _, x in statuses), again

    # The second page, through the folder redirect.
    d.get(origin + '/about')
    assert wait_for(lambda: d.execute_script("return !!document.getElementById('about')"), 10, interval=0.05)
    assert d.current_url == origin + '/about/'
    assert d.execute_script("return getComputedStyle(document.querySelector('h1')).color") == 'rgb(34, 102, 153)'


def test_the_sample_with_curl(sample):
    origin = sample()
    _, out, _ = curl('-o', '/dev/null', '-w', '%{http_code} %{size_download} %header{content-encoding}',
                     '--compressed', origin + '/data/access-log.txt')
    code, size, enc = out.split()
    assert code == b'200' and enc == b'br' and int(size) < 60000
    _, out, _ = curl('-I', origin + '/img/photo.png')
    assert b'content-type: image/png' in out and b'cache-control: public, max-age=600' in out
    assert b'content-encoding' not in out
    _, out, _ = curl('-o', '/dev/null', '-w', '%{http_code} %header{location}', origin + '/about')
    assert out == b'301 /about/'
    _, out, _ = curl('-r', '0-9', origin + '/data/access-log.txt')
    assert out == open(os.path.join(SAMPLE, 'www', 'data', 'access-log.txt'), 'rb').read()[:10]


def test_the_sample_on_another_folder_with_listing(sample, tmp_path):
    write(str(tmp_path / 'elsewhere' / 'notes' / 'todo.txt'), 'write docs\n')
    origin = sample(ROOT='elsewhere', LISTING='1')               # relative to where pipyx was started
    _, out, _ = curl(origin + '/notes/todo.txt')
    assert out == b'write docs\n'
    _, out, _ = curl(origin + '/notes/')
    assert b'<a href="todo.txt">todo.txt</a>' in out
