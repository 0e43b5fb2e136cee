"""The FastCGI peers the fastcgi tests talk to: php-fpm serving a few PHP scripts, and nginx as a FastCGI client."""
import os
import shutil
import textwrap

from test.helpers import Process, free_port, missing_peer

PHP_FPM = shutil.which('php-fpm8.2') or '/usr/sbin/php-fpm8.2'
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'

SCRIPTS = {
    # Echoes what a CGI script sees of its request, and a digest of the body it read.
    'echo.php': r'''<?php
        header('Content-Type: text/plain');
        header('X-Method: ' . $_SERVER['REQUEST_METHOD']);
        $body = file_get_contents('php://input');
        foreach (['REQUEST_METHOD', 'QUERY_STRING', 'REQUEST_URI', 'SCRIPT_NAME', 'CONTENT_TYPE', 'HTTP_X_TEST',
                  'HTTP_HOST', 'HTTP_PROXY', 'REMOTE_ADDR', 'APP_ENV'] as $k) {
            echo $k, '=', $_SERVER[$k] ?? '-', "\n";
        }
        echo 'GET_a=', $_GET['a'] ?? '-', "\n";
        echo 'length=', strlen($body), "\n";
        echo 'md5=', md5($body), "\n";
        echo 'pid=', getmypid(), "\n";
        ''',
    'teapot.php': r'''<?php
        http_response_code(418);
        header('X-Custom: yes');
        setcookie('a', '1');
        setcookie('b', '2');
        echo 'short and stout';
        ''',
    'moved.php': r'''<?php header('Location: /elsewhere'); ''',
    'broken.php': r'''<?php
        error_log('about to fail');
        this_function_does_not_exist();
        ''',
    'big.php': r'''<?php
        header('Content-Type: application/octet-stream');
        for ($i = 0; $i < 200; $i++) { echo str_repeat(chr(65 + $i % 26), 1000); }
        ''',
    'index.php': r'''<?php echo 'the index of ', $_SERVER['SCRIPT_NAME']; ''',
}


class PhpFpm:
    """php-fpm on a free 127.0.0.1 port with a pool of its own in directory, serving SCRIPTS from directory/www;
    its status page at /fpm-status. 5 workers: php-fpm's default, and mux_fastcgi's max_connections."""

    def __init__(self, directory, children=5):
        if not os.access(PHP_FPM, os.X_OK):
            missing_peer('php-fpm8.2 is not installed')
        self.port = free_port()
        self.root = os.path.join(directory, 'www')
        os.makedirs(self.root, exist_ok=True)
        for name, text in SCRIPTS.items():
            with open(os.path.join(self.root, name), 'w') as f:
                f.write(textwrap.dedent(text).lstrip())
        conf = os.path.join(directory, 'php-fpm.conf')
        with open(conf, 'w') as f:
            f.write(textwrap.dedent('''\
                [global]
                pid = {d}/php-fpm.pid
                error_log = {d}/php-fpm.log
                daemonize = no
                [app]
                user = root
                group = root
                listen = 127.0.0.1:{port}
                pm = static
                pm.max_children = {children}
                pm.max_requests = 0
                pm.status_path = /fpm-status
                clear_env = no
                catch_workers_output = yes
                php_admin_flag[display_errors] = off
                php_admin_flag[log_errors] = on
                env[APP_ENV] = test
                ''').format(d=directory, port=self.port, children=children))
        self.process = Process([PHP_FPM, '-R', '--nodaemonize', '-y', conf, '-p', directory], log_dir=directory,
                               name='php-fpm')
        self.process.wait_ready(self.port)

    def stop(self):
        self.process.stop()


class Nginx:
    """nginx on a free port passing every request to the FastCGI server on fcgi_port: /keep/ with
    fastcgi_keep_conn on over a keepalive upstream, anything else one connection per request."""

    def __init__(self, directory, fcgi_port):
        if not os.access(NGINX, os.X_OK):
            missing_peer('nginx is not installed')
        self.port = free_port()
        conf = os.path.join(directory, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(textwrap.dedent('''\
                daemon off;
                user root;
                worker_processes 1;
                pid {d}/nginx.pid;
                error_log {d}/nginx-error.log info;
                events {{ worker_connections 256; }}
                http {{
                    access_log off;
                    client_body_temp_path {d}/body;
                    fastcgi_temp_path {d}/fastcgi;
                    proxy_temp_path {d}/proxy;
                    uwsgi_temp_path {d}/uwsgi;
                    scgi_temp_path {d}/scgi;
                    client_max_body_size 16m;
                    upstream app {{ server 127.0.0.1:{fcgi}; keepalive 8; }}
                    server {{
                        listen 127.0.0.1:{port};
                        location /keep/ {{
                            include /etc/nginx/fastcgi_params;
                            fastcgi_param SCRIPT_FILENAME /srv$fastcgi_script_name;
                            fastcgi_pass app;
                            fastcgi_keep_conn on;
                        }}
                        location / {{
                            include /etc/nginx/fastcgi_params;
                            fastcgi_pass 127.0.0.1:{fcgi};
                        }}
                    }}
                }}
                ''').format(d=directory, port=self.port, fcgi=fcgi_port))
        self.process = Process([NGINX, '-p', directory, '-c', conf], log_dir=directory, name='nginx')
        self.process.wait_ready(self.port)
        self.directory = directory

    def error_log(self):
        with open(os.path.join(self.directory, 'nginx-error.log'), errors='replace') as f:
            return f.read()

    def stop(self):
        self.process.stop()
