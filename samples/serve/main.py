# A static site: `python3 -m pipyx samples/serve/main.py`, then open http://localhost:8080/.
# PORT and ROOT (the folder to serve) come from the environment; README.md lists every option.
import os
import re

from pipyx import pipy

here = os.path.dirname(os.path.abspath(__file__))
env = os.environ.get

pipy().listen(int(env('PORT', '8080'))).serve_files(
    os.path.abspath(env('ROOT', os.path.join(here, 'www'))),
    cache_control=[
        ('*.html', 'no-cache'),                                         # pages: revalidated on every visit
        (re.compile(r'\.(css|m?js|svg|png|ico|woff2?)$'), 'public, max-age=600'),
    ],                                                                  # anything else: no-cache (the default)
    listing=env('LISTING') == '1',                                      # list folders that have no index.html
    max_file_size=int(env('MAX_FILE_SIZE', str(1 << 20))),              # files kept in memory: up to 1 MiB each
    check_interval=float(env('CHECK_INTERVAL', '1')),                   # seconds before a cached file is re-checked
    cache_header='x-cache' if env('X_CACHE') == '1' else None,          # x-cache: hit|miss on every file response
)
