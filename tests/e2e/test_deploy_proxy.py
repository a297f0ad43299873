"""docs/deploy.md's reverse proxy configurations, as written: nginx serves a real server
through TLS (self-signed here) on free ports, forwards a signed webhook byte for byte, hides
/metrics and redirects plain HTTP; Caddy's file is validated. Each part skips when its
program is missing (scripts/install-tools.sh installs them), except under CI=true."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI
from tests.e2e.test_server import free_port
from tests.faults import server_on
from tests.support import kapso_headers, sample

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def fenced(language: str) -> str:
    [block] = re.findall(rf"^```{language}\n(.*?)^```", DEPLOY.read_text(), re.M | re.S)
    return str(block)


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        message = f"{program} is not installed (scripts/install-tools.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=leads.example.com",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_conf(tmp_path: Path, upstream: str, tls_port: int, http_port: int) -> tuple[Path, Path]:
    """nginx.conf around the docs' site block (ports, certificate and upstream replaced),
    and the certificate to trust."""
    cert, key = self_signed(tmp_path)
    site = fenced("nginx")
    for old, new in (
        ("listen 443 ssl", f"listen 127.0.0.1:{tls_port} ssl"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("/etc/letsencrypt/live/leads.example.com/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/leads.example.com/privkey.pem", str(key)),
        ("http://127.0.0.1:8000", upstream),
    ):
        assert old in site, f"docs/deploy.md's nginx block no longer has {old!r}"
        site = site.replace(old, new)
    (tmp_path / "site.conf").write_text(site)
    temp = "".join(
        f"{kind}_temp_path {tmp_path}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{\naccess_log off;\n{temp}include {tmp_path}/site.conf;\n}}\n"
    )
    return conf, cert


def test_nginx_config_serves_the_api_through_tls(tmp_path: Path) -> None:
    nginx = require("nginx")
    url = f"sqlite:///{tmp_path}/data/leadledger.db"
    tls_port, http_port = free_port(), free_port()
    with server_on(url, tmp_path, "server.log") as server:
        conf, cert = nginx_conf(tmp_path, server.base_url, tls_port, http_port)
        checked = subprocess.run(
            [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
        proxy = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(conf)], stderr=subprocess.PIPE
        )
        try:
            base = f"https://127.0.0.1:{tls_port}"
            with httpx.Client(
                base_url=base, verify=ssl.create_default_context(cafile=str(cert)), timeout=10
            ) as client:
                deadline = time.monotonic() + 15
                while True:
                    try:
                        health = client.get("/healthz")
                        break
                    except httpx.TransportError:
                        assert time.monotonic() < deadline, (tmp_path / "error.log").read_text()
                        time.sleep(0.1)
                assert health.status_code == 200
                assert client.get("/metrics").status_code == 404  # never public
                body = sample("kapso-message-received.json")
                headers = kapso_headers(body, "whatsapp.message.received")
                answer = client.post("/webhook/kapso", content=body, headers=headers)
                assert answer.status_code == 200, answer.text  # the bytes arrived untouched
                assert answer.json()["status"] == "accepted"
            plain = httpx.get(f"http://127.0.0.1:{http_port}/leads", timeout=10)
            assert plain.status_code == 301
            assert plain.headers["location"].startswith("https://")
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)


def test_caddy_config_is_valid(tmp_path: Path) -> None:
    caddy = require("caddy")
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(fenced("caddyfile"))
    checked = subprocess.run(
        [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr
