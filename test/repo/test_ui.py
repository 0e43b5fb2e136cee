"""The repo's admin page (pipyx/repo/ui), driven in headless Chromium through Selenium.

A real repo server and a real worker run on 127.0.0.1: the page creates a codebase, writes and publishes it, and must
show the worker that runs it, then follow it to the next version. Skipped only when Chromium, chromedriver or
selenium are not installed.
"""
import os
import urllib.error
import urllib.request

import pytest

from test.helpers import REPO_TOKEN, ROOT, PipyxProcess, RepoServer, answer, free_port, headless_chromium, wait_for

APP = """from pipyx import pipy, Message
pipy().listen('127.0.0.1:{port}').serve_http(Message('{text}'))
"""


@pytest.fixture
def repo(tmp_path):
    r = RepoServer(str(tmp_path / 'repo'), free_port(), token_option=True).ready()
    yield r
    r.stop()


@pytest.fixture
def browser(tmp_path):
    driver = headless_chromium(tmp_path / 'chromium', '1400,1100')
    driver.set_page_load_timeout(10)
    yield driver
    driver.quit()                       # ends the chromedriver and Chromium this fixture started


# -- helpers: what the page shows, read in one script so no element goes stale between two reads -------------------

def until(driver, what, timeout=10.0):
    """Waits for what(driver) to be truthy; fails with the page's message and instance list, which say why."""
    result = wait_for(lambda: what(driver), timeout, interval=0.1)
    assert result, 'timed out; page message: %r; instances: %r' % (message(driver), instances(driver))
    return result


def message(driver):
    return driver.execute_script(
        "const m = document.getElementById('message');"
        "return m.hidden ? null : [m.className, document.getElementById('message-text').textContent];")


def instances(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#instances tr[data-id]')].map(tr => Object.fromEntries("
        "[...tr.cells].map(td => [td.className.split(' ')[0].replace('col-', ''), td.textContent])));")


def text_of(driver, css):
    return driver.find_element('css selector', css).text


def type_into(driver, css, text):
    e = driver.find_element('css selector', css)
    e.clear()
    e.send_keys(text)


def click(driver, css):
    driver.find_element('css selector', css).click()


def expect_ok(driver, text):
    m = until(driver, lambda d: message(d) and text in message(d)[1] and message(d))
    assert m[0] == 'ok', m


def open_page(driver, repo, token):
    driver.get('http://127.0.0.1:%d/' % repo.port)
    type_into(driver, '#token', token)


# -- the tests -------------------------------------------------------------------------------------------------------

