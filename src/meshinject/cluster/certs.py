"""The control plane's own CA and serving certificate: kept in a Secret, published as the webhooks' caBundle,
renewed before expiry, and rotated with an overlap so that no admission request fails on the way.

Design (docs/install.md, "Certificates"): every replica of the revision runs ``meshinject certs`` twice, as an
init container (``--once``: the certificate exists and is on disk before the server starts) and as a sidecar (a
loop). One pass:

1. read the Secret (the single source of truth shared by all replicas);
2. make every webhook configuration of the revision (label ``istio.io/rev``: its own and its tags') carry the
   Secret's trust bundle as ``caBundle``;
3. take at most one step of the plan below, written back with the Secret's ``resourceVersion`` (replicas race
   safely: one write wins, the others re-read and follow);
4. write the serving pair into the pod's shared ``emptyDir``, swapping all files at once; the server notices
   the change and reloads without dropping a connection.

The plan (:func:`plan`) is a pure function of the Secret and the clock:

- ``stable`` (trust bundle = [CA]): when the CA has used two thirds of its life (or a rotation was asked for),
  a new CA is *staged*: bundle = [old CA, new CA], the serving certificate is unchanged. When only the serving
  certificate is due, it is re-issued by the same CA (the bundle already trusts it).
- ``staged``: once the bundle has been on every webhook configuration for the overlap period, the new CA
  becomes the signer and issues a new serving certificate (``switched``); the apiservers trust both CAs.
- ``switched``: once every replica has had the overlap period to load the new serving certificate, the old CA
  leaves the bundle (``stable`` again).

A replica that read the Secret just before another one wrote it can push the older bundle once; each pass
re-applies the current one, and the overlap (far longer than a pass) ensures no step relies on a bundle that
was pushed less than an overlap ago.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lightkube import Client
from lightkube.resources.admissionregistration_v1 import MutatingWebhookConfiguration
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from .client import ClusterError, api_call
from .manifests import CERT_MANAGER_INJECT
from .webhooks import INJECTOR_WEBHOOK_SUFFIX, REV_LABEL

PHASE_ANNOTATION: Final = "meshinject.io/cert-phase"
SINCE_ANNOTATION: Final = "meshinject.io/cert-phase-since"
ROTATE_ANNOTATION: Final = "meshinject.io/rotate"
#: the field manager owning the webhooks' caBundle (the installer's `meshinject` owns everything else)
FIELD_MANAGER: Final = "meshinject-certs"

STABLE: Final = "stable"
STAGED: Final = "staged"
SWITCHED: Final = "switched"
ROTATIONS: Final = ("ca", "serving")

#: the serving certificate and key, and the trust bundle, as the server and the Secret name them
TLS_CERT, TLS_KEY, CA_BUNDLE = "tls.crt", "tls.key", "ca.crt"
SIGNER_CERT, SIGNER_KEY = "signer.crt", "signer.key"
NEXT_CERT, NEXT_KEY = "next-signer.crt", "next-signer.key"

#: backdating of new certificates, for nodes whose clocks run a little behind
CLOCK_SKEW = datetime.timedelta(minutes=5)

Key = ec.EllipticCurvePrivateKey


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- certificates ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyPair:
    cert: x509.Certificate
    key: Key

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _not_after(cert: x509.Certificate) -> datetime.datetime:
    return cert.not_valid_after_utc


def due_for_renewal(cert: x509.Certificate, now: datetime.datetime) -> bool:
    """Two thirds of the lifetime are gone (cert-manager's default point): renew, leaving a third as margin."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return now >= start + (end - start) * 2 / 3


def new_ca(now: datetime.datetime, validity: datetime.timedelta, *, name: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meshinject"),
            # The serial in the name tells two CAs of the same revision apart in the bundle and in logs.
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA {now:%Y%m%d%H%M%S}"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def _general_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def new_serving(signer: KeyPair, hosts: Sequence[str], now: datetime.datetime, validity: datetime.timedelta) -> KeyPair:
    """A serving certificate for ``hosts`` (DNS names or IP addresses), never outliving its signer."""
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = min(now + validity, _not_after(signer.cert))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(signer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(_general_names(hosts)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
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
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()), critical=False)
        .sign(signer.key, hashes.SHA256())
    )
    return KeyPair(cert, key)


def _hosts_of(cert: x509.Certificate) -> set[x509.GeneralName]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _signed_by(cert: x509.Certificate, signer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(signer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _spki(key: Any) -> bytes:
    data: bytes = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def serving_problem(serving: KeyPair, signer: KeyPair, hosts: Sequence[str], now: datetime.datetime) -> str | None:
    """Why the serving certificate must be re-issued, or None."""
    if not _signed_by(serving.cert, signer.cert):
        return "it was not issued by the current CA"
    if _hosts_of(serving.cert) != set(_general_names(hosts)):
        return f"its names differ from {', '.join(hosts)}"
    if _spki(serving.cert.public_key()) != _spki(serving.key.public_key()):
        return "its key does not match"
    if due_for_renewal(serving.cert, now):
        return f"two thirds of its lifetime are gone (expires {_not_after(serving.cert):%Y-%m-%dT%H:%M:%SZ})"
    return None


# --- the state in the Secret ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertPolicy:
    #: names in the serving certificate (the Service's DNS names, or an address for an external server)
    hosts: tuple[str, ...]
    ca_validity: datetime.timedelta = datetime.timedelta(days=730)
    cert_validity: datetime.timedelta = datetime.timedelta(days=90)
    #: how long a new trust bundle (or serving certificate) must have been out before the next step relies on it
    overlap: datetime.timedelta = datetime.timedelta(minutes=5)
    #: the CA's common name prefix
    name: str = "meshinject"


@dataclass(frozen=True, slots=True)
class CertState:
    phase: str
    since: datetime.datetime
    signer: KeyPair
    serving: KeyPair
    #: the CAs the webhooks must trust now (caBundle), oldest first
    trusted: tuple[x509.Certificate, ...]
    next_signer: KeyPair | None = None
    #: a rotation asked for with ``meshinject certs --rotate``: "ca", "serving" or ""
    rotate: str = ""

    def bundle_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.trusted)


@dataclass(frozen=True, slots=True)
class Step:
    state: CertState
    #: bootstrap, renew-serving, stage-ca, switch-ca, retire-ca, repair-bundle
    action: str
    reason: str


def _pem_certs(data: bytes) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(data))


def _pair(cert_pem: bytes, key_pem: bytes) -> KeyPair:
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC private key")
    return KeyPair(cert, key)


def parse_state(data: Mapping[str, bytes], annotations: Mapping[str, str]) -> tuple[CertState | None, str]:
    """The certificate state kept in a Secret; (None, why) when there is none or it cannot be used."""
    if not data.get(TLS_CERT) and not data.get(SIGNER_CERT):
        return None, "the Secret holds no certificate yet"
    try:
        signer = _pair(data[SIGNER_CERT], data[SIGNER_KEY])
        serving = _pair(data[TLS_CERT], data[TLS_KEY])
        trusted = _pem_certs(data[CA_BUNDLE])
        next_signer = _pair(data[NEXT_CERT], data[NEXT_KEY]) if data.get(NEXT_CERT) else None
    except (KeyError, ValueError, TypeError) as err:
        return None, f"the Secret's certificate data cannot be used ({type(err).__name__}: {err})"
    # A lost timestamp must not cost a new CA: it only makes the current phase old enough to move on.
    try:
        since = datetime.datetime.fromisoformat(annotations.get(SINCE_ANNOTATION, "").replace("Z", "+00:00"))
    except ValueError:
        since = datetime.datetime.fromtimestamp(0, datetime.UTC)
    if since.tzinfo is None:
        since = since.replace(tzinfo=datetime.UTC)
    phase = annotations.get(PHASE_ANNOTATION, STABLE)
    if phase not in (STABLE, STAGED, SWITCHED) or (phase == STAGED) != (next_signer is not None):
        return None, f"the Secret's rotation phase {phase!r} does not match its data"
    rotate = annotations.get(ROTATE_ANNOTATION, "")
    return CertState(phase, since, signer, serving, trusted, next_signer, rotate if rotate in ROTATIONS else ""), ""


def state_data(state: CertState) -> dict[str, bytes]:
    data = {
        TLS_CERT: state.serving.cert_pem(),
        TLS_KEY: state.serving.key_pem(),
        CA_BUNDLE: state.bundle_pem(),
        SIGNER_CERT: state.signer.cert_pem(),
        SIGNER_KEY: state.signer.key_pem(),
    }
    if state.next_signer is not None:
        data[NEXT_CERT] = state.next_signer.cert_pem()
        data[NEXT_KEY] = state.next_signer.key_pem()
    return data


def state_annotations(state: CertState) -> dict[str, str | None]:
    """The annotations to set (None removes one: a handled rotation request)."""
    return {
        PHASE_ANNOTATION: state.phase,
        SINCE_ANNOTATION: state.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        ROTATE_ANNOTATION: state.rotate or None,
    }


def _same(a: x509.Certificate, b: x509.Certificate) -> bool:
    return a.fingerprint(hashes.SHA256()) == b.fingerprint(hashes.SHA256())


def plan(state: CertState | None, *, now: datetime.datetime, policy: CertPolicy, bundle_published: bool) -> Step | None:
    """The next step for the Secret, or None when nothing is due. Pure: the clock is a parameter.

    ``bundle_published``: every webhook configuration of the revision carries ``state``'s bundle right now.
    """
    if state is None:
        signer = new_ca(now, policy.ca_validity, name=policy.name)
        serving = new_serving(signer, policy.hosts, now, policy.cert_validity)
        return Step(CertState(STABLE, now, signer, serving, (signer.cert,)), "bootstrap", "no certificate yet")
    if state.phase == STAGED:
        assert state.next_signer is not None
        if now - state.since < policy.overlap or not bundle_published:
            return None
        signer = state.next_signer
        serving = new_serving(signer, policy.hosts, now, policy.cert_validity)
        new = replace(state, phase=SWITCHED, since=now, signer=signer, serving=serving, next_signer=None, rotate="")
        return Step(new, "switch-ca", "the new CA has been trusted for the overlap period")
    if state.phase == SWITCHED:
        if now - state.since < policy.overlap:
            return None
        trusted = tuple(c for c in state.trusted if _same(c, state.signer.cert))
        new = replace(state, phase=STABLE, since=now, trusted=trusted)
        return Step(new, "retire-ca", "every replica has had the overlap period to load the new serving certificate")
    # stable
    if not any(_same(c, state.signer.cert) for c in state.trusted):
        # Repair (a hand-edited Secret): trust the signer again; the next pass continues from there.
        new = replace(state, trusted=(*state.trusted, state.signer.cert), since=now)
        return Step(new, "repair-bundle", "the trust bundle did not contain the signing CA")
    if state.rotate == "ca" or due_for_renewal(state.signer.cert, now):
        why = "asked for" if state.rotate == "ca" else "two thirds of the CA's lifetime are gone"
        next_signer = new_ca(now, policy.ca_validity, name=policy.name)
        new = replace(
            state,
            phase=STAGED,
            since=now,
            next_signer=next_signer,
            trusted=(*state.trusted, next_signer.cert),
            rotate="",
        )
        return Step(new, "stage-ca", why)
    problem = (
        "asked for" if state.rotate == "serving" else serving_problem(state.serving, state.signer, policy.hosts, now)
    )
    if problem is not None:
        serving = new_serving(state.signer, policy.hosts, now, policy.cert_validity)
        return Step(replace(state, serving=serving, rotate=""), "renew-serving", problem)
    return None


# --- files ------------------------------------------------------------------------------------------------------


def write_files(directory: Path, files: Mapping[str, bytes]) -> bool:
    """Put ``files`` in ``directory`` all at once; returns False when they were already there.

    As the kubelet does for Secret volumes: the files live in a fresh hidden directory and the visible names are
    symlinks through ``..data``, which is swapped with one rename, so a reader never sees a new certificate with
    an old key.
    """
    directory.mkdir(parents=True, exist_ok=True)
    current = {}
    for name in files:
        with contextlib.suppress(OSError):
            current[name] = (directory / name).read_bytes()
    if current == dict(files):
        return False
    fresh = directory / f"..{time.strftime('%Y%m%d%H%M%S')}.{time.monotonic_ns()}"
    fresh.mkdir(mode=0o750)
    for name, content in files.items():
        path = fresh / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640 if name.endswith(".key") else 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
    data = directory / "..data"
    previous = os.readlink(data) if data.is_symlink() else None
    tmp_link = directory / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(fresh.name)
    os.replace(tmp_link, data)
    for name in files:
        link = directory / name
        if not link.is_symlink():
            tmp = directory / f"..{name}.tmp"
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(Path("..data") / name)
            os.replace(tmp, link)
    if previous and previous != fresh.name:
        shutil.rmtree(directory / previous, ignore_errors=True)
    return True


# --- the controller -------------------------------------------------------------------------------------------------


Logger = Callable[..., None]


def _no_log(event: str, **fields: Any) -> None:
    return None


@dataclass
class PassResult:
    phase: str
    #: the step this pass took, if any
    action: str | None
    #: every webhook configuration of the revision carries the current bundle
    published: bool
    ca_not_after: datetime.datetime
    cert_not_after: datetime.datetime
    webhook_configurations: list[str] = field(default_factory=list)


def _decoded(secret: Any) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


class CertController:
    """One revision's certificate controller (see the module docstring for the design)."""

    def __init__(
        self,
        client: Client,
        *,
        revision: str,
        namespace: str,
        secret_name: str,
        policy: CertPolicy,
        write_dir: Path | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
        log: Logger = _no_log,
    ) -> None:
        self.client = client
        self.revision = revision
        self.namespace = namespace
        self.secret_name = secret_name
        self.policy = policy
        self.write_dir = write_dir
        self.clock = clock
        self.log = log

    def _read_secret(self) -> Any:
        try:
            with api_call("get", "secrets", namespace=self.namespace, name=self.secret_name):
                return self.client.get(Secret, self.secret_name, namespace=self.namespace)
        except ClusterError as err:
            if err.not_found:
                raise ClusterError(
                    f"Secret {self.namespace}/{self.secret_name} does not exist: it is part of the revision's "
                    f"manifests (`meshinject install --revision {self.revision}` creates it empty)",
                    code=404,
                ) from None
            raise

    def sync_webhooks(self, bundle: bytes) -> tuple[bool, list[str], list[str]]:
        """Give every injection webhook of the revision ``bundle`` as caBundle.

        Returns (all carry it now, configurations patched, configurations seen). Configurations whose CA
        cert-manager injects are left alone.
        """
        want = base64.b64encode(bundle).decode()
        with api_call("list", "mutatingwebhookconfigurations"):
            configs = list(self.client.list(MutatingWebhookConfiguration, labels={REV_LABEL: self.revision}))
        patched: list[str] = []
        seen: list[str] = []
        for config in configs:
            meta = config.metadata
            if meta is None or not meta.name or CERT_MANAGER_INJECT in (meta.annotations or {}):
                continue
            hooks = [w for w in config.webhooks or [] if w.name.endswith(INJECTOR_WEBHOOK_SUFFIX)]
            if not hooks:
                continue
            seen.append(meta.name)
            if all(w.clientConfig.caBundle == want for w in hooks):
                continue
            body = {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": meta.name},
                "webhooks": [{"name": w.name, "clientConfig": {"caBundle": want}} for w in hooks],
            }
            # Apply with our own field manager: the installer's re-apply never touches the caBundle, and this
            # controller takes the field over from whoever set it before (a tag copied from the revision).
            with api_call("patch", "mutatingwebhookconfigurations", name=meta.name):
                self.client.patch(
                    MutatingWebhookConfiguration,
                    meta.name,
                    body,
                    patch_type=PatchType.APPLY,
                    field_manager=FIELD_MANAGER,
                    force=True,
                )
            patched.append(meta.name)
        return bool(seen), patched, seen

    def _write_secret(self, secret: Any, step: Step) -> bool:
        """Store the step's state; False when another replica wrote the Secret first (409)."""
        meta = secret.metadata
        annotations = dict(meta.annotations or {})
        for key, value in state_annotations(step.state).items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        meta.annotations = annotations
        secret.data = {k: base64.b64encode(v).decode() for k, v in state_data(step.state).items()}
        try:
            with api_call("update", "secrets", namespace=self.namespace, name=self.secret_name):
                self.client.replace(secret)
        except ClusterError as err:
            if err.code == 409:
                return False
            raise
        return True

    def reconcile(self) -> PassResult:
        """One pass: read, publish, step, write files. Raises ClusterError when the API cannot be used."""
        for _ in range(5):
            secret = self._read_secret()
            meta = secret.metadata
            state, why = parse_state(_decoded(secret), dict(meta.annotations or {}) if meta else {})
            published = False
            patched: list[str] = []
            seen: list[str] = []
            if state is not None:
                published, patched, seen = self.sync_webhooks(state.bundle_pem())
            step = plan(state, now=self.clock(), policy=self.policy, bundle_published=published)
            if step is not None:
                if not self._write_secret(secret, step):
                    self.log("secret changed by another replica; reading it again", secret=self.secret_name)
                    continue
                self.log(
                    "certificate step",
                    action=step.action,
                    reason=why if state is None else step.reason,
                    phase=step.state.phase,
                    ca=step.state.signer.cert.subject.rfc4514_string(),
                )
                state = step.state
                published, more, seen = self.sync_webhooks(state.bundle_pem())
                patched += more
            assert state is not None
            for name in patched:
                self.log("caBundle updated", webhook_configuration=name, cas=len(state.trusted))
            files = {
                TLS_CERT: state.serving.cert_pem(),
                TLS_KEY: state.serving.key_pem(),
                CA_BUNDLE: state.bundle_pem(),
            }
            if self.write_dir is not None and write_files(self.write_dir, files):
                self.log("serving certificate written", directory=str(self.write_dir))
            return PassResult(
                phase=state.phase,
                action=step.action if step else None,
                published=published,
                ca_not_after=_not_after(state.signer.cert),
                cert_not_after=_not_after(state.serving.cert),
                webhook_configurations=seen,
            )
        raise ClusterError(f"Secret {self.namespace}/{self.secret_name} kept changing under this controller")

    def run(self, stop: threading.Event, *, interval: float) -> None:
        """Reconcile every ``interval`` seconds until ``stop`` is set; errors are logged and retried."""
        while not stop.is_set():
            try:
                self.reconcile()
            except ClusterError as err:
                self.log("certificate pass failed; retrying", error=str(err))
            except Exception as err:  # a bug in one pass must not stop renewals for good
                self.log("certificate pass failed; retrying", error=f"{type(err).__name__}: {err}")
            stop.wait(interval)


def request_rotation(client: Client, *, namespace: str, secret_name: str, what: str) -> None:
    """Ask the running controllers to rotate the CA (``ca``, with the overlap) or the serving certificate."""
    if what not in ROTATIONS:
        raise ValueError(f"rotation must be one of {', '.join(ROTATIONS)}")
    with api_call("patch", "secrets", namespace=namespace, name=secret_name):
        client.patch(
            Secret,
            secret_name,
            {"metadata": {"annotations": {ROTATE_ANNOTATION: what}}},
            namespace=namespace,
            patch_type=PatchType.MERGE,
        )
