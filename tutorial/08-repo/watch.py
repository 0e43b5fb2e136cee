# Step 8: watch a worker switch versions. Twice a second, one request on a connection that stays open and one on a
# new connection; each line shows both answers. A request that fails prints FAILED and the error.
#
#   python3 tutorial/08-repo/watch.py [PORT]        PORT defaults to $PORT, then 8080
import http.client
import os
import sys
import time

port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('PORT', '8080'))
rounds = int(os.environ.get('ROUNDS', '0'))         # stop after this many lines; 0: run until Ctrl-C


def ask(conn):
    conn.request('GET', '/')
    return conn.getresponse().read().decode().strip()


kept = http.client.HTTPConnection('localhost', port, timeout=5)
n = 0
try:
    while rounds == 0 or n < rounds:
        n += 1
        try:
            old = ask(kept)
        except (OSError, http.client.HTTPException) as e:
            old = 'FAILED: %r' % e
            kept.close()
            kept = http.client.HTTPConnection('localhost', port, timeout=5)
        fresh = http.client.HTTPConnection('localhost', port, timeout=5)
        try:
            new = ask(fresh)
        except (OSError, http.client.HTTPException) as e:
            new = 'FAILED: %r' % e
        finally:
            fresh.close()
        print('%s  open connection: %-22s new connection: %s' % (time.strftime('%H:%M:%S'), old, new), flush=True)
        time.sleep(0.5)
except KeyboardInterrupt:
    pass
finally:
    kept.close()
