"""A private CA and a server certificate for 127.0.0.1/localhost, made per test run: with the `cryptography` package
when it is installed, else with the openssl command."""
import datetime
import ipaddress
import os
import shutil
import subprocess

from .peers import missing_peer


def certificates(directory):
    """{'ca', 'cert', 'key'}: paths of PEM files made in directory."""
    try:
        import cryptography  # noqa: F401
        return make_certs_cryptography(directory)
    except ImportError:
        if not shutil.which('openssl'):
            missing_peer('neither the cryptography package nor the openssl command is there to make certificates')
        return make_certs_openssl(directory)


def make_certs_cryptography(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, issuer, key, signer, ca):
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                              content_commitment=False, key_encipherment=False,
                                              data_encipherment=False, key_agreement=False, encipher_only=False,
                                              decipher_only=False), critical=True)
            b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            b = b.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert('pipyx test CA', 'pipyx test CA', ca_key, ca_key, True)
    server = cert('127.0.0.1', 'pipyx test CA', key, ca_key, False)
    pem = serialization.Encoding.PEM
    paths = {n: os.path.join(directory, n + '.pem') for n in ('ca', 'cert', 'key')}
    with open(paths['ca'], 'wb') as f:
        f.write(ca.public_bytes(pem))
    with open(paths['cert'], 'wb') as f:
        f.write(server.public_bytes(pem))
    with open(paths['key'], 'wb') as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


def make_certs_openssl(directory):
    paths = {n: os.path.join(directory, n + '.pem') for n in ('ca', 'cert', 'key')}
    ca_key, csr, ext = (os.path.join(directory, n) for n in ('ca-key.pem', 'req.csr', 'ext.cnf'))
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')

    def run(*args):
        subprocess.run(['openssl'] + list(args), check=True, capture_output=True, timeout=30)
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca_key,
        '-out', paths['ca'], '-days', '1', '-subj', '/CN=pipyx test CA')
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', paths['key'],
        '-out', csr, '-subj', '/CN=127.0.0.1')
    run('x509', '-req', '-in', csr, '-CA', paths['ca'], '-CAkey', ca_key, '-CAcreateserial', '-out', paths['cert'],
        '-days', '1', '-extfile', ext)
    return paths
