"""Audit requirements.lock for known vulnerabilities; exit 1 on any, and on anything it could not check.

    python tests/support/audit.py [requirements.lock]      (`make audit`; tests/test_audit.py runs it)

1. `pip-audit -r requirements.lock --no-deps --disable-pip` asks PyPI's vulnerability data
   (its per-release JSON, which carries the advisories from the Python advisory database / OSV)
   about every locked release.
2. pip-audit skips a release it cannot look up and still exits 0 ("No known vulnerabilities
   found"): the silent pass this script refuses. Where PyPI's per-release JSON is not served
   (some mirrors and proxies answer only the project JSON), a skipped release is checked against
   the project JSON instead, whose `vulnerabilities` are those of the latest release: that
   answers for a locked release that is the latest one.
3. Anything still unchecked (not on PyPI, or not the latest release while the per-release JSON
   is unavailable, or the service unreachable) fails loudly, naming each release and why, unless
   requirements.audit-exceptions names that exact release with its reason (printed as ACCEPTED).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
EXCEPTIONS = ROOT / "requirements.audit-exceptions"
PYPI = "https://pypi.org/pypi"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


@dataclass
class Report:
    checked: dict[str, str] = field(default_factory=dict)  # name -> how it was checked
    vulnerable: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # unchecked, but named in the exceptions file

    @property
    def ok(self) -> bool:
        return bool(self.checked) and not self.vulnerable and not self.unchecked

    def text(self) -> str:
        lines = [f"{len(self.checked)} locked releases checked "
                 f"({sum(1 for v in self.checked.values() if v == 'pip-audit')} by pip-audit per release, "
                 f"{sum(1 for v in self.checked.values() if v == 'latest')} as the latest release)"]
        lines += [f"VULNERABLE {v}" for v in self.vulnerable]
        lines += [f"NOT CHECKED {u}" for u in self.unchecked]
        lines += [f"ACCEPTED UNCHECKED {a}" for a in self.accepted]
        return "\n".join(lines)


def read_lock(path: Path = LOCK) -> dict[str, str]:
    """name -> version; ValueError for a line that is not an exact pin."""
    pins = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("  #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not an exact pin (name==version): {line!r}")
        pins[canonical(match.group(1))] = match.group(2)
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    return version.split("+", 1)[0]  # 2.13.0+cpu is a build of the 2.13.0 release


def run_pip_audit(lock: Path, timeout: float = 600) -> list[dict]:
    """pip-audit's JSON dependency list (each with `vulns`, or a `skip_reason`)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        command = [sys.executable, "-m", "pip_audit", "-r", str(lock), "--no-deps", "--disable-pip",
                   "--vulnerability-service", "pypi", "--format", "json", "--progress-spinner", "off",
                   "--output", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if not out.is_file():
            raise RuntimeError(f"pip-audit failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
        return json.loads(out.read_text())["dependencies"]


def project_json(name: str, client, pypi: str = PYPI) -> dict | None:
    response = client.get(f"{pypi}/{name}/json")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def live_vulns(vulns: list[dict]) -> list[dict]:
    return [v for v in vulns if not v.get("withdrawn")]


def describe_vuln(name: str, version: str, vuln: dict) -> str:
    ident = vuln.get("id") or ",".join(vuln.get("aliases") or []) or "advisory"
    fixed = vuln.get("fix_versions") or vuln.get("fixed_in") or []
    return f"{name}=={version}: {ident}" + (f" (fixed in {', '.join(fixed)})" if fixed else "")


def read_exceptions(path: Path = EXCEPTIONS) -> dict[str, tuple[str, str]]:
    """name -> (version, reason) of the releases that may stay unchecked."""
    if not path.is_file():
        return {}
    found = {}
    for raw in path.read_text().splitlines():
        line, _, reason = raw.partition("#")
        match = PIN.match(line.strip())
        if match:
            found[canonical(match.group(1))] = (match.group(2), reason.strip() or "no reason given")
    return found


def audit(lock: Path = LOCK, exceptions: Path | None = EXCEPTIONS, pypi: str = PYPI, client=None,
          pip_audit=run_pip_audit) -> Report:
    import httpx

    pins = read_lock(lock)
    allowed = read_exceptions(exceptions) if exceptions else {}
    report = Report()
    skipped: dict[str, str] = {}
    for dep in pip_audit(lock):
        name = canonical(dep["name"])
        if "skip_reason" in dep:
            skipped[name] = dep["skip_reason"]
            continue
        report.checked[name] = "pip-audit"
        report.vulnerable += [describe_vuln(name, dep["version"], v) for v in dep.get("vulns", [])]
    for name in pins:
        if name not in report.checked and name not in skipped:
            skipped[name] = "pip-audit did not report it"
    own = client is None
    client = client or httpx.Client(timeout=30, follow_redirects=True)
    try:
        from concurrent.futures import ThreadPoolExecutor

        def fetch(name: str):
            try:
                return project_json(name, client, pypi)
            except httpx.HTTPError as exc:
                return exc

        names = sorted(skipped)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = dict(zip(names, pool.map(fetch, names), strict=True))
        for name in names:
            reason, version, data = skipped[name], pins.get(name, "?"), answers[name]
            if isinstance(data, httpx.HTTPError):
                exc = data
                report.unchecked.append(f"{name}=={version}: the vulnerability service is unreachable ({exc})")
                continue
            if data is None:
                report.unchecked.append(f"{name}=={version}: not on PyPI ({reason})")
                continue
            latest = data["info"]["version"]
            if public(version) != latest:
                report.unchecked.append(f"{name}=={version}: {reason}; the latest release is {latest}, so the "
                                        f"project data cannot answer for this one: upgrade it (see README)")
                continue
            report.checked[name] = "latest"
            report.vulnerable += [describe_vuln(name, version, v) for v in live_vulns(data.get("vulnerabilities", []))]
    finally:
        if own:
            client.close()
    for entry in list(report.unchecked):
        name, version = entry.split("==", 1)[0], pins.get(entry.split("==", 1)[0])
        if name in allowed and allowed[name][0] == version and "unreachable" not in entry:
            report.unchecked.remove(entry)
            report.accepted.append(f"{name}=={version}: {allowed[name][1]}")
    for name, (version, _reason) in allowed.items():
        if pins.get(name) != version:
            report.unchecked.append(f"{name}=={version} is in {EXCEPTIONS.name} but the lock has "
                                    f"{name}=={pins.get(name, '(nothing)')}: update or remove the entry")
    return report


def main(argv: list[str]) -> int:
    lock = Path(argv[1]) if len(argv) > 1 else LOCK
    try:
        report = audit(lock)
    except Exception as exc:  # unreachable service, broken lock, pip-audit missing: never a pass
        print(f"audit FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(report.text())
    if not report.ok:
        print("audit FAILED", file=sys.stderr)
        return 1
    print("audit passed: no known vulnerability in the locked releases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
