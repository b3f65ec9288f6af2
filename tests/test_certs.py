"""The certificate controller's plan, on a fake clock: bootstrap, renewal, and a CA rotation whose every step
keeps the serving certificate verifiable with the trust bundle before and after it."""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from meshinject.cluster.certs import (
    PHASE_ANNOTATION,
    ROTATE_ANNOTATION,
    STABLE,
    STAGED,
    SWITCHED,
    CertPolicy,
    CertState,
    parse_state,
    plan,
    state_annotations,
    state_data,
    write_files,
)

HOSTS = ("meshinject-r1", "meshinject-r1.mesh", "meshinject-r1.mesh.svc", "meshinject-r1.mesh.svc.cluster.local")
POLICY = CertPolicy(
    hosts=HOSTS,
    ca_validity=datetime.timedelta(days=300),
    cert_validity=datetime.timedelta(days=30),
    overlap=datetime.timedelta(minutes=5),
)
T0 = datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def verifies(state_serving: CertState, bundle_of: CertState, at: datetime.datetime, host: str = HOSTS[2]) -> bool:
    """Would a TLS client trusting ``bundle_of``'s bundle accept ``state_serving``'s serving certificate?"""
    verifier = PolicyBuilder().store(Store(list(bundle_of.trusted))).time(at).build_server_verifier(x509.DNSName(host))
    try:
        verifier.verify(state_serving.serving.cert, [])
    except VerificationError:
        return False
    return True


def bootstrap() -> CertState:
    step = plan(None, now=T0, policy=POLICY, bundle_published=False)
    assert step is not None and step.action == "bootstrap"
    return step.state


def test_bootstrap_makes_a_ca_and_a_serving_certificate_for_the_service_names() -> None:
    state = bootstrap()

    assert state.phase == STABLE
    assert state.trusted == (state.signer.cert,)
    assert state.signer.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    for host in HOSTS:
        assert verifies(state, state, T0, host)
    assert not verifies(state, state, T0, "meshinject-r2.mesh.svc")
    assert state.serving.cert.not_valid_after_utc == T0 + POLICY.cert_validity


def test_nothing_is_due_while_both_certificates_are_young() -> None:
    state = bootstrap()

    assert plan(state, now=T0 + datetime.timedelta(days=19), policy=POLICY, bundle_published=True) is None


def test_serving_certificate_is_renewed_by_the_same_ca_after_two_thirds_of_its_life() -> None:
    state = bootstrap()
    later = T0 + datetime.timedelta(days=21)

    step = plan(state, now=later, policy=POLICY, bundle_published=True)

    assert step is not None and step.action == "renew-serving"
    assert "two thirds" in step.reason
    assert step.state.trusted == state.trusted  # no caBundle change needed
    assert step.state.serving.cert.serial_number != state.serving.cert.serial_number
    assert verifies(step.state, state, later)


def test_changed_names_reissue_the_serving_certificate() -> None:
    state = bootstrap()

    step = plan(state, now=T0, policy=CertPolicy(hosts=("127.0.0.1",)), bundle_published=True)

    assert step is not None and step.action == "renew-serving"
    assert "names differ" in step.reason
    verifier = PolicyBuilder().store(Store([state.signer.cert])).time(T0)
    ip = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    verifier.build_server_verifier(ip).verify(step.state.serving.cert, [])


def test_the_ca_is_staged_for_rotation_after_two_thirds_of_its_life() -> None:
    state = bootstrap()

    early = plan(state, now=T0 + datetime.timedelta(days=199), policy=POLICY, bundle_published=True)
    assert early is not None and early.action == "renew-serving"  # the serving certificate, not the CA
    step = plan(state, now=T0 + datetime.timedelta(days=201), policy=POLICY, bundle_published=True)

    assert step is not None and step.action == "stage-ca"
    assert "two thirds of the CA's lifetime" in step.reason
    assert step.state.trusted[0] == state.signer.cert and len(step.state.trusted) == 2
    assert step.state.serving == state.serving  # the server keeps its certificate until the switch


def test_ca_rotation_keeps_every_serving_certificate_trusted_by_every_bundle_in_flight() -> None:
    state = CertState(**{**_fields(bootstrap()), "rotate": "ca"})
    clock = T0
    actions = []
    while len(actions) < 3:
        step = plan(state, now=clock, policy=POLICY, bundle_published=True)
        if step is None:
            clock += datetime.timedelta(minutes=1)
            continue
        # Apiservers and replicas pick up a step in any order: both serving certificates of the transition
        # must verify with both bundles of the transition.
        for serving in (state, step.state):
            for bundle in (state, step.state):
                assert verifies(serving, bundle, clock), (step.action, serving.phase, bundle.phase)
        actions.append((step.action, step.state.phase, len(step.state.trusted)))
        state = step.state

    assert actions == [("stage-ca", STAGED, 2), ("switch-ca", SWITCHED, 2), ("retire-ca", STABLE, 1)]
    assert state.trusted == (state.signer.cert,)
    assert clock - T0 == 2 * POLICY.overlap


