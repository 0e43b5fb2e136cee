# The TLS engine: OpenSSL over two memory BIOs, driven by the filters that speak TLS (accept_tls, connect_tls).
# Cipher bytes go into the read BIO; SSL_read gives the plain bytes; SSL_write puts records into the write BIO,
# which is emptied into one bytes object per burst. No socket is involved, so the filters stay filters: what
# carries the cipher bytes is whatever pipeline is on that side (the accepted connection, or connect()).

cdef extern from *:
    """
    #include <openssl/ssl.h>
    #include <openssl/err.h>
    #include <openssl/pem.h>
    #include <openssl/x509v3.h>
    """

import asyncio as _asyncio

cdef int TLS_PLAIN_READ = 16384              # one record's worth of plain bytes per SSL_read
cdef char _plain_buf[16384]
cdef dict TLS_VERSIONS = {
    'TLSv1': TLS1_VERSION, 'TLSv1.1': TLS1_1_VERSION, 'TLSv1.2': TLS1_2_VERSION, 'TLSv1.3': TLS1_3_VERSION,
    '1.0': TLS1_VERSION, '1.1': TLS1_1_VERSION, '1.2': TLS1_2_VERSION, '1.3': TLS1_3_VERSION,
}
cdef Py_ssize_t MAX_NAMED_CONTEXTS = 4096     # certificates looked up by SNI name, kept before the cache restarts


class TlsError(Exception):
    """A TLS setting that OpenSSL refused (a certificate, a key, a cipher list), in OpenSSL's words."""


cdef object tls_error_reason():
    # The first error OpenSSL queued, in words; the queue is emptied so the next call starts clean.
    cdef unsigned long e = ERR_get_error()
    cdef char buf[256]
    if e == 0:
        return None
    r = ERR_reason_error_string(e)
    if r != NULL:
        reason = (<bytes>r).decode('latin-1')
    else:
        ERR_error_string_n(e, buf, sizeof(buf))
        reason = (<bytes>buf).decode('latin-1')
    ERR_clear_error()
    return reason


cdef bytes pem_bytes(object value, str what):
    # A PEM value is the PEM text itself, or the path of a file holding it.
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        if '-----BEGIN' in value:
            data = value.encode('ascii')
        else:
            try:
                with open(value, 'rb') as f:
                    data = f.read()
            except OSError as e:
                raise TlsError('%s: cannot read %s: %s' % (what, value, e.strerror)) from None
    else:
        raise TlsError('%s: PEM text or a file name, not %s' % (what, type(value).__name__))
    if b'-----BEGIN' not in data:
        raise TlsError('%s: no PEM block in %s' % (what, value if len(value) < 200 else 'the text given'))
    return data


cdef list load_certificates(object value, str what):
    # Every certificate of a PEM value, as X509 pointers (as ints) the caller owns.
    cdef bytes data = pem_bytes(value, what)
    cdef BIO* b = BIO_new_mem_buf(PyBytes_AS_STRING(data), <int>PyBytes_GET_SIZE(data))
    cdef X509* x
    cdef list out = []
    ERR_clear_error()
    while True:
        x = PEM_read_bio_X509(b, NULL, NULL, NULL)
        if x == NULL:
            break
        out.append(<size_t>x)
    BIO_free(b)
    ERR_clear_error()                    # the end of the text reads as an error
    if not out:
        raise TlsError('%s: no certificate in it' % what)
    return out


cdef int use_pair(SSL_CTX* c, object pair, str what) except -1:
    # A certificate chain and its key, from {'cert': ..., 'key': ...} or (cert, key).
    cdef EVP_PKEY* k
    cdef bytes data
    cdef BIO* b
    if isinstance(pair, dict):
        cert, key = pair.get('cert'), pair.get('key')
    elif isinstance(pair, (tuple, list)) and len(pair) == 2:
        cert, key = pair
    else:
        raise TlsError("%s: {'cert': ..., 'key': ...} or (cert, key), not %r" % (what, pair))
    if cert is None or key is None:
        raise TlsError('%s: both a certificate and its key are needed' % what)
    certs = load_certificates(cert, what + ' cert')
    if X509_cmp_current_time(X509_get0_notAfter(<X509*><size_t>certs[0])) < 0:
        for x in certs:
            X509_free(<X509*><size_t>x)
        raise TlsError('%s cert: the certificate has expired' % what)
    ERR_clear_error()
    ok = SSL_CTX_use_certificate(c, <X509*><size_t>certs[0])
    X509_free(<X509*><size_t>certs[0])
    if not ok:
        for x in certs[1:]:
            X509_free(<X509*><size_t>x)
        raise TlsError('%s cert: %s' % (what, tls_error_reason()))
    for x in certs[1:]:
        SSL_CTX_add0_chain_cert(c, <X509*><size_t>x)    # the context owns it now
    data = pem_bytes(key, what + ' key')
    b = BIO_new_mem_buf(PyBytes_AS_STRING(data), <int>PyBytes_GET_SIZE(data))
    k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
    BIO_free(b)
    if k == NULL:
        raise TlsError('%s key: no private key in it (%s)' % (what, tls_error_reason()))
    ok = SSL_CTX_use_PrivateKey(c, k)
    EVP_PKEY_free(k)
    if not ok or not SSL_CTX_check_private_key(c):
        raise TlsError('%s: the key does not match the certificate (%s)' % (what, tls_error_reason()))
    return 0


