"""Agent over HTTPS against nginx with a certificate made by trustme: verified, kept alive and pooled, and a server
that fails verification (an untrusted chain, a name it does not carry) is a clear RequestError."""
import json

import pytest

from test.filters.tls_support import Certificates, Nginx
from test.helpers import free_port, get

SCRIPT = """
import asyncio, json
from pipyx import pipy, Message, Agent, RequestError

good = Agent('https://127.0.0.1:{nginx}', trusted={ca!r})
untrusted = Agent('https://127.0.0.1:{nginx}', trusted={other_ca!r})
misnamed = Agent('https://127.0.0.1:{nginx}', trusted={ca!r}, sni='elsewhere.example')
careless = Agent('https://127.0.0.1:{nginx}', verify=False)

async def scenario(req):
    name = req.head.path[1:]
    if name == 'sequential':
        out = [(await good.get('/')).body.to_str() for _ in range(3)]
    elif name == 'concurrent':
        out = [r.body.to_str() for r in await asyncio.gather(*[good.get('/') for _ in range(3)])]
    elif name == 'careless':
        out = (await careless.get('/')).body.to_str()
    else:
        try:
            await (untrusted if name == 'untrusted' else misnamed).get('/')
            out = 'no error'
        except RequestError as e:
            out = [e.error, str(e)]
    return Message(json.dumps(out))

pipy().listen('127.0.0.1:{port}').serve_http(scenario)
"""


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp('certs'))


@pytest.fixture
def client(run_pipyx, processes, tmp_path, certs):
    nginx = Nginx(processes, tmp_path, certs)
    port = free_port()
    run_pipyx(SCRIPT.format(port=port, nginx=nginx.port, ca=certs.files['ca'], other_ca=certs.files['other_ca']),
              port=port)

    def ask(name):
        status, body = get(port, '/' + name, timeout=10)
        assert status == 200, body
        return json.loads(body)
    return ask


def connections(answers):
    # nginx answers "nginx TLSv1.3 conn=N reused=."
    return [a.split()[2] for a in answers]


def test_https_requests_are_verified_and_kept_alive(client):
    answers = client('sequential')
    assert all(a.startswith('nginx TLSv1.') for a in answers)
    assert len(set(connections(answers))) == 1


def test_concurrent_https_requests_are_pooled(client):
    first = client('concurrent')
    assert len(set(connections(first))) == 3
    again = client('concurrent')
    assert set(connections(again)) == set(connections(first))


def test_a_server_that_fails_verification_is_a_clear_error(client):
    error, message = client('untrusted')
    assert error == 'ProtocolError'
    assert 'certificate verify failed' in message
    error, message = client('misnamed')
    assert error == 'ProtocolError'
    assert 'certificate verify failed' in message and 'hostname' in message


def test_verify_false_takes_any_certificate(client):
    assert client('careless').startswith('nginx TLSv1.')