def test_page_creates_publishes_and_follows_a_worker(tmp_path, repo, browser):
    d = browser
    port = free_port()
    open_page(d, repo, REPO_TOKEN)

    type_into(d, '#new-name', 'hello')
    click(d, '#create')
    expect_ok(d, 'Created codebase hello')
    assert text_of(d, '#cb-title') == 'hello'

    type_into(d, '#new-file-path', 'main.py')
    click(d, '#create-file-button')
    until(d, lambda d: text_of(d, '#editor-path') == 'main.py' and d.find_element('css selector', '#editor').is_enabled())
    type_into(d, '#editor', APP.format(port=port, text='hello v1'))
    assert text_of(d, '#dirty') == 'unsaved'
    click(d, '#save')
    expect_ok(d, 'Saved main.py')
    click(d, '#set-entry')
    expect_ok(d, 'main.py is now the entry')
    click(d, '#publish')
    expect_ok(d, 'Published hello version 1.')

    worker = PipyxProcess(['http://127.0.0.1:%d/repo/hello/' % repo.port, '--repo-cache', str(tmp_path / 'cache')],
                          cwd=str(tmp_path), env={'PIPYX_REPO_TOKEN': REPO_TOKEN})
    try:
        worker.wait_ready(port)
        assert answer(port) == 'hello v1'

        def row(version):
            return lambda d: [i for i in instances(d) if i['codebase'] == 'hello' and i['version'] == version
                              and i['status'] == 'running' and i['address'] == '127.0.0.1:%d' % port]
        [seen] = until(d, row('1'))
        assert seen['id'].endswith('-%d' % worker.pid) and seen['error'] == '' and seen['last-seen'].endswith('ago'), seen

        # The next version, edited in the page: the worker switches to it and the list shows it.
        click(d, '#files button[data-path="main.py"]')
        type_into(d, '#editor', APP.format(port=port, text='hello v2'))
        click(d, '#save')
        expect_ok(d, 'Saved main.py')
        click(d, '#publish')
        expect_ok(d, 'Published hello version 2.')
        assert wait_for(lambda: answer(port) == 'hello v2', 10, interval=0.05), worker.log()
        until(d, row('2'))
    finally:
        worker.stop()

    # Versions, newest first, and the line diff between them.
    assert [tr.get_attribute('data-version') for tr in d.find_elements('css selector', '#versions tr')] == ['2', '1']
    assert d.find_element('css selector', '#diff-from').get_attribute('value') == '1'
    click(d, '#diff')
    until(d, lambda d: '1 changed' in text_of(d, '#diff-result'))
    click(d, '#diff-result details[data-path="main.py"] summary')
    diff = until(d, lambda d: [(e.get_attribute('class'), e.text)
                               for e in d.find_elements('css selector', '#diff-result pre.diff span')])
    assert ('del', "- pipy().listen('127.0.0.1:%d').serve_http(Message('hello v1'))" % port) in diff, diff
    assert ('add', "+ pipy().listen('127.0.0.1:%d').serve_http(Message('hello v2'))" % port) in diff, diff

    shot = tmp_path / 'admin-page.png'
    assert d.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(b'\x89PNG\r\n\x1a\n') and len(data) > 1000


def test_page_says_when_the_token_is_missing_or_wrong(repo, browser):
    d = browser
    repo.publish('app', {'main.py': 'print(1)\n'})
    open_page(d, repo, '')
    click(d, '#codebases button[data-name="app"]')
    until(d, lambda d: d.find_elements('css selector', '#files button[data-path="main.py"]'))
    click(d, '#files button[data-path="main.py"]')
    until(d, lambda d: d.find_element('css selector', '#editor').get_attribute('value') == 'print(1)\n')
    d.find_element('css selector', '#editor').send_keys('print(2)\n')

    click(d, '#save')
    m = until(d, lambda d: message(d))
    assert m[0] == 'error' and 'needs the repo token' in m[1] and '401' in m[1], m

    type_into(d, '#token', 'not-the-token')
    click(d, '#save')
    m = until(d, lambda d: message(d) and '403' in message(d)[1] and message(d))
    assert m[0] == 'error' and 'refused the token' in m[1] and 'wrong token' in m[1], m
    assert text_of(d, '#dirty') == 'unsaved'           # the edit is still there to save with the right token
    # The token is kept for the tab: a reload brings it back.
    d.refresh()
    assert d.find_element('css selector', '#token').get_attribute('value') == 'not-the-token'


def test_page_files_are_served_with_their_types_and_nothing_else(repo):
    def fetch(path, method='GET'):
        req = urllib.request.Request('http://127.0.0.1:%d%s' % (repo.port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    for path, ctype in (('/', 'text/html'), ('/ui/', 'text/html'), ('/ui/index.html', 'text/html'),
                        ('/ui/app.js', 'text/javascript'), ('/ui/style.css', 'text/css')):
        status, headers, body = fetch(path)
        assert status == 200 and headers['content-type'] == ctype + '; charset=utf-8' and body, path
        assert "default-src 'self'" in headers['content-security-policy']
    ui_dir = os.path.join(ROOT, 'pipyx', 'repo', 'ui')
    assert fetch('/ui/app.js')[2] == open(os.path.join(ui_dir, 'app.js'), 'rb').read()
    for path in ('/ui/nope.js', '/ui/%2e%2e/api.py', '/ui/..%2fapi.py', '/ui/sub/app.js', '/favicon.ico'):
        assert fetch(path)[0] == 404, path
    assert fetch('/', 'POST')[0] == 405
    assert fetch('/ui/app.js', 'HEAD')[0] == 200
