import os
from pipyx import pipy, Message
pipy().listen(int(os.environ.get('PORT', 8080))).serve_http(Message('hi'))