cdef bytes alpn_wire(object names, str what):
    out = bytearray()
    for n in names:
        b = n.encode('ascii') if isinstance(n, str) else bytes(n)
        if not 0 < len(b) < 256:
            raise TlsError('%s: protocol name %r is empty or longer than 255 bytes' % (what, n))
        out.append(len(b))
        out += b
    return bytes(out)


cdef class TlsContext:
    """The settings of one side of TLS, an OpenSSL SSL_CTX: made once per filter of a script, shared by its
    connections."""

    def __cinit__(self):
        self.ctx = NULL

    def __dealloc__(self):
        if self.ctx != NULL:
            SSL_CTX_free(self.ctx)

    def __init__(self, bint server, dict options):
        self.server = server
        self.options = options
        self.sessions = {}
        self.ctx = SSL_CTX_new(TLS_server_method() if server else TLS_client_method())
        if self.ctx == NULL:
            raise TlsError(tls_error_reason() or 'cannot make a TLS context')
        cert = options.get('certificate')
        if server and callable(cert):
            self.certificate = cert
            self.by_name = {}
            self.by_pair = {}
            self.configure(options, None)
        else:
            self.configure(options, cert)

    cdef int configure(self, dict o, object pair) except -1:
        cdef SSL_CTX* c = self.ctx
        cdef int mode
        side = 'accept_tls' if self.server else 'connect_tls'
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS)         # an idle connection keeps no record buffers
        SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION)
        for key, setter in (('min_version', 0), ('max_version', 1)):
            v = o.get(key)
            if v is not None:
                if v not in TLS_VERSIONS:
                    raise TlsError("%s: %s %r is not one of 'TLSv1.2', 'TLSv1.3' (or 'TLSv1', 'TLSv1.1')" % (side, key, v))
                if setter == 0:
                    SSL_CTX_set_min_proto_version(c, TLS_VERSIONS[v])
                else:
                    SSL_CTX_set_max_proto_version(c, TLS_VERSIONS[v])
        ciphers = o.get('ciphers')
        if ciphers:
            ERR_clear_error()
            if not SSL_CTX_set_cipher_list(c, ciphers.encode('ascii')):
                raise TlsError('%s: ciphers %r: %s' % (side, ciphers, tls_error_reason()))
        suites = o.get('ciphersuites')
        if suites:
            # TLS 1.3 names its suites apart from the cipher list of 1.2 and below; OpenSSL takes any name it
            # knows of a list and fails only when it knows none, so each name is checked on its own first.
            if not isinstance(suites, str):
                suites = ':'.join(suites)
            for name in suites.split(':'):
                ERR_clear_error()
                if not name or not SSL_CTX_set_ciphersuites(c, name.encode('ascii')):
                    raise TlsError('%s: ciphersuites %r: %r is not a TLS 1.3 cipher suite' % (side, suites, name))
            ERR_clear_error()
            SSL_CTX_set_ciphersuites(c, suites.encode('ascii'))
        trusted = o.get('trusted')
        if trusted is not None:
            store = SSL_CTX_get_cert_store(c)
            for item in (trusted if isinstance(trusted, (list, tuple)) else (trusted,)):
                for x in load_certificates(item, side + ': trusted'):
                    X509_STORE_add_cert(store, <X509*><size_t>x)
                    X509_free(<X509*><size_t>x)
        if pair is not None:
            use_pair(c, pair, side + ': certificate')
        alpn = o.get('alpn')
        verify = o.get('verify')
        if self.server:
            SSL_CTX_set_session_id_context(c, <const unsigned char*>b'pipyx', 5)
            SSL_CTX_set_tlsext_servername_callback(c, tls_servername_cb)
            if alpn is not None:
                self.alpn = alpn
                if not callable(alpn):
                    self.alpn_wire = alpn_wire([alpn] if isinstance(alpn, str) else alpn, side + ': alpn')
                SSL_CTX_set_alpn_select_cb(c, tls_alpn_select_cb, <void*>self)
            # A client certificate: required when trusted CAs are given (or verify is True or a callable),
            # asked for but optional with verify='optional', not asked for otherwise.
            if verify is None:
                verify = trusted is not None
            if callable(verify):
                self.verify = verify
                mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            elif verify == 'optional':
                mode = SSL_VERIFY_PEER
            elif verify is True:
                mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            elif verify is False:
                mode = SSL_VERIFY_NONE
            else:
                raise TlsError("accept_tls: verify is True, False, 'optional' or a callable, not %r" % (verify,))
            if mode != SSL_VERIFY_NONE and trusted is None:
                raise TlsError('accept_tls: verifying client certificates needs the trusted CAs (trusted=...)')
            SSL_CTX_set_verify(c, mode, tls_verify_cb)
        else:
            if trusted is None and verify is not False:
                SSL_CTX_set_default_verify_paths(c)
            if callable(verify):
                self.verify = verify
            if verify is False:
                SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL)
            else:
                SSL_CTX_set_verify(c, SSL_VERIFY_PEER, tls_verify_cb)
            if alpn is not None:
                wire = alpn_wire([alpn] if isinstance(alpn, str) else alpn, side + ': alpn')
                if SSL_CTX_set_alpn_protos(c, <const unsigned char*>PyBytes_AS_STRING(wire), <unsigned int>len(wire)) != 0:
                    raise TlsError('connect_tls: alpn %r refused' % (alpn,))
            SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE)
            SSL_CTX_sess_set_new_cb(c, tls_new_session_cb)
        return 0

    def lookup(self, name):
        return self.for_name(name)

    cdef TlsContext for_name(self, object name):
        # accept_tls with a certificate callable: the context holding the certificate for an SNI name, made on the
        # first handshake that asks for the name (the callable runs once per name while the cache holds it).
        cdef TlsContext t = self.by_name.get(name)
        if t is not None:
            return t
        pair = self.certificate(name)
        if pair is None:
            return None
        key = (pair.get('cert'), pair.get('key')) if isinstance(pair, dict) else tuple(pair)
        t = self.by_pair.get(key)
        if t is None:
            t = TlsContext.__new__(TlsContext)
            t.server = True
            t.sessions = {}
            t.ctx = SSL_CTX_new(TLS_server_method())
            t.configure(self.options, pair)
            if len(self.by_pair) >= MAX_NAMED_CONTEXTS:
                self.by_pair.clear()
            self.by_pair[key] = t
        if len(self.by_name) >= MAX_NAMED_CONTEXTS:
            self.by_name.clear()
        self.by_name[name] = t
        return t


