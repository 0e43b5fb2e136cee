"""mux_fastcgi and demux_fastcgi: HTTP-like request messages to and from FastCGI applications."""
from .._native import DemuxFastCGI, FastCgiClientOptions, MuxFastCGI
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location
from .mux import seconds_option


def _size(filter_name, name, value, minimum=1):
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ScriptError('%s(): %s is a number of bytes of %d or more, not %r' % (filter_name, name, minimum, value),
                          *caller_location())
    return value


class FastCgiMixin(PipelineBuilder):
    def mux_fastcgi(self, target=None, *, root=None, script_filename=None, index='index.php', params=None,
                    session_key=None, max_connections=5, max_idle=60.0, max_messages=0, max_header_size=16384,
                    buffer_body=1 << 20):
        """Sends each request message to a FastCGI application (php-fpm...) and outputs its response message.

        A session is an instance of the sub-pipeline (target, or the one given by the following .to()), typically
        `connect('127.0.0.1:9000')`, carrying FastCGI records. It serves one request at a time with FCGI_KEEP_CONN,
        so the application keeps the connection open, and goes back to its pool when the answer is complete. Pools
        are keyed by session_key (a value, or a callable evaluated per request), by default the target of the
        connect() the sub-pipeline starts with. A pool opens at most max_connections connections (0: no limit);
        requests beyond them wait in turn for one to come free, their readers paused. Set it to the application's
        worker count (php-fpm's pm.max_children, 5 by default): a php-fpm worker serves one connection until it
        closes, so connections kept open beyond its workers would hold requests that no worker reads. A connection
        unused for max_idle seconds is closed, and so is one that has carried max_messages requests (0: no
        limit).

        The request's params (the CGI variables) are made from its HTTP head: GATEWAY_INTERFACE, SERVER_SOFTWARE,
        SERVER_PROTOCOL, REQUEST_METHOD, REQUEST_URI (path and query as they came), QUERY_STRING, SCRIPT_NAME and
        DOCUMENT_URI (the path without its query, percent-decoded, dot segments resolved; index appended to a path
        ending in '/'), DOCUMENT_ROOT and SCRIPT_FILENAME (root + SCRIPT_NAME) when root is given, SCRIPT_FILENAME =
        script_filename when that is given (one script for every path), REMOTE_ADDR/REMOTE_PORT and
        SERVER_ADDR/SERVER_PORT from the inbound connection, SERVER_NAME from Host, CONTENT_TYPE, CONTENT_LENGTH,
        and HTTP_<NAME> for every other header (a Proxy header, and names with an underscore, are left out).
        params adds to or replaces them: a dict, or a callable given the request head that returns one; a value of
        None removes a param. A head that is a dict with a 'params' key (as Pipy's muxFastCGI takes) is sent with
        exactly those params.

        The body goes as STDIN as it comes when the request's length is known; a body of unknown length (chunked)
        up to buffer_body bytes is gathered first to count CONTENT_LENGTH, a longer one ends the stream with
        BufferOverflow.

        The application's STDOUT is a CGI response: its header block (at most max_header_size bytes) becomes the
        response head: Status gives the status (200 without one, 302 with a Location and no Status), the other
        fields the headers; the rest is the body. STDERR is logged. A connection that fails or closes before the
        answer, an application that is not reachable, or an answer that is not FastCGI ends the stream with that
        error (under demux_http: 502)."""
        name = 'mux_fastcgi'
        idle = seconds_option(name, 'max_idle', max_idle)
        if not isinstance(max_messages, int) or max_messages < 0:
            raise ScriptError('mux_fastcgi(): max_messages is a count of 0 or more, not %r' % (max_messages,),
                              *caller_location())
        if params is not None and not (callable(params) or isinstance(params, dict)):
            raise ScriptError('mux_fastcgi(): params is a dict or a callable given the head, not %r' % (params,),
                              *caller_location())
        if not isinstance(max_connections, int) or max_connections < 0:
            raise ScriptError('mux_fastcgi(): max_connections is a count of 0 or more, not %r' % (max_connections,),
                              *caller_location())
        opts = FastCgiClientOptions(root, script_filename, index, params, idle, max_messages,
                                    _size(name, 'max_header_size', max_header_size),
                                    _size(name, 'buffer_body', buffer_body, 0), max_connections)
        ref = self.sub(target)
        return self.append(MuxFastCGI(ref, session_key, opts))

    def demux_fastcgi(self, target=None, *, max_params_size=65536):
        """Reads FastCGI requests from the stream (a web server such as nginx connected with fastcgi_pass) and
        starts a sub-pipeline (target, or the one given by the following .to()) for each.

        The sub-pipeline gets the request as one message: its head a FastCgiRequestHead (an HTTP request head:
        method from REQUEST_METHOD, path from REQUEST_URI, headers from the HTTP_* params, CONTENT_TYPE and
        CONTENT_LENGTH; and `params`, every name-value pair as it came, `keep_conn`, `role`), its body the STDIN. The
        message it outputs is the response: a ResponseHead or a dict with status and headers, sent back as a CGI
        response (Status, the header fields, the body) in STDOUT records, then END_REQUEST. A sub-pipeline that ends
        without a response answers 502 (500 when it simply ended). Requests on one connection are told apart by
        their ids and may overlap; a request without FCGI_KEEP_CONN ends the connection once it is answered.

        A stream that is not FastCGI, params of over max_params_size bytes, or records out of order end the
        connection with ProtocolError (logged)."""
        ref = self.sub(target)
        return self.append(DemuxFastCGI(ref, _size('demux_fastcgi', 'max_params_size', max_params_size)))
