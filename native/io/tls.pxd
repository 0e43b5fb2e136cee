# Declared here, defined in tls.pxi: the engine every TLS filter drives. OpenSSL does all of TLS; what is declared
# from it is what pipyx calls (macros declared as the functions they stand for).

cdef extern from "openssl/ssl.h" nogil:
    ctypedef struct SSL_CTX
    ctypedef struct SSL
    ctypedef struct SSL_METHOD
    ctypedef struct SSL_SESSION
    ctypedef struct SSL_CIPHER
    ctypedef struct BIO
    ctypedef struct BIO_METHOD
    ctypedef struct X509
    ctypedef struct X509_NAME
    ctypedef struct X509_STORE
    ctypedef struct X509_STORE_CTX
    ctypedef struct X509_VERIFY_PARAM
    ctypedef struct EVP_PKEY
    ctypedef struct EVP_MD
    ctypedef struct GENERAL_NAME
    ctypedef struct GENERAL_NAMES
    ctypedef struct ASN1_STRING

    enum:
        SSL_ERROR_NONE, SSL_ERROR_SSL, SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE, SSL_ERROR_SYSCALL,
        SSL_ERROR_ZERO_RETURN, SSL_ERROR_WANT_X509_LOOKUP
        SSL_VERIFY_NONE, SSL_VERIFY_PEER, SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        SSL_MODE_RELEASE_BUFFERS, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
        SSL_OP_NO_RENEGOTIATION, SSL_OP_NO_COMPRESSION
        SSL_SESS_CACHE_CLIENT, SSL_SESS_CACHE_NO_INTERNAL_STORE
        TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION
        TLSEXT_NAMETYPE_host_name
        SSL_TLSEXT_ERR_OK, SSL_TLSEXT_ERR_NOACK, SSL_TLSEXT_ERR_ALERT_FATAL
        SSL_AD_UNRECOGNIZED_NAME, SSL_AD_NO_APPLICATION_PROTOCOL
        SSL_RECEIVED_SHUTDOWN
        XN_FLAG_RFC2253, NID_subject_alt_name, GEN_DNS, GEN_IPADD, GEN_EMAIL, GEN_URI
        X509_V_OK, EVP_MAX_MD_SIZE

    ctypedef int (*servername_cb_t)(SSL*, int*, void*) noexcept
    ctypedef int (*alpn_select_cb_t)(SSL*, const unsigned char**, unsigned char*, const unsigned char*,
                                     unsigned int, void*) noexcept
    ctypedef int (*verify_cb_t)(int, X509_STORE_CTX*) noexcept
    ctypedef int (*new_session_cb_t)(SSL*, SSL_SESSION*) noexcept

    const SSL_METHOD* TLS_server_method()
    const SSL_METHOD* TLS_client_method()
    SSL_CTX* SSL_CTX_new(const SSL_METHOD* m)
    void SSL_CTX_free(SSL_CTX* c)
    long SSL_CTX_set_mode(SSL_CTX* c, long mode)
    unsigned long SSL_CTX_set_options(SSL_CTX* c, unsigned long op)
    int SSL_CTX_set_min_proto_version(SSL_CTX* c, int v)
    int SSL_CTX_set_max_proto_version(SSL_CTX* c, int v)
    int SSL_CTX_set_cipher_list(SSL_CTX* c, const char* s)
    int SSL_CTX_set_ciphersuites(SSL_CTX* c, const char* s)
    int SSL_CTX_use_certificate(SSL_CTX* c, X509* x)
    long SSL_CTX_add0_chain_cert(SSL_CTX* c, X509* x)
    int SSL_CTX_use_PrivateKey(SSL_CTX* c, EVP_PKEY* k)
    int SSL_CTX_check_private_key(const SSL_CTX* c)
    X509_STORE* SSL_CTX_get_cert_store(const SSL_CTX* c)
    int SSL_CTX_set_default_verify_paths(SSL_CTX* c)
    void SSL_CTX_set_verify(SSL_CTX* c, int mode, verify_cb_t cb)
    int SSL_CTX_set_session_id_context(SSL_CTX* c, const unsigned char* sid, unsigned int n)
    long SSL_CTX_set_tlsext_servername_callback(SSL_CTX* c, servername_cb_t cb)
    void SSL_CTX_set_alpn_select_cb(SSL_CTX* c, alpn_select_cb_t cb, void* arg)
    int SSL_CTX_set_alpn_protos(SSL_CTX* c, const unsigned char* p, unsigned int n)
    long SSL_CTX_set_session_cache_mode(SSL_CTX* c, long m)
    void SSL_CTX_sess_set_new_cb(SSL_CTX* c, new_session_cb_t cb)

    SSL* SSL_new(SSL_CTX* c)
    void SSL_free(SSL* s)
    SSL_CTX* SSL_set_SSL_CTX(SSL* s, SSL_CTX* c)
    void SSL_set_accept_state(SSL* s)
    void SSL_set_connect_state(SSL* s)
    void SSL_set_bio(SSL* s, BIO* r, BIO* w)
    int SSL_do_handshake(SSL* s)
    int SSL_read(SSL* s, void* buf, int n)
    int SSL_write(SSL* s, const void* buf, int n)
    int SSL_shutdown(SSL* s)
    int SSL_get_shutdown(const SSL* s)
    int SSL_pending(const SSL* s)
    int SSL_get_error(const SSL* s, int ret)
    int SSL_is_init_finished(const SSL* s)
    int SSL_set_ex_data(SSL* s, int idx, void* p)
    void* SSL_get_ex_data(const SSL* s, int idx)
    int SSL_get_ex_data_X509_STORE_CTX_idx()
    const char* SSL_get_servername(const SSL* s, int t)
    long SSL_set_tlsext_host_name(SSL* s, const char* name)
    int SSL_set1_host(SSL* s, const char* host)
    X509_VERIFY_PARAM* SSL_get0_param(SSL* s)
    void SSL_get0_alpn_selected(const SSL* s, const unsigned char** data, unsigned int* n)
    const char* SSL_get_version(const SSL* s)
    const SSL_CIPHER* SSL_get_current_cipher(const SSL* s)
    const char* SSL_CIPHER_get_name(const SSL_CIPHER* c)
    X509* SSL_get1_peer_certificate(const SSL* s)
    long SSL_get_verify_result(const SSL* s)
    int SSL_session_reused(const SSL* s)
    int SSL_set_session(SSL* s, SSL_SESSION* sess)
    void SSL_SESSION_free(SSL_SESSION* sess)
    int SSL_SESSION_is_resumable(const SSL_SESSION* sess)

    const BIO_METHOD* BIO_s_mem()
    BIO* BIO_new(const BIO_METHOD* m)
    BIO* BIO_new_mem_buf(const void* buf, int n)
    int BIO_free(BIO* b)
    int BIO_read(BIO* b, void* buf, int n)
    int BIO_write(BIO* b, const void* buf, int n)
    size_t BIO_ctrl_pending(BIO* b)
    long BIO_get_mem_data(BIO* b, char** pp)

    X509* PEM_read_bio_X509(BIO* b, X509** x, void* cb, void* u)
    EVP_PKEY* PEM_read_bio_PrivateKey(BIO* b, EVP_PKEY** x, void* cb, void* u)
    void X509_free(X509* x)
    void EVP_PKEY_free(EVP_PKEY* k)
    int X509_STORE_add_cert(X509_STORE* s, X509* x)
    X509_NAME* X509_get_subject_name(const X509* x)
    X509_NAME* X509_get_issuer_name(const X509* x)
    int X509_NAME_print_ex(BIO* b, const X509_NAME* n, int indent, unsigned long flags)
    void* X509_get_ext_d2i(const X509* x, int nid, int* crit, int* idx)
    int X509_digest(const X509* x, const EVP_MD* t, unsigned char* md, unsigned int* n)
    const EVP_MD* EVP_sha256()
    int X509_cmp_current_time(const void* t)
    const void* X509_get0_notAfter(const X509* x)
    int X509_STORE_CTX_get_error(const X509_STORE_CTX* c)
    int X509_STORE_CTX_get_error_depth(const X509_STORE_CTX* c)
    X509* X509_STORE_CTX_get_current_cert(const X509_STORE_CTX* c)
    void* X509_STORE_CTX_get_ex_data(const X509_STORE_CTX* c, int idx)
    const char* X509_verify_cert_error_string(long n)
    int X509_VERIFY_PARAM_set1_ip_asc(X509_VERIFY_PARAM* p, const char* ip)
    int sk_GENERAL_NAME_num(const GENERAL_NAMES* s)
    GENERAL_NAME* sk_GENERAL_NAME_value(const GENERAL_NAMES* s, int i)
    void GENERAL_NAMES_free(GENERAL_NAMES* s)
    void* GENERAL_NAME_get0_value(const GENERAL_NAME* g, int* t)
    const unsigned char* ASN1_STRING_get0_data(const ASN1_STRING* s)
    int ASN1_STRING_length(const ASN1_STRING* s)

    unsigned long ERR_get_error()
    unsigned long ERR_peek_error()
    void ERR_clear_error()
    const char* ERR_reason_error_string(unsigned long e)
    void ERR_error_string_n(unsigned long e, char* buf, size_t n)


