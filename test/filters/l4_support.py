"""Peers the PROXY protocol and SOCKS tests put around pipyx: nginx reading PROXY headers, haproxy writing them."""
import os
import shutil
import textwrap

from test.helpers import free_port, missing_peer

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
HAPROXY = shutil.which('haproxy') or '/usr/sbin/haproxy'


def nginx_reading_proxy_protocol(processes, tmp_path):
    """nginx on a free port with `proxy_protocol` on: each answer (and each access log line) is the client address
    and port the PROXY header gave, as 'addr:port'. Returns (port, access log path)."""
    if not os.access(NGINX, os.X_OK):
        missing_peer('nginx is not installed')
    port = free_port()
    d = tmp_path / ('nginx-%d' % port)
    d.mkdir()
    conf = d / 'nginx.conf'
    conf.write_text(textwrap.dedent('''
        daemon off;
        master_process off;
        worker_processes 1;
        error_log {d}/error.log;
        pid {d}/nginx.pid;
        events {{ worker_connections 64; }}
        http {{
            log_format real '$proxy_protocol_addr:$proxy_protocol_port via $remote_addr';
            access_log {d}/access.log real;
            client_body_temp_path {d}/body;
            proxy_temp_path {d}/proxy;
            fastcgi_temp_path {d}/fastcgi;
            uwsgi_temp_path {d}/uwsgi;
            scgi_temp_path {d}/scgi;
            server {{
                listen 127.0.0.1:{port} proxy_protocol;
                location / {{ return 200 "$proxy_protocol_addr:$proxy_protocol_port\\n"; }}
            }}
        }}
    ''').format(d=d, port=port))
    processes.start([NGINX, '-p', str(d), '-c', str(conf)], port=port, name='nginx')
    return port, d / 'access.log'


def haproxy_sending_proxy_v2(processes, tmp_path, upstream_port):
    """haproxy in TCP mode on a free port, relaying to upstream_port with a PROXY v2 header (send-proxy-v2) first.
    Returns its port."""
    if not os.access(HAPROXY, os.X_OK):
        missing_peer('haproxy is not installed')
    port = free_port()
    conf = tmp_path / ('haproxy-%d.cfg' % port)
    conf.write_text(textwrap.dedent('''
        global
            maxconn 64
        defaults
            mode tcp
            timeout connect 2s
            timeout client 10s
            timeout server 10s
        frontend front
            bind 127.0.0.1:{port}
            default_backend pipyx
        backend pipyx
            server one 127.0.0.1:{up} send-proxy-v2
    ''').format(port=port, up=upstream_port))
    processes.start([HAPROXY, '-db', '-f', str(conf)], port=port, name='haproxy')
    return port