cdef class TlsSession:
    """A client session kept to resume the next connection to the same server with."""

    def __dealloc__(self):
        if self.sess != NULL:
            SSL_SESSION_free(self.sess)


class TlsCertificate:
    """The peer's certificate as a script sees it: subject and issuer (RFC 2253 strings), sans (the subject
    alternative names, 'DNS:name' / 'IP:addr' / 'email:...' / 'URI:...') and fingerprint (SHA-256 of the DER,
    hex)."""
    __slots__ = ('subject', 'issuer', 'sans', 'fingerprint')

    def __init__(self, subject, issuer, sans, fingerprint):
        self.subject, self.issuer, self.sans, self.fingerprint = subject, issuer, sans, fingerprint

    def __repr__(self):
        return '<certificate %s>' % self.subject


class TlsInfo:
    """ctx.tls: what the handshake settled. sni (the name the client asked for, or None), alpn (the protocol
    chosen, or None), version ('TLSv1.3'), cipher (OpenSSL's name), peer (a TlsCertificate, or None), resumed
    (whether an earlier session was resumed)."""
    __slots__ = ('sni', 'alpn', 'version', 'cipher', 'peer', 'resumed')

    def __init__(self, sni=None, alpn=None, version=None, cipher=None, peer=None, resumed=False):
        self.sni, self.alpn, self.version, self.cipher, self.peer, self.resumed = sni, alpn, version, cipher, peer, resumed

    def __repr__(self):
        return '<tls %s %s sni=%s alpn=%s>' % (self.version, self.cipher, self.sni, self.alpn)


