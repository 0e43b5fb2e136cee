# Step 8: the codebase this step publishes to the repo. Workers run it; each new version says which one it is.
import os

from pipyx import pipy, Message

VERSION = 1
port = int(os.environ.get('PORT', '8080'))

pipy().listen(port).serve_http(Message('Hello from version %d\n' % VERSION))
