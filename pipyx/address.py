"""Addresses written as text, as listen(), connect() and the repo server's --listen take them: 'HOST:PORT',
'[V6ADDR]:PORT', or (not for connect) a bare port for every IPv4 address.
"""
import ipaddress

ALL_IPV4 = '0.0.0.0'


def parse_address(address, default_host=ALL_IPV4):
    """(host, port) from a port number (int or digits), 'HOST:PORT' or '[V6ADDR]:PORT'; ':PORT' and a bare port
    mean default_host. Raises ValueError saying what is wrong and what would be right."""
    if isinstance(address, bool) or not isinstance(address, (int, str)):
        raise ValueError('an address is a port number or a string like 127.0.0.1:8080, not %s'
                         % type(address).__name__)
    if isinstance(address, int):
        return default_host, _port(address, address)
    text = address.strip()
    if _is_number(text):
        return default_host, _port(int(text), address)
    if text.startswith('['):
        host, bracket, rest = text[1:].partition(']')
        if not bracket:
            raise ValueError('%r: no ] after the IPv6 address' % (address,))
        if not rest.startswith(':'):
            raise ValueError('%r: a port goes after the IPv6 address, as in [%s]:8080' % (address, host))
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError('%r: %r in brackets is not an IPv6 address' % (address, host)) from None
        port = rest[1:]
    else:
        host, colon, port = text.rpartition(':')
        if not colon:
            raise ValueError('%r: give HOST:PORT or a port, as in 127.0.0.1:8080 or 8080' % (address,))
        if ':' in host:
            raise ValueError('%r: an IPv6 address goes in brackets, as in [::1]:8080' % (address,))
        host = host or default_host
    if not _is_number(port):
        raise ValueError('%r: the port %r is not a number' % (address, port))
    return host, _port(int(port), address)


def _is_number(text):
    return text.isascii() and text.isdigit()


def _port(port, address):
    if not 0 < port < 65536:
        raise ValueError('%r: the port must be from 1 to 65535' % (address,))
    return port


def format_address(host, port):
    """'host:port', with an IPv6 host in brackets so that parse_address reads it back."""
    return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