cdef str x509_name(X509_NAME* n):
    cdef BIO* b = BIO_new(BIO_s_mem())
    cdef char* p
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253)
    cdef long size = BIO_get_mem_data(b, &p)
    s = p[:size].decode('utf-8', 'replace')
    BIO_free(b)
    return s


cdef object certificate_info(X509* x):
    cdef unsigned char md[64]
    cdef unsigned int mdlen = 0
    cdef int t
    cdef GENERAL_NAMES* names
    cdef ASN1_STRING* v
    cdef const unsigned char* p
    sans = []
    names = <GENERAL_NAMES*>X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)
    if names != NULL:
        for i in range(sk_GENERAL_NAME_num(names)):
            v = <ASN1_STRING*>GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(names, i), &t)
            p = ASN1_STRING_get0_data(v)
            raw = p[:ASN1_STRING_length(v)]
            if t == GEN_DNS:
                sans.append('DNS:' + raw.decode('ascii', 'replace'))
            elif t == GEN_IPADD:
                import ipaddress
                try:
                    sans.append('IP:' + str(ipaddress.ip_address(raw)))
                except ValueError:
                    pass
            elif t == GEN_EMAIL:
                sans.append('email:' + raw.decode('ascii', 'replace'))
            elif t == GEN_URI:
                sans.append('URI:' + raw.decode('ascii', 'replace'))
        GENERAL_NAMES_free(names)
    X509_digest(x, EVP_sha256(), md, &mdlen)
    return TlsCertificate(x509_name(X509_get_subject_name(x)), x509_name(X509_get_issuer_name(x)), sans,
                          md[:mdlen].hex())


cdef inline TlsFilter filter_of(const SSL* s):
    return <TlsFilter>SSL_get_ex_data(s, 0)


cdef int tls_servername_cb(SSL* s, int* alert, void* arg) noexcept with gil:
    # accept_tls with a certificate callable: switch this connection to the context of the name asked for.
    cdef TlsFilter f = filter_of(s)
    cdef TlsContext t
    if f.config.certificate is None:
        return SSL_TLSEXT_ERR_OK
    cdef const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name)
    sni = name.decode('utf-8', 'replace') if name != NULL else None
    try:
        t = <TlsContext>f.call(f.config.lookup, sni)
    except Exception as e:
        f.name_failure = 'the certificate callback failed for %r' % sni
        report_error(e, f.location)
        alert[0] = SSL_AD_UNRECOGNIZED_NAME
        return SSL_TLSEXT_ERR_ALERT_FATAL
    if t is None:
        f.name_failure = 'no certificate for %r' % sni
        alert[0] = SSL_AD_UNRECOGNIZED_NAME
        return SSL_TLSEXT_ERR_ALERT_FATAL
    SSL_set_SSL_CTX(s, t.ctx)
    return SSL_TLSEXT_ERR_OK


cdef int tls_alpn_select_cb(SSL* s, const unsigned char** out, unsigned char* outlen, const unsigned char* inp,
                            unsigned int inlen, void* arg) noexcept with gil:
    # The client's offer against the script's list (the script's order of preference), or the script's choice.
    cdef TlsFilter f = filter_of(s)
    cdef TlsContext t = f.config
    cdef unsigned int i = 0, j
    cdef const unsigned char* w
    cdef Py_ssize_t wn
    offer = []
    while i < inlen:
        j = inp[i]
        if i + 1 + j > inlen:
            break
        offer.append((i + 1, inp[i + 1:i + 1 + j]))
        i += 1 + j
    if t.alpn_wire is not None:
        w = <const unsigned char*>PyBytes_AS_STRING(t.alpn_wire)
        wn = PyBytes_GET_SIZE(t.alpn_wire)
        i = 0
        while i < wn:
            j = w[i]
            name = w[i + 1:i + 1 + j]
            for pos, o in offer:
                if o == name:
                    outlen[0] = <unsigned char>j
                    j = pos
                    out[0] = inp + j
                    return SSL_TLSEXT_ERR_OK
            i += 1 + j
        return SSL_TLSEXT_ERR_NOACK
    try:
        chosen = f.call(t.alpn, [o.decode('ascii', 'replace') for pos, o in offer])
    except Exception as e:
        report_error(e, f.location)
        return SSL_TLSEXT_ERR_NOACK
    if chosen is None:
        return SSL_TLSEXT_ERR_NOACK
    chosen_b = chosen.encode('ascii') if isinstance(chosen, str) else bytes(chosen)
    for pos, o in offer:
        if o == chosen_b:
            j = pos
            out[0] = inp + j
            outlen[0] = <unsigned char>len(o)
            return SSL_TLSEXT_ERR_OK
    return SSL_TLSEXT_ERR_NOACK


