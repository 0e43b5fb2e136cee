# serve_files with its defaults on ROOT (memory cache for files up to 1 MiB, sendfile above, check_interval 1 s).
# MAX_FILE_SIZE overrides the cap (the bench's pipyx-sendfile variant); X_CACHE=1 adds `x-cache: hit|miss`, which
# the bench uses on a separate instance to see which path each file takes.
import os
from pipyx import pipy

env = os.environ.get
options = {}
if env('MAX_FILE_SIZE'):
    options['max_file_size'] = int(env('MAX_FILE_SIZE'))
if env('X_CACHE') == '1':
    options['cache_header'] = 'x-cache'
pipy().listen(int(env('PORT', '8080'))).serve_files(env('ROOT'), **options)
