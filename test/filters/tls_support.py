"""What the TLS filters' tests share: certificates made by trustme (a CA, servers for several names, clients),
TLS clients from Python's ssl module, and nginx as an HTTPS upstream."""
import os
import shutil
import socket
import ssl
import textwrap

import pytest

from test.helpers import Process, free_port, missing_peer

trustme = pytest.importorskip('trustme')


class Certificates:
    """Two CAs (the second one trusted by nobody), a server certificate per name, client certificates; every PEM
    also written to directory, its path in .files."""

    def __init__(self, directory):
        self.directory = str(directory)
        self.ca = trustme.CA()
        self.other_ca = trustme.CA()
        self.files = {'ca': self.write('ca.pem', self.ca.cert_pem.bytes()),
                      'other_ca': self.write('other-ca.pem', self.other_ca.cert_pem.bytes())}
        self.server('main', 'localhost', '127.0.0.1', 'a.example', 'b.example')
        self.server('a', 'a.example')
        self.server('b', 'b.example')
        self.server('untrusted', 'localhost', '127.0.0.1', ca=self.other_ca)
        self.client('allowed', 'allowed.client')
        self.client('denied', 'denied.client')

    def write(self, name, data):
        path = os.path.join(self.directory, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def server(self, name, *names, ca=None):
        c = (ca or self.ca).issue_cert(*names)
        self.files[name] = {'cert': self.write(name + '-cert.pem', b''.join(p.bytes() for p in c.cert_chain_pems)),
                            'key': self.write(name + '-key.pem', c.private_key_pem.bytes())}
        self.files[name + '_both'] = self.write(name + '-both.pem', c.private_key_and_cert_chain_pem.bytes())

    def client(self, name, cn):
        c = self.ca.issue_cert(cn + '@example.com', common_name=cn)
        self.files[name] = {'cert': self.write(name + '-cert.pem', b''.join(p.bytes() for p in c.cert_chain_pems)),
                            'key': self.write(name + '-key.pem', c.private_key_pem.bytes())}
        self.files[name + '_both'] = self.write(name + '-both.pem', c.private_key_and_cert_chain_pem.bytes())

    def client_context(self, cert=None, version=None):
        ctx = ssl.create_default_context(cafile=self.files['ca'])
        if cert is not None:
            ctx.load_cert_chain(self.files[cert + '_both'])
        if version == '1.2':
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        elif version == '1.3':
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        return ctx


def tls_get(port, name='localhost', path='/', cert=None, certs=None, version=None, alpn=None, timeout=5.0,
            context=None):
    """One GET over a new TLS connection: (status, body, the server's certificate as a dict, the ssl socket's
    version). Raises ssl.SSLError (or ConnectionError) when the handshake fails."""
    ctx = context or certs.client_context(cert, version)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=name) as s:
            s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % (path, name)).encode())
            data = b''
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
            head, _, body = data.partition(b'\r\n\r\n')
            return int(head.split()[1]), body, s.getpeercert(), s.version(), s.selected_alpn_protocol()


def handshake_refused(port, name='localhost', certs=None, cert=None, timeout=5.0):
    """The handshake (or the first read after it, where TLS 1.3 reports a refused client certificate) fails."""
    try:
        tls_get(port, name, certs=certs, cert=cert, timeout=timeout)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


NGINX_CONF = """
    daemon off;
    master_process off;
    worker_processes 1;
    error_log {dir}/nginx-error.log warn;
    pid {dir}/nginx.pid;
    events {{ worker_connections 256; }}
    http {{
        access_log off;
        client_body_temp_path {dir}/body;
        proxy_temp_path {dir}/proxy;
        fastcgi_temp_path {dir}/fastcgi;
        uwsgi_temp_path {dir}/uwsgi;
        scgi_temp_path {dir}/scgi;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:tls:1m;
        server {{
            listen 127.0.0.1:{port} ssl;
            ssl_certificate {cert};
            ssl_certificate_key {key};
            location / {{ return 200 "nginx $ssl_protocol conn=$connection reused=$ssl_session_reused\\n"; }}
        }}
        server {{
            listen 127.0.0.1:{mtls_port} ssl;
            ssl_certificate {cert};
            ssl_certificate_key {key};
            ssl_client_certificate {ca};
            ssl_verify_client on;
            location / {{ return 200 "client=$ssl_client_s_dn\\n"; }}
        }}
    }}
"""


class Nginx:
    """nginx serving HTTPS on .port (any client) and .mtls_port (client certificates from the CA required)."""

    def __init__(self, processes, directory, certs):
        exe = shutil.which('nginx') or ('/usr/sbin/nginx' if os.path.exists('/usr/sbin/nginx') else None)
        if exe is None:
            missing_peer('nginx is not installed')
        self.port, self.mtls_port = free_port(), free_port()
        d = os.path.join(str(directory), 'nginx')
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(textwrap.dedent(NGINX_CONF).format(dir=d, port=self.port, mtls_port=self.mtls_port,
                                                       cert=certs.files['main']['cert'],
                                                       key=certs.files['main']['key'], ca=certs.files['ca']))
        self.proc = processes.start([exe, '-p', d, '-c', conf], port=self.port, name='nginx')
