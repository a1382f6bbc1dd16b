"""C2PA facts read back from real files: none, signed in the test, and tampered after signing.

The signing chain is made here with ``cryptography``: an ES256 CA and a leaf that meets
c2pa-rs's certificate profile (not a CA, digitalSignature key usage, an allowed extended key
usage such as emailProtection, key identifiers). No trust anchor is configured, so the signer is
intact but untrusted.
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import c2pa
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.fixtures.photos import jpeg_bytes
from workers.c2pa_facts import read_c2pa

pytestmark = pytest.mark.integration

MANIFEST = {
    "claim_generator_info": [{"name": "bukti-test-camera", "version": "1.0"}],
    "title": "rapat.jpg",
    "assertions": [
        {
            "label": "c2pa.actions",
            "data": {
                "actions": [
                    {
                        "action": "c2pa.created",
                        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
                    },
                    {"action": "c2pa.edited"},
                ]
            },
        }
    ],
}


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bukti Test"),
        ]
    )


def _key_usage(*, signs_data: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signs_data,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signs_data,
        crl_sign=not signs_data,
        encipher_only=False,
        decipher_only=False,
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    is_ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(_key_usage(signs_data=not is_ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if not is_ca:
        # c2pa-rs refuses a signing certificate without one of the C2PA-allowed EKUs.
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _es256_signer() -> c2pa.Signer:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Bukti Test CA")
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, is_ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(_name("Bukti Test Signer"), ca_name, key.public_key(), ca_key, is_ca=False)
    chain = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (leaf, ca))

    def sign(data: bytes) -> bytes:
        # COSE wants ES256 signatures as raw r || s, not the DER that cryptography returns.
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return c2pa.Signer.from_callback(sign, c2pa.C2paSigningAlg.ES256, chain.decode(), None)


@pytest.fixture(scope="module")
def plain_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("c2pa") / "plain.jpg"
    path.write_bytes(jpeg_bytes("astronaut", 90, (640, 480)))
    return path


@pytest.fixture(scope="module")
def signed_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    signed = io.BytesIO()
    with c2pa.Builder(MANIFEST) as builder:
        builder.sign(
            _es256_signer(),
            "image/jpeg",
            io.BytesIO(jpeg_bytes("astronaut", 90, (640, 480))),
            signed,
        )
    path = tmp_path_factory.mktemp("c2pa") / "signed.jpg"
    path.write_bytes(signed.getvalue())
    return path


def test_plain_photo_has_no_c2pa_facts_and_costs_little(plain_jpeg: Path) -> None:
    read_c2pa(plain_jpeg, "image/jpeg")  # the first call builds the reading context
    started = time.perf_counter()
    for _ in range(20):
        assert read_c2pa(plain_jpeg, "image/jpeg") is None
    assert (time.perf_counter() - started) / 20 < 0.02


def test_unparseable_file_without_manifest_is_not_an_error(
    plain_jpeg: Path, tmp_path: Path
) -> None:
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(plain_jpeg.read_bytes()[:3000])
    text = tmp_path / "text.jpg"
    text.write_bytes(b"not a photo at all")

    assert read_c2pa(truncated, "image/jpeg") is None
    assert read_c2pa(text, "image/jpeg") is None


def test_signed_photo_reads_back_as_valid_but_untrusted(signed_jpeg: Path) -> None:
    facts = read_c2pa(signed_jpeg, "image/jpeg")

    assert facts is not None
    assert facts["present"] is True
    assert facts["valid"] is True
    assert facts["trusted"] is False
    assert facts["validation_state"] == "Valid"
    assert facts["validation_errors"] == ["signingCredential.untrusted"]
    assert facts["claim_generator"] == "bukti-test-camera/1.0"
    assert facts["title"] == "rapat.jpg"
    assert facts["signer"] == "Bukti Test"
    assert facts["signed_at"] is None  # signed without a timestamp authority
    assert facts["actions"] == ["c2pa.created", "c2pa.edited"]
    assert facts["source"] == "c2pa"


def test_signed_photo_with_changed_pixels_is_not_valid(signed_jpeg: Path, tmp_path: Path) -> None:
    data = bytearray(signed_jpeg.read_bytes())
    scan_start = data.rfind(b"\xff\xda")  # the entropy-coded image data follows the last SOS
    for index in range(scan_start + 200, scan_start + 260):
        data[index] ^= 0x55
    tampered = tmp_path / "tampered.jpg"
    tampered.write_bytes(bytes(data))

    facts = read_c2pa(tampered, "image/jpeg")

    assert facts is not None
    assert facts["present"] is True
    assert facts["valid"] is False
    assert "assertion.dataHash.mismatch" in facts["validation_errors"]


def test_damaged_manifest_is_present_and_not_valid(signed_jpeg: Path, tmp_path: Path) -> None:
    data = bytearray(signed_jpeg.read_bytes())
    store_start = data.find(b"jumdc2pa")
    for index in range(store_start + 40, store_start + 60):
        data[index] ^= 0xFF
    damaged = tmp_path / "damaged.jpg"
    damaged.write_bytes(bytes(data))

    facts = read_c2pa(damaged, "image/jpeg")

    assert facts is not None
    assert facts.pop("error")
    assert facts == {"present": True, "valid": False, "source": "c2pa"}


def test_content_credentials_are_recorded_as_a_fact_through_the_pipeline(
    signed_jpeg: Path, live_client: Any, worker: Any
) -> None:
    from tests.fixtures.app import make_world

    world = make_world(live_client)
    activity = world.activity("2026-10-13")
    item = world.send(signed_jpeg, name="signed.jpg", activity_id=activity["id"])
    c2pa_fact = item["facts"]["c2pa"]
    assert c2pa_fact["present"] and c2pa_fact["valid"] and not c2pa_fact["trusted"]
    assert c2pa_fact["claim_generator"].startswith("bukti-test-camera")
