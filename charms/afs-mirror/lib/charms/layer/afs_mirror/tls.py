"""``ssl-cert`` and ``ssl-key``: decoding and checking a certificate and its key.

Each option holds PEM text or that PEM text base64-encoded (what
``juju config app ssl-cert="$(base64 -w0 cert.pem)"`` gives).  The pair is
checked by loading it into an OpenSSL context, which refuses a key that does
not belong to the certificate.  The key is never logged or put in a message.
"""

import base64
import binascii
import os
import ssl
import tempfile

from charms.layer.afs_mirror import proxies

_BEGIN = '-----BEGIN '


def decode(value, what):
    """PEM text from a PEM or base64 value; '' when unset.

    :raises Invalid: neither PEM nor base64 of PEM
    """
    text = (value or '').strip()
    if not text:
        return ''
    if _BEGIN not in text:
        try:
            text = base64.b64decode(''.join(text.split()), validate=True).decode()
        except (binascii.Error, ValueError):
            raise proxies.Invalid('{} is neither PEM nor base64-encoded PEM'.format(what)) \
                from None
        if _BEGIN not in text:
            raise proxies.Invalid('{} decodes from base64 but holds no PEM block'.format(what))
    return text.strip() + '\n'


def pair(cert_value, key_value):
    """``(cert PEM, key PEM)``, or ``('', '')`` when TLS is off.

    :raises Invalid: only one of the two set, bad PEM, or a key that does not
        match the certificate
    """
    cert, key = decode(cert_value, 'the certificate'), decode(key_value, 'the key')
    if not cert and not key:
        return '', ''
    if not cert or not key:
        raise proxies.Invalid('ssl-cert and ssl-key must be set together')
    if 'PRIVATE KEY-----' not in key:
        raise proxies.Invalid('ssl-key holds no PEM private key')
    with tempfile.TemporaryDirectory(prefix='afs-mirror-tls-') as folder:
        cert_file, key_file = os.path.join(folder, 'c.pem'), os.path.join(folder, 'k.pem')
        for path, text in ((cert_file, cert), (key_file, key)):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
                f.write(text)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert_file, key_file)
        except ssl.SSLError as e:
            raise proxies.Invalid(_reason(e)) from None
    return cert, key


def _reason(error):
    text = str(error)
    if 'KEY_VALUES_MISMATCH' in text or 'key values mismatch' in text:
        return 'ssl-key does not match the certificate in ssl-cert'
    if 'PEM' in text or 'NO_START_LINE' in text or 'no start line' in text:
        return 'ssl-cert or ssl-key is not valid PEM ({})'.format(error.reason or 'unreadable')
    return 'ssl-cert and ssl-key cannot be loaded ({})'.format(error.reason or 'unknown error')
