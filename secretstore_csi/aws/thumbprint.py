"""The thumbprint IAM asks for when it trusts an OpenID Connect issuer.

IAM wants "the thumbprint of the top intermediate CA" of the issuer's TLS chain: the SHA-1
of the certificate just below the trusted root, as 40 lower-case hex digits. This is what
pulumi-eks's `getIssuerCAThumbprint` computes from the chain Node.js builds. Here the chain
the server presents is verified with `cryptography` against a CA bundle (hostname included),
so a thumbprint is only ever taken from a chain that a TLS client would accept.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from OpenSSL import SSL


class ThumbprintError(Exception):
    """The issuer's CA thumbprint could not be determined; the message says why."""


def issuer_ca_thumbprint(
    issuer_url: str,
    *,
    cafile: str | None = None,
    timeout: float = 10.0,
    attempts: int = 1,
    retry_delay: float = 5.0,
    progress: Callable[[str], None] = lambda message: None,
) -> str:
    """SHA-1 of the top intermediate CA of `issuer_url`'s verified TLS chain, lower-case hex.

    `cafile` is a PEM bundle of trusted roots; by default the system bundle, which honours
    SSL_CERT_FILE. Connection failures are retried `attempts` times, `retry_delay` seconds
    apart, reporting each wait through `progress`. A chain that does not verify is not retried.
    """
    host, port = _host_and_port(issuer_url)
    roots = _load_roots(cafile)
    for attempt in range(1, attempts + 1):
        progress(f"Reading the TLS chain of {host}:{port} (attempt {attempt} of {attempts})")
        try:
            presented = _presented_chain(host, port, timeout)
            break
        except ThumbprintError as error:
            if attempt == attempts:
                raise
            progress(f"{error}; retrying in {retry_delay:g}s")
            time.sleep(retry_delay)

    chain = _verify(host, port, presented, roots)
    if len(chain) < 3:
        raise ThumbprintError(
            f"{host}:{port} has no intermediate CA: its certificate is signed directly by the "
            f"root {chain[-1].subject.rfc4514_string()}"
        )
    top_intermediate = chain[-2]
    return top_intermediate.fingerprint(hashes.SHA1()).hex()


def _host_and_port(issuer_url: str) -> tuple[str, int]:
    parts = urlsplit(issuer_url)
    if parts.scheme != "https" or not parts.hostname:
        raise ThumbprintError(f"OIDC issuer {issuer_url!r} is not an https:// URL")
    return parts.hostname, parts.port or 443


def _load_roots(cafile: str | None) -> Store:
    """The trusted roots: `cafile`, else the system bundle (SSL_CERT_FILE wins), else the
    certificates Python's default context loads (the Windows store, for one)."""
    path = cafile or ssl.get_default_verify_paths().cafile
    if path:
        try:
            with open(path, "rb") as bundle:
                return Store(x509.load_pem_x509_certificates(bundle.read()))
        except (OSError, ValueError) as error:
            raise ThumbprintError(f"cannot read CA bundle {path}: {error}") from error
    loaded = ssl.create_default_context().get_ca_certs(binary_form=True)
    if not loaded:
        raise ThumbprintError(
            "no trusted CA certificates to verify the OIDC issuer with: set SSL_CERT_FILE to a PEM bundle"
        )
    return Store([x509.load_der_x509_certificate(der) for der in loaded])


def _presented_chain(host: str, port: int, timeout: float) -> list[x509.Certificate]:
    """The certificates the server sends in its handshake, leaf first, not yet verified."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as error:
        raise ThumbprintError(f"cannot connect to OIDC issuer {host}:{port}: {error}") from error

    with sock:
        sock.setblocking(False)
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_verify(SSL.VERIFY_NONE)  # verified below, with the hostname
        connection = SSL.Connection(context, sock)
        connection.set_tlsext_host_name(host.encode("idna"))
        connection.set_connect_state()
        while True:
            try:
                connection.do_handshake()
                break
            except (SSL.WantReadError, SSL.WantWriteError) as want:
                remaining = deadline - time.monotonic()
                readers = [sock] if isinstance(want, SSL.WantReadError) else []
                writers = [] if readers else [sock]
                if remaining <= 0 or not any(select.select(readers, writers, [], remaining)):
                    raise ThumbprintError(f"TLS handshake with {host}:{port} timed out after {timeout:g}s") from None
            except (SSL.Error, OSError) as error:
                raise ThumbprintError(f"TLS handshake with {host}:{port} failed: {error}") from error
        chain = connection.get_peer_cert_chain(as_cryptography=True)
    if not chain:
        raise ThumbprintError(f"{host}:{port} presented no certificate")
    return chain


def _verify(host: str, port: int, presented: list[x509.Certificate], roots: Store) -> list[x509.Certificate]:
    """The verified chain, leaf to trusted root, or a ThumbprintError that says what is wrong."""
    leaf, intermediates = presented[0], presented[1:]
    subject: x509.IPAddress | x509.DNSName
    try:
        subject = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        subject = x509.DNSName(host)
    verifier = PolicyBuilder().store(roots).build_server_verifier(subject)
    try:
        return verifier.verify(leaf, intermediates)
    except VerificationError as error:
        if not intermediates:
            raise ThumbprintError(
                f"{host}:{port} presented only its own certificate and no CA chain, "
                f"and it does not verify on its own: {error}"
            ) from error
        raise ThumbprintError(
            f"the TLS chain of {host}:{port} does not verify against the trusted roots: {error}"
        ) from error
