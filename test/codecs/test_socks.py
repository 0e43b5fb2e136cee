"""SOCKS handshakes with bytes alone: SocksClient <-> SocksServer, split anywhere, and greetings, logins and requests
that are malformed, wrong or unsupported, each answered with the protocol's error."""
import struct

import pytest
from hypothesis import given, settings, strategies as st

from pipyx._native import SocksClient, SocksServer

NEED_MORE, CHECK_AUTH, CHECK_CONNECT, DONE, FAILED = 0, 1, 2, 3, -1

host = st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str),
                 st.from_regex(r'[a-z0-9]([a-z0-9.-]{0,60}[a-z0-9])?', fullmatch=True))
port = st.integers(min_value=1, max_value=65535)
cred = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


def feed_split(server, data, cuts):
    """Feeds data to server in pieces; returns the results of every feed."""
    last, results = 0, []
    for cut in sorted(set(c for c in cuts if 0 < c < len(data))) + [len(data)]:
        results.append(server.feed(data[last:cut]))
        last = cut
    return results


def converse(client, server, user_ok=lambda u, p: True, allow=lambda h, p, u: True, cuts=(), early=b''):
    """Runs a whole handshake between the two, the client's bytes to the server split at cuts; returns the
    server's decisions and the client's result."""
    seen = []
    to_server = client.start()
    first = True
    while True:
        rs = feed_split(server, to_server + (early if first else b''), cuts if first else ())
        first = False
        r = [x for x in rs if x != NEED_MORE][-1:] or [NEED_MORE]
        r = r[0]
        while r in (CHECK_AUTH, CHECK_CONNECT):
            if r == CHECK_AUTH:
                seen.append(('auth', server.user, server.password))
                r = server.accept_auth(user_ok(server.user, server.password))
            else:
                seen.append(('connect', server.host, server.port, server.user))
                r = server.accept_connect(allow(server.host, server.port, server.user))
        out = server.take_output()
        c = client.feed(out) if out else NEED_MORE
        if c in (DONE, FAILED) or r == FAILED:
            return seen, c, r
        to_server = client.take_output()
        if not to_server:
            return seen, c, r


@settings(max_examples=300, deadline=None)
@given(host, port, st.one_of(st.none(), st.tuples(cred, cred)), st.binary(max_size=30),
       st.lists(st.integers(min_value=0, max_value=120), max_size=6))
def test_socks5_round_trip_split_anywhere(h, p, login, early, cuts):
    client = SocksClient(h, p, *(login or (None, None)))
    server = SocksServer(login is not None)
    seen, c, r = converse(client, server, lambda u, pw: (u, pw) == login, cuts=cuts)
    assert (c, r) == (DONE, DONE)
    expected = [('connect', h, p, login[0] if login else None)]
    if login:
        expected.insert(0, ('auth',) + login)
    assert seen == expected
    # what the client sent after its request reaches the target untouched
    server.feed(early) if early else None
    assert server.take_rest() == early


def test_wrong_password_is_refused_with_the_login_failure():
    client = SocksClient('example.com', 443, 'alice', 'wrong')
    server = SocksServer(True)
    seen, c, r = converse(client, server, lambda u, pw: pw == 'secret')
    assert r == FAILED and c == FAILED
    assert 'wrong username or password' in server.error and "'alice'" in server.error
    assert 'refused username' in client.error


def test_refused_connect_gets_not_allowed():
    client = SocksClient('10.0.0.1', 22)
    server = SocksServer()
    seen, c, r = converse(client, server, allow=lambda h, p, u: p != 22)
    assert (c, r) == (FAILED, FAILED)
    assert 'not allowed by ruleset' in client.error


def socks5_server_after_greeting(require_auth=False):
    s = SocksServer(require_auth)
    assert s.feed(b'\x05\x01' + (b'\x02' if require_auth else b'\x00')) == NEED_MORE
    s.take_output()
    return s


@pytest.mark.parametrize('data, reply, why', [
    (b'\x05\x00', b'\x05\xff', 'offers no method'),                          # NMETHODS 0
    (b'\x05\x01\x02', b'\x05\xff', 'no method this server accepts'),         # only user/pass, none required
    (b'GET / HTTP/1.1\r\n', b'', 'not a SOCKS greeting'),
    (b'\x16\x03\x01', b'', 'not a SOCKS greeting'),
])
def test_malformed_greeting(data, reply, why):
    for cuts in ((), range(1, len(data))):
        s = SocksServer()
        assert FAILED in feed_split(s, data, cuts)
        assert s.take_output() == reply and why in s.error


