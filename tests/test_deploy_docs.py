"""The deployment guide's files work: the nginx configuration parses (``nginx -t``) and the
systemd unit verifies (``systemd-analyze verify``), each with only its paths replaced by
ones this machine has.

CI puts an nginx binary in ``HUB_TEST_NGINX`` (unpacked from Debian's package, never started),
so there these never skip; elsewhere they skip, saying why, when the tool is absent.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
INSTALLED = "/opt/referral-hub/.venv/bin/referral-hub"


def nginx() -> str:
    found = os.environ.get("HUB_TEST_NGINX") or shutil.which("nginx")
    if not found:
        pytest.skip("no nginx here (CI unpacks one into HUB_TEST_NGINX)")
    return found


def self_signed(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def nginx_test(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``config`` with certificates, logs and temp files under tmp_path."""
    self_signed(tmp_path)
    local = (
        config.replace("/etc/letsencrypt/live/hub.example.org/", f"{tmp_path}/")
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace(
            "\nhttp {",
            "\nhttp {\n"
            + "".join(
                f"    {kind}_temp_path {tmp_path}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            ),
            1,
        )
    )
    path = tmp_path / "nginx.conf"
    path.write_text(local)
    return subprocess.run(
        [
            nginx(),
            "-t",
            "-e",
            "stderr",
            "-p",
            str(tmp_path),
            "-c",
            str(path),
            "-g",
            "pid nginx.pid;",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_nginx_configuration_parses(tmp_path: Path) -> None:
    result = nginx_test((DOCS / "nginx.conf").read_text(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_would_catch_a_broken_configuration(tmp_path: Path) -> None:
    broken = (DOCS / "nginx.conf").read_text().replace("least_conn;", "least_conn; no_such;")
    result = nginx_test(broken, tmp_path)
    assert result.returncode != 0
    assert 'unknown directive "no_such"' in result.stderr


def systemd_verify(unit_text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("no systemd-analyze here")
    # The unit names the installed hub; point it at this one, which exists here.
    installed_here = str(Path(sys.executable).parent / "referral-hub")
    assert INSTALLED in unit_text
    unit = tmp_path / "referral-hub@8001.service"
    unit.write_text(unit_text.replace(INSTALLED, installed_here))
    return subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_systemd_unit_verifies_without_a_warning(tmp_path: Path) -> None:
    result = systemd_verify((DOCS / "referral-hub@.service").read_text(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "" and result.stdout.strip() == ""


def test_systemd_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    text = (DOCS / "referral-hub@.service").read_text().replace("Restart=", "Restrat=")
    result = systemd_verify(text, tmp_path)
    assert "Unknown key 'Restrat'" in result.stderr


def test_the_guide_covers_what_an_operator_needs() -> None:
    guide = (DOCS / "deploy.md").read_text()
    for needed in (
        "PostgreSQL",
        "nginx.conf",
        "referral-hub@.service",
        "HUB_ENV=production",
        "HUB_DATABASE_URL",
        "HUB_PUBLIC_URL",
        "HUB_SECRET_KEY",
        "HUB_DATA_KEYS",
        "referral-hub db upgrade",
        "referral-hub keys rotate",
        "referral-hub keys rotate-data",
        "referral-hub backup",
        "referral-hub audit verify",
    ):
        assert needed in guide, f"docs/deploy.md does not mention {needed}"