def test_the_new_ca_signs_only_after_the_overlap_and_once_every_webhook_carries_it() -> None:
    state = bootstrap()
    staged = plan(state, now=T0, policy=POLICY, bundle_published=True)
    assert staged is None
    state = CertState(**{**_fields(state), "rotate": "ca"})
    step = plan(state, now=T0, policy=POLICY, bundle_published=True)
    assert step is not None and (step.action, step.reason) == ("stage-ca", "asked for")
    staged_state = step.state
    assert staged_state.rotate == ""

    assert plan(staged_state, now=T0 + datetime.timedelta(minutes=4), policy=POLICY, bundle_published=True) is None
    assert plan(staged_state, now=T0 + datetime.timedelta(minutes=6), policy=POLICY, bundle_published=False) is None
    switched = plan(staged_state, now=T0 + datetime.timedelta(minutes=6), policy=POLICY, bundle_published=True)
    assert switched is not None and switched.action == "switch-ca"
    assert staged_state.next_signer is not None
    assert switched.state.signer.cert == staged_state.next_signer.cert

    # The old CA stays in the bundle for another overlap, whatever the webhooks say.
    at = switched.state.since
    assert plan(switched.state, now=at + datetime.timedelta(minutes=4), policy=POLICY, bundle_published=True) is None
    retired = plan(switched.state, now=at + datetime.timedelta(minutes=5), policy=POLICY, bundle_published=False)
    assert retired is not None and retired.action == "retire-ca"


def test_a_serving_rotation_request_reissues_only_the_serving_certificate() -> None:
    state = CertState(**{**_fields(bootstrap()), "rotate": "serving"})

    step = plan(state, now=T0, policy=POLICY, bundle_published=True)

    assert step is not None and (step.action, step.reason) == ("renew-serving", "asked for")
    assert step.state.signer == state.signer and step.state.rotate == ""


def _fields(state: CertState) -> dict[str, object]:
    return {name: getattr(state, name) for name in CertState.__slots__}


def _annotations(state: CertState) -> dict[str, str]:
    return {k: v for k, v in state_annotations(state).items() if v is not None}


def test_state_survives_the_round_trip_through_the_secret() -> None:
    state = bootstrap()
    staged = plan(CertState(**{**_fields(state), "rotate": "ca"}), now=T0, policy=POLICY, bundle_published=True)
    assert staged is not None

    for original in (state, staged.state):
        parsed, why = parse_state(state_data(original), _annotations(original))
        assert parsed is not None, why
        assert parsed.phase == original.phase
        assert parsed.since == original.since
        assert parsed.trusted == original.trusted
        assert parsed.serving.cert == original.serving.cert
        assert parsed.signer.cert == original.signer.cert
        assert (parsed.next_signer is None) == (original.next_signer is None)


def test_an_empty_or_broken_secret_has_no_state() -> None:
    state = bootstrap()
    broken = {**state_data(state), "tls.key": b"garbage"}

    assert parse_state({}, {}) == (None, "the Secret holds no certificate yet")
    parsed, why = parse_state(broken, _annotations(state))
    assert parsed is None and "cannot be used" in why
    parsed, why = parse_state(state_data(state), {**_annotations(state), PHASE_ANNOTATION: STAGED})
    assert parsed is None and "does not match" in why


def test_an_unknown_rotation_request_is_ignored() -> None:
    state = bootstrap()

    parsed, _ = parse_state(state_data(state), {**_annotations(state), ROTATE_ANNOTATION: "everything"})

    assert parsed is not None and parsed.rotate == ""


def test_files_are_swapped_all_at_once_through_a_data_link(tmp_path: Path) -> None:
    first = {"tls.crt": b"cert-1", "tls.key": b"key-1"}
    second = {"tls.crt": b"cert-2", "tls.key": b"key-2"}

    assert write_files(tmp_path, first) is True
    assert write_files(tmp_path, first) is False
    old_target = os.readlink(tmp_path / "..data")
    assert write_files(tmp_path, second) is True

    assert (tmp_path / "tls.crt").read_bytes() == b"cert-2"
    assert (tmp_path / "tls.key").read_bytes() == b"key-2"
    assert os.readlink(tmp_path / "tls.crt") == "..data/tls.crt"
    assert not (tmp_path / old_target).exists()
    assert (tmp_path / "tls.key").stat().st_mode & 0o077 == 0o040  # the key is not world-readable