def test_login_required_but_not_offered():
    s = SocksServer(True)
    assert s.feed(b'\x05\x01\x00') == FAILED and s.take_output() == b'\x05\xff'


@pytest.mark.parametrize('request_, reply, why', [
    (b'\x05\x02\x00\x01' + bytes(6), b'\x05\x07', 'command 2 is not supported'),       # BIND
    (b'\x05\x03\x00\x01' + bytes(6), b'\x05\x07', 'command 3 is not supported'),       # UDP ASSOCIATE
    (b'\x05\x01\x00\x09' + bytes(6), b'\x05\x08', 'address type 9'),
    (b'\x05\x01\x00\x03\x00\x00\x50', b'\x05\x01', 'empty host name'),
    (b'\x04\x01\x00\x01' + bytes(6), b'\x05\x01', 'version 4'),
])
def test_socks5_bad_requests(request_, reply, why):
    s = socks5_server_after_greeting()
    assert s.feed(request_) == FAILED
    assert s.take_output()[:2] == reply and why in s.error


def test_socks5_login_of_the_wrong_version():
    s = socks5_server_after_greeting(True)
    assert s.feed(b'\x05\x05alice\x06secret') == FAILED
    assert s.take_output() == b'\x01\x01'


def test_socks4_and_4a():
    s = SocksServer()
    assert s.feed(b'\x04\x01' + struct.pack('!H', 8080) + bytes([10, 0, 0, 7]) + b'bob\x00hello') == CHECK_CONNECT
    assert (s.version, s.host, s.port, s.user) == (4, '10.0.0.7', 8080, 'bob')
    assert s.accept_connect(True) == DONE
    assert s.take_output() == b'\x00\x5a' + bytes(6) and s.take_rest() == b'hello'
    s = SocksServer()
    data = b'\x04\x01\x00\x50\x00\x00\x00\x01\x00example.org\x00'
    assert NEED_MORE in feed_split(s, data, range(1, len(data)))
    assert (s.host, s.port, s.user) == ('example.org', 80, None)
    assert s.accept_connect(False) == FAILED and s.take_output() == b'\x00\x5b' + bytes(6)


@pytest.mark.parametrize('data, why', [
    (b'\x04\x02\x00\x50\x01\x02\x03\x04\x00', 'command 2'),
    (b'\x04\x01\x00\x50\x01\x02\x03\x04' + b'u' * 300, 'user id longer'),
    (b'\x04\x01\x00\x50\x00\x00\x00\x01\x00' + b'h' * 300, 'host name longer'),
])
def test_socks4_bad_requests(data, why):
    s = SocksServer()
    assert FAILED in feed_split(s, data, ())
    assert s.take_output() == b'\x00\x5b' + bytes(6) and why in s.error


def test_socks4_refused_where_a_login_is_required():
    s = SocksServer(True)
    assert s.feed(b'\x04\x01\x00\x50\x01\x02\x03\x04alice\x00') == FAILED
    assert s.take_output()[:2] == b'\x00\x5b' and 'password' in s.error


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=5))
def test_garbage_never_crashes(require_auth, data, cuts):
    s = SocksServer(require_auth)
    for r in feed_split(s, data, cuts):
        assert r in (NEED_MORE, CHECK_AUTH, CHECK_CONNECT, FAILED)
        if r == CHECK_AUTH:
            s.accept_auth(False)
            break
        if r == CHECK_CONNECT:
            s.accept_connect(False)
            break
        if r == FAILED:
            assert s.error
            break


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=100))
def test_client_takes_garbage_replies_without_crashing(data):
    c = SocksClient('example.com', 80, 'u', 'p')
    c.start()
    assert c.feed(data) in (NEED_MORE, DONE, FAILED)


def test_a_client_that_sends_everything_at_once():
    # greeting, login, request and the first bytes for the target in one write: each decision in turn, nothing lost
    s = SocksServer(True)
    data = b'\x05\x01\x02' + b'\x01\x05alice\x06secret' + b'\x05\x01\x00\x03\x0bexample.org\x01\xbb' + b'GET /'
    assert s.feed(data) == CHECK_AUTH and (s.user, s.password) == ('alice', 'secret')
    assert s.accept_auth(True) == CHECK_CONNECT and (s.host, s.port, s.user) == ('example.org', 443, 'alice')
    assert s.accept_connect(True) == DONE
    assert s.take_output() == b'\x05\x02' + b'\x01\x00' + b'\x05\x00\x00\x01' + bytes(6)
    assert s.take_rest() == b'GET /'
    assert s.password is None                    # not kept once checked
