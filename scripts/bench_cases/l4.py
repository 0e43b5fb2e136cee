# The l4 case's relay (scripts/bench_l4.py): TCP listen -> connect, and a UDP relay beside it.
import os
from pipyx import pipy

app = pipy()
app.listen(os.environ['LISTEN']).connect(os.environ['TARGET'], read_timeout=0)
if os.environ.get('UDP_LISTEN'):
    app.listen(os.environ['UDP_LISTEN'], protocol='udp', idle_timeout=10).connect(
        os.environ['UDP_TARGET'], protocol='udp', idle_timeout=10)
