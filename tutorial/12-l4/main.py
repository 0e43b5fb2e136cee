# Step 12: below HTTP. A TCP load balancer, a UDP one, a SOCKS5 proxy, and the PROXY protocol on both sides.
import os

from pipyx import pipy, ctx, algo, socks_target

tcp_port = int(os.environ.get('PORT', '8000'))
backends = os.environ.get('BACKENDS', '127.0.0.1:8081,127.0.0.1:8082').split(',')
udp_port = int(os.environ.get('UDP_PORT', '8053'))
dns_servers = os.environ.get('DNS_SERVERS', '127.0.0.1:5353').split(',')
socks_port = int(os.environ.get('SOCKS_PORT', '1080'))
who_port = int(os.environ.get('WHO_PORT', '8001'))
front_port = int(os.environ.get('FRONT_PORT', '8002'))

app = pipy()

# 1. TCP: each connection goes to the backend with the fewest open connections. One that refuses is skipped for
#    the next at once (retry_count), and the client never knows.
web = algo.LeastWorkLoadBalancer(backends)
app.listen(tcp_port).connect(web, retry_count=len(backends) - 1)

# 2. UDP: each client address is a stream of datagrams; hashing by that address keeps a client on one server.
dns = algo.HashingLoadBalancer(dns_servers)
app.listen(udp_port, protocol='udp', idle_timeout=10).connect(dns, protocol='udp', idle_timeout=10)

# 3. SOCKS5: the client names where it wants to go; on_connect says whether it may.
app.listen(socks_port).accept_socks(lambda host, port, user: port in (80, 443) or host == 'localhost').to(
    lambda p: p.connect(socks_target))


# 4. The PROXY protocol. A server behind a proxy sees the proxy's address, unless the proxy tells it the client's:
#    front_port relays to who_port with a PROXY header first; who_port reads it and answers with the real client.
def who(req):
    return 'you are %s:%s (via %s)\n' % (ctx.inbound.remote_address, ctx.inbound.remote_port,
                                        ctx.inbound.via.remote_address)


app.listen(who_port).accept_proxy_protocol().to(lambda p: p.serve_http(who))
app.listen(front_port).connect_proxy_protocol(2).to(lambda p: p.connect('127.0.0.1:%d' % who_port))