def _call_verify(args):
    fn, ok, cert = args
    return fn(ok, cert)


cdef int tls_verify_cb(int ok, X509_STORE_CTX* store) noexcept with gil:
    # OpenSSL's verdict on each certificate of the chain, the peer's own last (depth 0); a script's verify callback
    # has the last word on the peer's, told whether the whole chain passed.
    cdef SSL* s = <SSL*>X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx())
    cdef TlsFilter f = filter_of(s)
    cdef int depth = X509_STORE_CTX_get_error_depth(store)
    if not ok and f.verify_failure is None:
        f.verify_failure = (<bytes>X509_verify_cert_error_string(X509_STORE_CTX_get_error(store))).decode('latin-1')
    if f.config.verify is None or depth > 0:
        return ok if f.config.verify is None else 1
    try:
        verdict = f.call(_call_verify, (f.config.verify, f.verify_failure is None,
                                        certificate_info(X509_STORE_CTX_get_current_cert(store))))
    except Exception as e:
        report_error(e, f.location)
        verdict = False
    if verdict:
        f.verify_failure = None
        return 1
    if f.verify_failure is None:
        f.verify_failure = 'refused by the verify callback'
    return 0


cdef int tls_new_session_cb(SSL* s, SSL_SESSION* sess) noexcept with gil:
    # connect_tls: a session the server gave, kept (one per session key) to resume the next connection with.
    cdef TlsFilter f = filter_of(s)
    cdef TlsSession keep
    if f is None or f.session_key is None:
        return 0
    keep = TlsSession.__new__(TlsSession)
    keep.sess = sess                     # returning 1: this reference is ours now
    f.config.sessions[f.session_key] = keep
    return 1


cdef class TlsSubOutput(EventTarget):
    """What a TLS filter's sub-pipeline outputs, handed back to the filter."""

    cdef bint takes_file_spans(self):
        # accept_tls's plain side reads a file span in pieces itself (write_file) rather than be given its bytes.
        return self.owner is not None and self.owner.plain_sub

    cdef int on_event(self, Event evt) except -1:
        if self.owner is None:
            return 0
        if self.owner.plain_sub:
            return self.owner.plain_in(evt)
        return self.owner.cipher_in(evt)


cdef extern from "<unistd.h>" nogil:
    ssize_t c_pread "pread"(int fd, void* buf, size_t count, off_t offset)

cdef Py_ssize_t TLS_FILE_PIECE = 65536        # a file span is read this much at a time
cdef size_t TLS_FILE_FLUSH = 256 * 1024       # and its records go out once this many are waiting
cdef char _file_buf[65536]
cdef Py_ssize_t TLS_PENDING_LIMIT = 1 << 20   # plain bytes held while the handshake runs, before the stream fails
cdef Py_ssize_t TLS_HELLO_LIMIT = 16384       # the largest ClientHello accept_tls takes (its declared length)
cdef object _failure_reported = None          # the reason of the failure whose StreamEnd is going out right now


def tls_failure_reason():
    """While the StreamEnd of a failed TLS connection is being passed on (synchronously, from the filter that
    failed), the reason it failed, as logged ('certificate verify failed: hostname mismatch'); None otherwise.
    Lets the code that receives that end (pipyx.Agent) say why, as errno does for a system call."""
    return _failure_reported


