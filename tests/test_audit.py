"""The dependency audit (tests/support/audit.py; `make test` runs it in full on requirements.lock
once, after the test passes, as `make audit`): the lock pins what is installed, and the audit
fails, never passes silently, on a known vulnerable release, on an unreachable vulnerability
service and on a stale exception. These talk to PyPI."""

from __future__ import annotations

import socket
from importlib.metadata import distributions

import pytest
from support import audit

NOT_LOCKED = {"dailypapers", "pip", "setuptools", "wheel", "distribute"}


def test_the_lock_pins_every_installed_distribution_at_its_version():
    pins = audit.read_lock()
    installed = {audit.canonical(d.metadata["Name"]): d.version for d in distributions()}
    missing = {n: v for n, v in installed.items() if n not in NOT_LOCKED and pins.get(n) != v}
    assert not missing, (f"installed but not locked at this version: {missing}; regenerate requirements.lock "
                         f"with `make lock` (README, 'Dependencies and the audit')")
    assert "dailypapers" not in pins and len(pins) > 50


def test_every_exception_names_a_locked_release_with_a_reason():
    pins, allowed = audit.read_lock(), audit.read_exceptions()
    assert allowed, "requirements.audit-exceptions lists nothing"
    for name, (version, reason) in allowed.items():
        assert pins.get(name) == version, f"{name}=={version} is not what the lock pins"
        assert len(reason) > 10, name


def test_a_lock_line_that_is_not_an_exact_pin_is_refused(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("jinja2>=3\n")
    with pytest.raises(ValueError, match="not an exact pin"):
        audit.read_lock(lock)


def test_a_known_vulnerable_release_fails_the_audit(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("jinja2==2.10\n")  # CVE-2019-10906 (sandbox escape), fixed in 2.10.1
    report = audit.audit(lock, exceptions=None)
    assert not report.ok
    # with PyPI's per-release data the advisory itself is reported; without it the release is
    # unchecked (it is not the latest): a failure either way, never a pass
    assert any("jinja2==2.10" in line for line in report.vulnerable + report.unchecked), report.text()


def test_an_unreachable_vulnerability_service_fails_the_audit(tmp_path, monkeypatch, capsys):
    """Every request to PyPI goes through a proxy on a closed loopback port: pip-audit and the
    project-data check both fail to connect, and the audit fails instead of passing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{closed}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    lock = tmp_path / "requirements.lock"
    lock.write_text("jinja2==3.1.6\n")
    assert audit.main(["audit", str(lock)]) == 1
    assert "audit FAILED" in capsys.readouterr().err
    # the project-data check on its own fails the same way
    report = audit.audit(lock, exceptions=None, pypi=f"http://127.0.0.1:{closed}/pypi",
                         pip_audit=lambda _lock: [{"name": "jinja2", "skip_reason": "not reachable"}])
    assert not report.ok and any("unreachable" in u for u in report.unchecked), report.text()


def test_a_stale_exception_fails_the_audit(tmp_path):
    lock, exceptions = tmp_path / "requirements.lock", tmp_path / "exceptions"
    lock.write_text("jinja2==3.1.6\n")
    exceptions.write_text("jinja2==3.0.0  # an old reason\n")
    report = audit.audit(lock, exceptions=exceptions)
    assert not report.ok and any("update or remove" in u for u in report.unchecked), report.text()
