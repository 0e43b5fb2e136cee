import os
from pipyx import pipy, Message
pipy().listen(int(os.environ.get('PORT', 8443))).accept_tls(
    certificate={'cert': os.environ['CERT'], 'key': os.environ['KEY']}).to(lambda p: p.serve_http(Message('hi')))
