"""The one parser of 'host:port' text that listen() and the repo server's --listen share."""
import pytest

from pipyx.address import format_address, parse_address
from pipyx.errors import ScriptError
from pipyx.testing import layout


@pytest.mark.parametrize('given, expected', [
    (8080, ('0.0.0.0', 8080)),
    ('8080', ('0.0.0.0', 8080)),
    (' 8080 ', ('0.0.0.0', 8080)),
    (':8080', ('0.0.0.0', 8080)),
    ('127.0.0.1:80', ('127.0.0.1', 80)),
    ('localhost:65535', ('localhost', 65535)),
    ('[::1]:80', ('::1', 80)),
    ('[::]:6060', ('::', 6060)),
    ('[fe80::1%eth0]:80', ('fe80::1%eth0', 80)),
    ('[2001:db8::8a2e:370:7334]:443', ('2001:db8::8a2e:370:7334', 443)),
])
def test_parses(given, expected):
    assert parse_address(given) == expected


def test_a_bare_port_takes_the_default_host():
    assert parse_address(6060, default_host='127.0.0.1') == ('127.0.0.1', 6060)


@pytest.mark.parametrize('given, says', [
    ('', 'give HOST:PORT or a port'),
    ('localhost', 'give HOST:PORT or a port'),
    ('host:http', "the port 'http' is not a number"),
    ('host:', "the port '' is not a number"),
    ('host:-1', "the port '-1' is not a number"),
    ('host:８０', "the port '８０' is not a number"),
    ('0', 'from 1 to 65535'),
    (0, 'from 1 to 65535'),
    ('host:65536', 'from 1 to 65535'),
    (70000, 'from 1 to 65535'),
    ('::1:80', 'IPv6 address goes in brackets'),
    ('::1', 'IPv6 address goes in brackets'),
    ('[::1', 'no ]'),
    ('[::1]', 'a port goes after the IPv6 address'),
    ('[::1]80', 'a port goes after the IPv6 address'),
    ('[example.com]:80', 'is not an IPv6 address'),
    ('[::1]:x', "the port 'x' is not a number"),
    (True, 'not bool'),
    (8080.0, 'not float'),
    (None, 'not NoneType'),
])
def test_says_what_is_wrong(given, says):
    with pytest.raises(ValueError) as e:
        parse_address(given)
    assert says in str(e.value)


@pytest.mark.parametrize('host, port', [('127.0.0.1', 80), ('::1', 8080), ('fe80::1%eth0', 1), ('example.com', 443)])
def test_format_reads_back(host, port):
    assert parse_address(format_address(host, port)) == (host, port)


def test_listen_takes_ipv6_and_reports_a_bad_address_at_the_script_line():
    program_layouts = []
    layout(lambda p: program_layouts.append(p.listen('[::1]:8080')))
    module = program_layouts[0]._module
    assert [(a, port) for a, port, _ in module.listens] == [('::1', 8080)]
    assert module.listens[0][2].name == 'listen [::1]:8080'
    with pytest.raises(ScriptError, match=r"listen\(\): '::1:8080': an IPv6 address goes in brackets") as e:
        layout(lambda p: p.listen('::1:8080'))
    assert e.value.filename == __file__
