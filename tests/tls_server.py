"""A real TLS server on 127.0.0.1 that presents a certificate chain made for the test."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def sha1(self) -> str:
        return self.cert.fingerprint(hashes.SHA1()).hex()

    def issue_ca(self, name: str) -> Issued:
        return _issue(name, issuer=self, ca=True)

    def issue_server(self, host: str) -> Issued:
        return _issue(host, issuer=self, ca=False)


def new_root(name: str = "Test Root CA") -> Issued:
    return _issue(name, issuer=None, ca=True)


def _issue(name: str, issuer: Issued | None, ca: bool) -> Issued:
    """A certificate that follows the web PKI profile that `cryptography` verifies against."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer_key = issuer.key if issuer else key
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        try:
            san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            san = x509.DNSName(name)
        builder = (
            builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        )
    return Issued(cert=builder.sign(signer_key, hashes.SHA256()), key=key)


@dataclass(frozen=True)
class Chain:
    """root -> intermediate -> leaf for 127.0.0.1, and a CA bundle holding only the root."""

    root: Issued
    intermediate: Issued
    leaf: Issued
    root_bundle: Path


def make_chain(directory: Path) -> Chain:
    root = new_root()
    intermediate = root.issue_ca("Test Intermediate CA")
    leaf = intermediate.issue_server("127.0.0.1")
    bundle = directory / "root.pem"
    bundle.write_bytes(root.pem)
    return Chain(root=root, intermediate=intermediate, leaf=leaf, root_bundle=bundle)


@contextmanager
def tls_server(directory: Path, key_pem: bytes, cert_pems: list[bytes]) -> Iterator[int]:
    """Serves TLS handshakes with `cert_pems` (leaf first) on 127.0.0.1; yields the port."""
    chain_file = directory / "server-chain.pem"
    chain_file.write_bytes(b"".join(cert_pems))
    key_file = directory / "server-key.pem"
    key_file.write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain_file), str(key_file))

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(5)
            try:
                with context.wrap_socket(client, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                client.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@contextmanager
def issuer(directory: Path, chain: Chain, *, send_intermediate: bool = True, send_root: bool = False) -> Iterator[str]:
    """An https:// OIDC issuer URL on 127.0.0.1 whose server presents `chain`."""
    pems = [chain.leaf.pem]
    if send_intermediate:
        pems.append(chain.intermediate.pem)
    if send_root:
        pems.append(chain.root.pem)
    with tls_server(directory, chain.leaf.key_pem, pems) as port:
        yield f"https://127.0.0.1:{port}/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections but never answers a TLS handshake."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, so connections are refused."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]
