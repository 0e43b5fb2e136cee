"""Agent, the HTTP client for scripts, against a real upstream (test/helpers/backend_app.py): keep-alive reuse as
the upstream sees it, concurrent requests, bodies and headers, and every way a request can fail."""
import json

import pytest

from test.helpers import backend_stats, free_port, get, wait_for

SCRIPT = """
import asyncio, json
from pipyx import pipy, Message, Agent, RequestError

agent = Agent('127.0.0.1:{backend}', read_timeout=0.5, max_body_size=1000)
nobody = Agent('127.0.0.1:{closed}', connect_timeout=1)

async def conn():
    r = await agent.request('GET', '/conn')
    return json.loads(r.body.to_bytes())

async def scenario(req):
    name = req.head.path[1:]
    if name == 'sequential':
        out = [await conn(), await conn(), await conn()]
    elif name == 'concurrent':
        out = await asyncio.gather(*[agent.get('/slow/200') for _ in range(3)])
        out = [r.body.to_str() for r in out]
    elif name == 'echo':
        r = await agent.post('/echo', {{'x-test': 'yes'}}, 'the body')
        out = {{'status': r.head.status, 'echo': json.loads(r.body.to_bytes())}}
    elif name == 'status':
        r = await agent.request('GET', '/status/404')
        out = [r.head.status, r.body.to_str()]
    else:
        try:
            if name == 'refused':
                await nobody.get('/')
            elif name == 'slow':
                await agent.get('/slow/2000')
            elif name == 'big':
                await agent.get('/big/5000')
            elif name == 'deadline':
                await agent.get('/slow/2000', timeout=0.2)
            out = 'no error'
        except RequestError as e:
            out = e.error
    return Message(json.dumps(out))

pipy().listen('127.0.0.1:{port}').serve_http(scenario)
"""


@pytest.fixture
def client(run_pipyx, backend):
    port = free_port()
    run_pipyx(SCRIPT.format(port=port, backend=backend, closed=free_port()), port=port)

    def ask(name):
        status, body = get(port, '/' + name, timeout=10)
        assert status == 200, body
        return json.loads(body)
    ask.backend = backend
    return ask


def opened(backend):
    """Connections the backend accepted so far, less the one this question opens."""
    return backend_stats(backend)['opened'] - 1


def test_requests_in_turn_reuse_one_kept_alive_connection(client):
    before = opened(client.backend)
    seen = client('sequential')
    assert len({s['conn'] for s in seen}) == 1
    assert [s['requests'] for s in seen] == [1, 2, 3]
    assert opened(client.backend) - before == 2                  # the agent's one, and the first question's


def test_concurrent_requests_get_a_connection_each_and_they_are_pooled(client):
    before = opened(client.backend)
    assert client('concurrent') == ['slow'] * 3
    assert opened(client.backend) - before == 4                  # three, and the question
    assert client('concurrent') == ['slow'] * 3
    assert opened(client.backend) - before == 5                  # the pool's three again


def test_a_request_carries_its_headers_and_body_and_a_host(client, backend):
    answer = client('echo')
    assert answer['status'] == 200
    echo = answer['echo']
    headers = {k.lower(): v for k, v in echo['headers']}
    assert echo['method'] == 'POST' and echo['body'] == 'the body'
    assert headers['x-test'] == 'yes' and headers['host'] == '127.0.0.1:%d' % backend
    status, text = client('status')
    assert status == 404 and text


def test_a_request_that_gets_no_whole_answer_raises_request_error(client):
    for name, error in [('refused', 'ConnectionRefused'), ('slow', 'ReadTimeout'), ('big', 'BufferOverflow'),
                        ('deadline', 'Timeout')]:
        assert client(name) == error, name
        assert client('status')[0] == 404                        # and the agent still works afterwards


HTTPS = """
import json
from pipyx import pipy, ctx, Message, Agent, RequestError

F = {files!r}
trusting = Agent('https://127.0.0.1:{tls_port}', tls={{'trusted': F['ca']}})
by_name = Agent('127.0.0.1:{tls_port}', tls={{'trusted': F['ca'], 'sni': 'a.example'}})
untrusting = Agent('https://127.0.0.1:{tls_port}', tls={{'trusted': F['other_ca']}})

async def scenario(req):
    out = []
    for agent in (trusting, trusting, by_name, untrusting):
        try:
            r = await agent.get('/')
            out.append(r.body.to_str())
        except RequestError as e:
            out.append(e.error)
    return Message(json.dumps(out))

pipy().listen({tls_port}).accept_tls(certificate=F['main']).to(lambda p: p.serve_http(
    lambda req: '%s %s' % (ctx.tls.sni, ctx.tls.resumed)))
pipy().listen('127.0.0.1:{port}').serve_http(scenario)
"""


def test_an_https_agent_checks_the_certificate_and_keeps_its_connection(run_pipyx, tmp_path):
    from test.filters.tls_support import Certificates
    certs = Certificates(tmp_path)
    port, tls_port = free_port(), free_port()
    p = run_pipyx(HTTPS.format(files=certs.files, port=port, tls_port=tls_port), port=port)
    status, body = get(port, '/', timeout=10)
    # By address: checked against the certificate's IP names, no SNI; the second request on the same connection.
    assert (status, json.loads(body)) == (200, ['None False', 'None False', 'a.example False', 'ProtocolError'])
    assert wait_for(lambda: 'certificate verify failed' in p.log(), 3), p.log()
