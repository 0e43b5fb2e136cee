# PHP through pipyx: `php-fpm` listening on FPM, then `python3 -m pipyx samples/php/main.py` and open
# http://localhost:8080/. README.md lists every option.
import os

from pipyx import pipy

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get

ROOT = os.path.abspath(env('ROOT', os.path.join(here, 'www')))     # the PHP files, as php-fpm sees them
FPM = env('FPM', '127.0.0.1:9000')                                  # where php-fpm listens
FRONT = env('FRONT')                                                # one script for every path (index.php), or each
                                                                    # path its own script under ROOT

pipy().listen(int(env('PORT', '8080'))).demux_http(max_body_size=int(env('MAX_BODY_SIZE', str(16 << 20)))).to(
    lambda p: p.mux_fastcgi(
        root=ROOT,
        script_filename=os.path.join(ROOT, FRONT) if FRONT else None,
        params={'HTTPS': None, 'APP_SERVER': 'pipyx'},               # what the application may read of its server
        max_idle=float(env('MAX_IDLE', '60')),                        # seconds an unused php-fpm connection is kept
    ).to(lambda p: p.connect(FPM, connect_timeout=5, read_timeout=float(env('READ_TIMEOUT', '60')))))
