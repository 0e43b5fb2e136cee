import os
from pipyx import pipy
pipy().listen(os.environ['LISTEN']).connect(os.environ['TARGET'])
