"""samples/websocket end to end: its main.py as a real pipyx process, its page in headless Chromium (what is typed
comes back over the WebSocket), and /echo with the `websockets` client."""
import os

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from test.helpers import ROOT, PipyxProcess, free_port, headless_chromium, wait_for

SAMPLE = os.path.join(ROOT, 'samples', 'websocket', 'main.py')


@pytest.fixture
def sample(tmp_path):
    port = free_port()
    p = PipyxProcess([SAMPLE], cwd=str(tmp_path), env={'PORT': str(port), 'MAX_MESSAGE_SIZE': '1000'}).wait_ready(port)
    yield port
    p.stop()


@pytest.fixture
def browser(tmp_path):
    driver = headless_chromium(tmp_path / 'chromium', '1000,800')
    driver.set_page_load_timeout(10)
    yield driver
    driver.quit()


def test_page_echoes_what_is_typed(sample, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    browser.get('http://127.0.0.1:%d/' % sample)
    wait_for(lambda: browser.find_element(By.ID, 'state').text == 'open', 10, what='the WebSocket to open')
    for line in ('hello from chromium', 'grüße, 2nd line'):
        browser.find_element(By.ID, 'text').send_keys(line + Keys.ENTER)
    wait_for(lambda: [e.text for e in browser.find_elements(By.CSS_SELECTOR, '#log .echo')] ==
             ['hello from chromium', 'grüße, 2nd line'], 10, what='the echoes on the page')


def test_echo_with_the_websockets_client(sample):
    with ws_connect('ws://127.0.0.1:%d/echo' % sample, open_timeout=5, close_timeout=5) as ws:
        ws.send('text')
        assert ws.recv(5) == 'text'
        ws.send(b'\x00binary')
        assert ws.recv(5) == b'\x00binary'
        assert ws.ping(b'x').wait(5)
        ws.send('y' * 1001)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(5)
    assert closed.value.rcvd.code == 1009


def test_other_paths_are_plain_http(sample):
    import http.client
    c = http.client.HTTPConnection('127.0.0.1', sample, timeout=5)
    c.request('GET', '/')
    r = c.getresponse()
    assert r.status == 200 and b'WebSocket echo' in r.read()
    c.request('GET', '/nothing')
    r = c.getresponse()
    assert r.status == 404 and r.read() == b'not found\n'