cdef class TlsFilter(Filter):
    """What accept_tls and connect_tls share: one TLS connection between a cipher side and a plain side, one of
    them its sub-pipeline. Subclasses say where each side's bytes go (emit_cipher, emit_plain)."""

    def __cinit__(self):
        self.ssl = NULL

    def __dealloc__(self):
        # Freed here only: a callback further up the stack may still be inside this SSL when the stream shuts down.
        if self.ssl != NULL:
            SSL_free(self.ssl)                # and its two BIOs
            self.ssl = NULL

    cdef int new_ssl(self) except -1:
        self.ssl = SSL_new(self.config.ctx)
        if self.ssl == NULL:
            raise MemoryError()
        self.rbio = BIO_new(BIO_s_mem())
        self.wbio = BIO_new(BIO_s_mem())
        SSL_set_bio(self.ssl, self.rbio, self.wbio)
        SSL_set_ex_data(self.ssl, 0, <void*>self)    # borrowed: the SSL lives no longer than this filter
        if self.config.server:
            SSL_set_accept_state(self.ssl)
        else:
            SSL_set_connect_state(self.ssl)
        return 0

    cdef int cipher_in(self, Event evt) except -1:
        # Bytes of records from the peer; what they decrypt to goes to the plain side, what they cause (handshake
        # messages, the answers of a synchronous pipeline) goes back in one piece once they have been handled.
        cdef Data d
        cdef Py_ssize_t i, n
        if self.closed or self.failed or self.cipher_ended:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if self.ssl == NULL:
                self.new_ssl()
                self.arm_handshake_timer()
            if self.hello_seen < 9 and self.plain_sub:
                self.check_hello(d)
                if self.failed:
                    return 0
            n = d.chunk_count()
            for i in range(n):
                c = d.chunk_at(i)
                if type(c) is not bytes:
                    c = bytes(c)
                if PyBytes_GET_SIZE(c):
                    BIO_write(self.rbio, PyBytes_AS_STRING(c), <int>PyBytes_GET_SIZE(c))
            self.in_cipher += 1
            try:
                self.advance()
            finally:
                self.in_cipher -= 1
            if not self.in_cipher and not self.failed:
                self.flush_cipher()
        elif isinstance(evt, StreamEnd):
            err = (<StreamEnd>evt).error
            if not self.established:
                if self.ssl != NULL and not self.plain_sub:
                    # (fail() ends the plain side too: the stream above must learn, with the connection's error.)
                    return self.fail('the server closed the connection during the handshake' if err is None
                                     else 'handshake not finished: %s' % err, err or 'ConnectionReset')
                self.cipher_ended = True
                self.failed = True
                self.release_timer()
                return self.emit_plain(evt) if not self.plain_sub else self.emit_cipher(evt)
            self.cipher_ended = True
            return self.emit_plain(StreamEnd(err) if err is not None else STREAM_END_OK)
        return 0

    cdef int check_hello(self, Data d) except -1:
        # The length a ClientHello declares, read from its first 9 bytes (record header, handshake header) before
        # OpenSSL buffers any of it: a larger one is refused at once. Anything that is not a handshake record is
        # left to OpenSSL, whose error says what it is.
        cdef Py_ssize_t i, j, n, size
        n = d.chunk_count()
        for i in range(n):
            c = d.chunk_at(i)
            if type(c) is not bytes:
                c = bytes(c)
            j = 0
            while self.hello_seen < 9 and j < PyBytes_GET_SIZE(c):
                self.hello_head[self.hello_seen] = <unsigned char>(<const char*>PyBytes_AS_STRING(c))[j]
                self.hello_seen += 1
                j += 1
            if self.hello_seen >= 9:
                break
        if self.hello_seen < 9 or self.hello_head[0] != 22 or self.hello_head[5] != 1:
            if self.hello_seen >= 1 and self.hello_head[0] != 22:
                self.hello_seen = 9          # not TLS: nothing more to check
            return 0
        size = (self.hello_head[6] << 16) | (self.hello_head[7] << 8) | self.hello_head[8]
        if self.max_hello_size > 0 and size + 4 > self.max_hello_size:
            return self.fail('a ClientHello of %d bytes, over max_hello_size (%d)' % (size + 4, self.max_hello_size),
                             'ProtocolError')
        return 0

    cdef int advance(self) except -1:
        cdef int r, e
        if not self.established:
            r = SSL_do_handshake(self.ssl)
            if r != 1:
                e = SSL_get_error(self.ssl, r)
                if e == SSL_ERROR_WANT_READ:
                    return 0
                reason = tls_error_reason()
                if self.name_failure is not None:
                    reason = self.name_failure
                elif self.verify_failure is not None:
                    reason = 'certificate verify failed: %s' % self.verify_failure
                elif reason == 'http request':
                    reason = 'plain HTTP sent to a TLS port'
                elif reason in ('wrong version number', 'unsupported protocol', 'packet length too long',
                                'record layer failure'):
                    reason = 'not a TLS handshake (%s)' % reason
                elif reason is None:
                    reason = 'the handshake failed'
                return self.fail(reason, 'ProtocolError')
            self.established_now()
            if self.failed or self.closed:
                return 0
        return self.read_records()

    cdef int read_records(self) except -1:
        cdef int n, e
        cdef Data out = None
        cdef bint peer_closed = False
        while True:
            n = SSL_read(self.ssl, _plain_buf, TLS_PLAIN_READ)
            if n > 0:
                chunk = PyBytes_FromStringAndSize(_plain_buf, n)
                if out is None:
                    out = Data.wrap(chunk)
                else:
                    out.append_chunk(chunk)
                if BIO_ctrl_pending(self.rbio) == 0 and not SSL_pending(self.ssl):
                    break                       # all read: spares the SSL_read that would say so
                continue
            e = SSL_get_error(self.ssl, n)
            if e == SSL_ERROR_WANT_READ:
                break
            if e == SSL_ERROR_ZERO_RETURN:
                peer_closed = True
                break
            if out is not None:
                self.emit_plain(out)
            return self.fail(tls_error_reason() or 'a record could not be read', 'ProtocolError')
        if out is not None:
            self.emit_plain(out)
        if peer_closed and not self.cipher_ended:
            self.cipher_ended = True            # close_notify: nothing more comes from the peer
            self.emit_plain(STREAM_END_OK)
        return 0

    cdef int plain_in(self, Event evt) except -1:
        # Plain bytes to send: records into the write BIO, out at once unless cipher bytes are being handled (then
        # with what they caused).
        cdef Data d
        cdef Py_ssize_t i, n
        cdef int r
        if self.closed or self.failed or self.plain_ended:
            return 0
        if isinstance(evt, Data):
            d = <Data>evt
            if not self.established:
                if self.pending is None:
                    self.pending = []
                self.pending.append(d)
                self.pending_size += d.nbytes()
                if self.max_pending_size > 0 and self.pending_size > self.max_pending_size:
                    return self.fail('more than %d bytes waiting for the handshake (max_pending_size)'
                                     % self.max_pending_size, 'BufferOverflow')
                return 0
            n = d.chunk_count()
            for i in range(n):
                c = d.chunk_at(i)
                if type(c) is bytes:
                    r = self.write_plain(PyBytes_AS_STRING(c), PyBytes_GET_SIZE(c))
                elif type(c) is FileChunk:
                    r = self.write_file(<FileChunk>c)
                else:
                    r = self.write_buffer(c)
                if r < 0:
                    return 0                     # failed, and said why
            if not self.in_cipher:
                self.flush_cipher()
        elif isinstance(evt, StreamEnd):
            if not self.established:
                if self.ssl == NULL or (<StreamEnd>evt).error is not None:
                    self.plain_ended = True
                    self.failed = True
                    self.release_timer()
                    return self.emit_cipher(evt)
                if self.pending is None:
                    self.pending = []
                self.pending.append(evt)         # ends once the handshake is done and what waits has gone
                return 0
            self.plain_ended = True
            SSL_shutdown(self.ssl)               # close_notify
            ERR_clear_error()                    # (a peer gone first leaves an error nobody needs)
            self.flush_cipher()
            self.emit_cipher(evt)
        return 0

    cdef int write_plain(self, const char* p, Py_ssize_t n) except -2:
        # Straight from the caller's buffer: OpenSSL's encryption is the one copy.
        cdef int r
        if n == 0:
            return 0
        r = SSL_write(self.ssl, p, <int>n)
        if r <= 0:
            self.fail(tls_error_reason() or 'a record could not be written', 'ProtocolError')
            return -1
        return 0

    cdef int write_buffer(self, object c) except -2:
        # A bytearray or a memoryview (a cached file's range): written from its own memory, not copied to bytes.
        cdef const unsigned char[::1] v
        try:
            v = c
        except (ValueError, TypeError):
            b = bytes(c)
            return self.write_plain(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))
        if v.shape[0] == 0:
            return 0
        return self.write_plain(<const char*>&v[0], v.shape[0])

    cdef int write_file(self, FileChunk f) except -2:
        # A file span (serve_files' files above its memory cache): read in pieces into one buffer and encrypted
        # from there, so no bytes object of the file's size is made. What OpenSSL made of each few pieces goes out
        # at once (one write per burst would hold the whole file's records).
        cdef int fd
        cdef bint opened = False
        cdef int64_t pos = f.offset, end = f.offset + f.length
        cdef ssize_t got
        if f.handle is not None:
            fd = f.handle.fd
        else:
            try:
                fd = _os.open(f.path, _os.O_RDONLY | getattr(_os, 'O_CLOEXEC', 0))
            except OSError as e:
                self.fail('cannot read %s: %s' % (f.path, e.strerror), 'ReadError')
                return -1
            opened = True
        try:
            while pos < end:
                with nogil:
                    got = c_pread(fd, _file_buf, <size_t>min(<int64_t>TLS_FILE_PIECE, end - pos), <off_t>pos)
                if got < 0 and errno == EINTR:
                    continue
                if got <= 0:
                    self.fail('%s got shorter while it was being sent' % f.path if got == 0
                              else 'cannot read %s: %s' % (f.path, _os.strerror(errno)), 'ReadError')
                    return -1
                pos += got
                if self.write_plain(_file_buf, got) < 0:
                    return -1
                if BIO_ctrl_pending(self.wbio) >= TLS_FILE_FLUSH:
                    self.flush_cipher()
                    if self.failed or self.closed:
                        return -1
        finally:
            if opened:
                c_close(fd)
        return 0

    cdef int flush_cipher(self) except -1:
        cdef size_t n
        if self.ssl == NULL:
            return 0
        n = BIO_ctrl_pending(self.wbio)
        if n == 0:
            return 0
        b = PyBytes_FromStringAndSize(NULL, n)
        BIO_read(self.wbio, PyBytes_AS_STRING(b), <int>n)
        return self.emit_cipher(Data.wrap(b))

    cdef int emit_cipher(self, Event evt) except -1:
        return 0

    cdef int emit_plain(self, Event evt) except -1:
        return 0

    cdef int established_now(self) except -1:
        cdef const unsigned char* a
        cdef unsigned int alen = 0
        cdef const char* name
        cdef X509* peer
        self.established = True
        self.release_timer()
        name = SSL_get_servername(self.ssl, TLSEXT_NAMETYPE_host_name)
        SSL_get0_alpn_selected(self.ssl, &a, &alen)
        peer = SSL_get1_peer_certificate(self.ssl)
        cert = None
        if peer != NULL:
            cert = certificate_info(peer)
            X509_free(peer)
        self.info = TlsInfo(
            name.decode('utf-8', 'replace') if name != NULL else None,
            a[:alen].decode('ascii', 'replace') if alen else None,
            (<bytes>SSL_get_version(self.ssl)).decode('ascii'),
            (<bytes>SSL_CIPHER_get_name(SSL_get_current_cipher(self.ssl))).decode('ascii'),
            cert, bool(SSL_session_reused(self.ssl)))
        if self.handshake_cb is not None:
            try:
                self.call(self.handshake_cb, self.info)
            except Exception as e:
                report_error(e, self.location)
                return self.fail('the handshake callback failed', 'RuntimeError')
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.pending_size = 0
            for e in pending:
                self.plain_in(<Event>e)
        return 0

    cdef int fail(self, str reason, str error) except -1:
        # The connection cannot go on: one log line, the alert OpenSSL prepared, and both sides end with error.
        if self.failed:
            return 0
        self.failed = True
        self.release_timer()
        log_warning('pipyx.tls', '%s: %s' % (self.peer_name(), reason))
        self.flush_cipher()
        global _failure_reported
        outer, _failure_reported = _failure_reported, reason
        try:
            if not self.plain_ended:
                self.plain_ended = True
                self.emit_cipher(StreamEnd(error))
            if not self.cipher_ended:
                self.cipher_ended = True
                if self.plain_sub:
                    if self.sub is not None:
                        self.emit_plain(StreamEnd(error))
                else:
                    self.emit_plain(StreamEnd(error))
        finally:
            _failure_reported = outer
        return 0

    cdef str peer_name(self):
        return 'tls'

    cdef void arm_handshake_timer(self):
        if self.handshake_timeout > 0 and self.timer is None and not self.established:
            try:
                self.timer = _asyncio.get_running_loop().call_later(self.handshake_timeout, self._handshake_expired)
            except RuntimeError:
                pass                              # no loop: driven from a test, no timer

    def _handshake_expired(self):
        self.timer = None
        if self.established or self.failed or self.closed:
            return
        try:
            self.fail('handshake not finished within %gs' % self.handshake_timeout, 'ConnectionTimeout')
        except Exception as e:
            report_error(e, self.location)

    cdef void release_timer(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    cdef void release(self):
        self.closed = True
        self.release_timer()
        if self.sub_output is not None:
            self.sub_output.owner = None
        sub, self.sub = self.sub, None
        if sub is not None:
            sub.shutdown()

    cdef void shutdown(self):
        self.release()
