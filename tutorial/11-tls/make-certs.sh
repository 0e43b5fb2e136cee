#!/bin/sh
# Makes what step 11 needs, in $CERTS (default: certs/ beside this script): a private CA (ca.pem), a certificate and
# key for each server name (a.example, b.example, localhost), and a client certificate for alice. EC P-256 keys,
# valid for 30 days. A browser or curl trusts them once told to trust ca.pem (curl --cacert).
set -eu
dir=${CERTS:-$(dirname "$0")/certs}
mkdir -p "$dir"
cd "$dir"
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

new_key ca-key.pem
openssl req -x509 -new -key ca-key.pem -out ca.pem -days 30 -subj /CN=tutorial-ca

issue() {    # issue NAME EXTENSIONS: NAME.pem and NAME-key.pem, signed by the CA
    new_key "$1-key.pem"
    openssl req -new -key "$1-key.pem" -out "$1.csr" -subj "/CN=$1"
    printf '%s\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 -extfile "$1.ext" \
        -out "$1.pem" 2>/dev/null
    rm "$1.csr" "$1.ext"
}
issue a.example 'subjectAltName=DNS:a.example'
issue b.example 'subjectAltName=DNS:b.example'
issue localhost 'subjectAltName=DNS:localhost,IP:127.0.0.1'
issue alice 'extendedKeyUsage=clientAuth'
rm -f ca.srl
echo "certificates in $dir"
