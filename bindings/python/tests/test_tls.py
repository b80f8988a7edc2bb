"""wss:// against a python `websockets` server with a certificate from a
test CA made by `trustme`."""

from __future__ import annotations

import ssl
from typing import Any, Iterator, Tuple

import pytest
import trustme

import rtwire
from conftest import ThreadServer, run


async def echo(ws: Any) -> None:
    async for m in ws:
        await ws.send(m)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: Any) -> Iterator[Tuple[int, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    cafile = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    with ThreadServer(echo, ssl=ctx) as srv:
        yield srv.port, str(cafile)


def test_custom_ca(tls_server: Tuple[int, str]) -> None:
    port, cafile = tls_server

    async def main() -> None:
        async with rtwire.connect(f"wss://127.0.0.1:{port}/", cafile=cafile) as conn:
            await conn.send("secure")
            assert await conn.recv() == "secure"

    run(main())
    with rtwire.sync.connect(f"wss://localhost:{port}/", cafile=cafile) as conn:
        conn.send(b"sync")
        assert conn.recv(timeout=5) == b"sync"


def test_untrusted_certificate_fails(tls_server: Tuple[int, str]) -> None:
    port, _ = tls_server

    async def main() -> None:
        with pytest.raises(rtwire.TlsError) as e:
            await rtwire.connect(f"wss://127.0.0.1:{port}/")
        assert e.value.kind == "tls"

    run(main())


def test_unreadable_cafile(tls_server: Tuple[int, str], tmp_path: Any) -> None:
    port, _ = tls_server
    with pytest.raises(rtwire.TlsError):
        rtwire.sync.connect(f"wss://127.0.0.1:{port}/", cafile=str(tmp_path / "missing.pem"))


def test_insecure_opt_in(tls_server: Tuple[int, str]) -> None:
    port, _ = tls_server
    with rtwire.sync.connect(f"wss://127.0.0.1:{port}/", insecure=True) as conn:
        conn.send("ok")
        assert conn.recv(timeout=5) == "ok"


def test_cadata_pem_text(tls_server: Tuple[int, str]) -> None:
    """`cadata`: the CA as PEM text (str or bytes), as for `ssl`."""
    port, cafile = tls_server
    with open(cafile, "rb") as f:
        pem = f.read()

    async def main() -> None:
        async with rtwire.connect(f"wss://127.0.0.1:{port}/", cadata=pem.decode()) as conn:
            await conn.send("pem text")
            assert await conn.recv() == "pem text"

    run(main())
    with rtwire.sync.connect(f"wss://localhost:{port}/", cadata=pem) as conn:
        conn.send(b"pem bytes")
        assert conn.recv(timeout=5) == b"pem bytes"
    other = trustme.CA().cert_pem.bytes()
    with pytest.raises(rtwire.TlsError):
        rtwire.sync.connect(f"wss://127.0.0.1:{port}/", cadata=other, reconnect=False)
    with pytest.raises(rtwire.InvalidArgumentError, match="cadata must be PEM text"):
        rtwire.sync.connect(f"wss://127.0.0.1:{port}/", cadata="junk", reconnect=False)
    with pytest.raises(TypeError, match="cadata"):
        rtwire.sync.connect(f"wss://127.0.0.1:{port}/", cadata=42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cadata"):
        rtwire.sync.connect(f"wss://127.0.0.1:{port}/", cafile=cafile, cadata=pem)


def test_client_certificate(tmp_path: Any) -> None:
    # A server that requires a client certificate from its own CA.
    server_ca, client_ca = trustme.CA(), trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert("127.0.0.1").configure_cert(ctx)
    client_ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    client = client_ca.issue_cert("client@example.com")
    chain = b"".join(b.bytes() for b in client.cert_chain_pems)
    key = client.private_key_pem.bytes()
    (tmp_path / "cert.pem").write_bytes(chain)
    (tmp_path / "key.pem").write_bytes(key)
    ca = server_ca.cert_pem.bytes().decode()
    with ThreadServer(echo, ssl=ctx) as srv:
        url = f"wss://127.0.0.1:{srv.port}/"
        with rtwire.sync.connect(url, cadata=ca, certdata=chain.decode(), keydata=key) as conn:
            conn.send("pem")
            assert conn.recv(timeout=5) == "pem"
        with rtwire.sync.connect(url, cadata=ca, certfile=tmp_path / "cert.pem", keyfile=str(tmp_path / "key.pem")) as conn:
            conn.send("files")
            assert conn.recv(timeout=5) == "files"
        with pytest.raises(rtwire.Error):
            with rtwire.sync.connect(url, cadata=ca, reconnect=False) as conn:
                conn.recv(timeout=5)