# One SSL_CTX: the settings of one side of TLS (and, for accept_tls, one certificate of it).
cdef class TlsContext:
    cdef SSL_CTX* ctx
    cdef bint server
    cdef object alpn                     # accept: a list of names, or a callable choosing from the client's offer
    cdef bytes alpn_wire                 # the list in ALPN's wire form
    cdef object verify                   # accept: a callable deciding on the client's certificate, or None
    cdef object certificate              # accept: a callable giving the pair for an SNI name, or None
    cdef dict by_name                    # accept with a certificate callable: SNI name -> TlsContext
    cdef dict by_pair                    # and the pair it gave -> TlsContext, so names sharing a pair share one
    cdef object options                  # what made it (for the contexts made per certificate)
    cdef dict sessions                   # connect: session key -> TlsSession to resume

    cdef int configure(self, dict o, object pair) except -1
    cdef TlsContext for_name(self, object name)


# A session of a client context, kept to resume the next connection with.
cdef class TlsSession:
    cdef SSL_SESSION* sess


# Raised by the engine: why a handshake or a record failed, in words.
# (Defined as a Python exception in tls.pxi.)


# What accept_tls and connect_tls share: one SSL over memory BIOs between a cipher side and a plain side, one of
# them a sub-pipeline.
cdef class TlsFilter(Filter):
    cdef TlsContext config
    cdef LayoutRef target
    cdef object handshake_cb
    cdef double handshake_timeout
    cdef SSL* ssl
    cdef BIO* rbio
    cdef BIO* wbio
    cdef Pipeline sub
    cdef bint plain_sub                  # the sub-pipeline is the plain side (accept_tls), not the cipher side
    cdef TlsSubOutput sub_output
    cdef bint closed
    cdef bint cipher_ended
    cdef object timer
    cdef list pending                    # plain bytes written before the handshake finished (connect_tls)
    cdef Py_ssize_t pending_size
    cdef Py_ssize_t max_pending_size     # connect_tls: the limit of pending, beyond which the stream fails
    cdef Py_ssize_t max_hello_size       # accept_tls: the largest ClientHello taken (its declared length)
    cdef int hello_seen                  # accept_tls: how many of the first record's 9 header bytes were read
    cdef unsigned char hello_head[9]     # and those bytes: the record header, then the handshake header
    cdef bint plain_ended                # the plain side ended: close_notify goes out once the handshake is done
    cdef bint established
    cdef bint failed
    cdef int in_cipher                   # feeding cipher bytes: what they cause goes out after, in one piece
    cdef object session_key
    cdef str verify_failure              # a verify callback's or the chain's reason, for the log line
    cdef str name_failure                # accept_tls: why the SNI name was refused, for the log line
    cdef public object info              # TlsInfo once established

    cdef int new_ssl(self) except -1
    cdef int cipher_in(self, Event evt) except -1
    cdef int check_hello(self, Data d) except -1
    cdef int plain_in(self, Event evt) except -1
    cdef int advance(self) except -1
    cdef int read_records(self) except -1
    cdef int write_plain(self, const char* p, Py_ssize_t n) except -2
    cdef int write_buffer(self, object c) except -2
    cdef int write_file(self, FileChunk f) except -2
    cdef int flush_cipher(self) except -1
    cdef int emit_cipher(self, Event evt) except -1
    cdef int emit_plain(self, Event evt) except -1
    cdef int established_now(self) except -1
    cdef int fail(self, str reason, str error) except -1
    cdef str peer_name(self)
    cdef void arm_handshake_timer(self)
    cdef void release_timer(self)
    cdef void release(self)
    cdef void shutdown(self)


# The sub-pipeline's output, given back to its TlsFilter.
cdef class TlsSubOutput(EventTarget):
    cdef TlsFilter owner

    cdef int on_event(self, Event evt) except -1
    cdef bint takes_file_spans(self)


cdef object tls_error_reason()
