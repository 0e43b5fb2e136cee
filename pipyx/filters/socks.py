"""accept_socks and connect_socks: a SOCKS handshake in front of a stream relayed as raw bytes."""
from .._native import AcceptSocks, ConnectSocks
from ..builder import PipelineBuilder


class SocksMixin(PipelineBuilder):
    def accept_socks(self, on_connect=None, target=None, *, auth=None):
        """Speaks the server side of SOCKS5, SOCKS4 or SOCKS4a with the client, CONNECT only (BIND and UDP ASSOCIATE
        get the protocol's "command not supported"). Once a CONNECT is allowed, the rest of the stream goes through
        the sub-pipeline (target, or the one given by the following .to()) as raw bytes, and its output is this
        filter's output; `connect(socks_target)` there connects to what the client asked for (socks_target from
        pipyx gives it as (host, port)).

        on_connect(host, port, user): allows a CONNECT by returning a true value (user is the SOCKS5 login or the
        SOCKS4 user id, else None); None allows every one. auth(user, password): with it a SOCKS5 client must log
        in with a username and password and is let in when it returns a true value; SOCKS4 clients, which cannot
        send a password, are then refused. A refusal, a wrong password or a malformed handshake gets the protocol's
        error reply, one log line, and the connection closed.
        """
        ref = self.sub(target)
        return self.append(AcceptSocks(ref, on_connect, auth))

    def connect_socks(self, address, target=None, *, username=None, password=None, buffer_limit=1 << 20):
        """Makes the stream a SOCKS5 CONNECT to address ('host:port', (host, port), or a callable returning one,
        evaluated when the stream starts) through the sub-pipeline (target, or the one given by the following .to()),
        which is the connection to the proxy: typically `connect('proxy:1080')`. Logs in with username and password
        when given. Once the proxy has connected, the stream's bytes go through and what comes back is this filter's
        output; what the stream sends before then is held, up to buffer_limit bytes (beyond: BufferOverflow). A proxy
        that refuses ends the stream with ConnectionRefused and one log line.
        """
        ref = self.sub(target)
        return self.append(ConnectSocks(ref, address, username, password, int(buffer_limit)))
