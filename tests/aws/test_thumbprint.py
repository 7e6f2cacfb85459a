"""The OIDC issuer thumbprint, read from a real TLS server on 127.0.0.1."""

import time

import pytest

from secretstore_csi.aws.thumbprint import ThumbprintError, issuer_ca_thumbprint
from tests.tls_server import closed_port, issuer, make_chain, new_root, silent_server, tls_server


@pytest.fixture
def chain(tmp_path):
    return make_chain(tmp_path)


def test_the_thumbprint_is_the_sha1_of_the_intermediate_ca(tmp_path, chain):
    with issuer(tmp_path, chain) as url:
        thumbprint = issuer_ca_thumbprint(url, cafile=str(chain.root_bundle))
    assert thumbprint == chain.intermediate.sha1
    assert len(thumbprint) == 40 and thumbprint == thumbprint.lower()


def test_a_root_sent_by_the_server_is_not_mistaken_for_the_intermediate(tmp_path, chain):
    with issuer(tmp_path, chain, send_root=True) as url:
        assert issuer_ca_thumbprint(url, cafile=str(chain.root_bundle)) == chain.intermediate.sha1


def test_the_top_intermediate_is_the_one_below_the_root(tmp_path):
    root = new_root()
    upper = root.issue_ca("Upper Intermediate CA")
    lower = upper.issue_ca("Lower Intermediate CA")
    leaf = lower.issue_server("127.0.0.1")
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(root.pem)
    with tls_server(tmp_path, leaf.key_pem, [leaf.pem, lower.pem, upper.pem]) as port:
        thumbprint = issuer_ca_thumbprint(f"https://127.0.0.1:{port}/id/X", cafile=str(bundle))
    assert thumbprint == upper.sha1 != lower.sha1


def test_the_system_bundle_is_taken_from_ssl_cert_file(tmp_path, chain, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(chain.root_bundle))
    with issuer(tmp_path, chain) as url:
        assert issuer_ca_thumbprint(url) == chain.intermediate.sha1


def test_a_server_that_sends_no_chain_is_a_clear_error(tmp_path, chain):
    with (
        issuer(tmp_path, chain, send_intermediate=False) as url,
        pytest.raises(ThumbprintError, match="presented only its own certificate and no CA chain"),
    ):
        issuer_ca_thumbprint(url, cafile=str(chain.root_bundle))


def test_a_chain_from_an_untrusted_root_is_refused(tmp_path, chain):
    stranger = tmp_path / "other-root.pem"
    stranger.write_bytes(new_root("Some Other Root").pem)
    with (
        issuer(tmp_path, chain) as url,
        pytest.raises(ThumbprintError, match="does not verify against the trusted roots"),
    ):
        issuer_ca_thumbprint(url, cafile=str(stranger))


def test_a_certificate_for_another_host_is_refused(tmp_path, chain):
    leaf = chain.intermediate.issue_server("oidc.example.com")
    with (
        tls_server(tmp_path, leaf.key_pem, [leaf.pem, chain.intermediate.pem]) as port,
        pytest.raises(ThumbprintError, match="does not verify"),
    ):
        issuer_ca_thumbprint(f"https://127.0.0.1:{port}/", cafile=str(chain.root_bundle))


def test_an_unreachable_issuer_is_a_clear_error_after_the_retries(chain):
    port = closed_port()
    messages = []
    with pytest.raises(ThumbprintError, match=f"cannot connect to OIDC issuer 127.0.0.1:{port}"):
        issuer_ca_thumbprint(
            f"https://127.0.0.1:{port}/id/X",
            cafile=str(chain.root_bundle),
            attempts=2,
            retry_delay=0.01,
            progress=messages.append,
        )
    assert [m.split(" (")[0] for m in messages if m.startswith("Reading")] == [
        f"Reading the TLS chain of 127.0.0.1:{port}"
    ] * 2
    assert any("retrying in" in m for m in messages)


def test_a_server_that_never_answers_times_out(chain):
    with silent_server() as port:
        started = time.monotonic()
        with pytest.raises(ThumbprintError, match="timed out after 0.5s"):
            issuer_ca_thumbprint(f"https://127.0.0.1:{port}/", cafile=str(chain.root_bundle), timeout=0.5)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("url", ["http://127.0.0.1/id/X", "oidc.eks.eu-central-1.amazonaws.com/id/X", ""])
def test_an_issuer_that_is_not_https_is_refused(url, chain):
    with pytest.raises(ThumbprintError, match="is not an https:// URL"):
        issuer_ca_thumbprint(url, cafile=str(chain.root_bundle))


def test_an_unreadable_ca_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(ThumbprintError, match="cannot read CA bundle"):
        issuer_ca_thumbprint("https://127.0.0.1/", cafile=str(tmp_path / "missing.pem"))


def test_a_leaf_signed_directly_by_the_root_has_no_intermediate_to_trust(tmp_path):
    root = new_root()
    leaf = root.issue_server("127.0.0.1")
    bundle = tmp_path / "root.pem"
    bundle.write_bytes(root.pem)
    with (
        tls_server(tmp_path, leaf.key_pem, [leaf.pem]) as port,
        pytest.raises(ThumbprintError, match="has no intermediate CA"),
    ):
        issuer_ca_thumbprint(f"https://127.0.0.1:{port}/", cafile=str(bundle))


def test_without_a_bundle_file_the_default_context_roots_are_used(tmp_path, chain, monkeypatch):
    import ssl

    real_context = ssl.create_default_context

    def context_trusting_the_test_root(*args, **kwargs):
        context = real_context(*args, **kwargs)
        context.load_verify_locations(cafile=str(chain.root_bundle))
        return context

    no_file = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: no_file)
    monkeypatch.setattr(ssl, "create_default_context", context_trusting_the_test_root)
    with issuer(tmp_path, chain) as url:
        assert issuer_ca_thumbprint(url) == chain.intermediate.sha1


def test_with_no_trusted_roots_at_all_the_error_says_what_to_set(monkeypatch):
    import ssl

    no_file = ssl.DefaultVerifyPaths(None, None, "SSL_CERT_FILE", "", "SSL_CERT_DIR", "")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: no_file)
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **k: ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    with pytest.raises(ThumbprintError, match="set SSL_CERT_FILE to a PEM bundle"):
        issuer_ca_thumbprint("https://127.0.0.1/")
