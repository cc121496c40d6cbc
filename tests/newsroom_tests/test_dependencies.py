"""Reproducible installs: the lock files pin every package, with hashes, at
versions pyproject.toml allows, and the environment the tests run in was
installed from them."""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(lock_name):
    """{name: (version, marker, hashes)} of a lock written by `make lock`."""
    pins = {}
    text = (ROOT / lock_name).read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line or line.startswith((" ", "#")):
            continue
        requirement = Requirement(line.split(" --hash")[0])
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        hashes = re.findall(r"--hash=sha256:[0-9a-f]{64}", line)
        pins[canonicalize_name(requirement.name)] = (
            specifier.version,
            requirement.marker,
            hashes,
        )
    return pins


@pytest.mark.parametrize(
    "lock_name, extras",
    [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))],
)
def test_the_lock_pins_what_pyproject_asks_for_with_hashes(lock_name, extras):
    pins = _pins(lock_name)
    declared = [Requirement(text) for text in PROJECT["dependencies"]]
    for extra in extras:
        declared += [Requirement(text) for text in PROJECT["optional-dependencies"][extra]]
    for requirement in declared:
        version, _marker, hashes = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version), (requirement, version)
        assert hashes, requirement.name
    assert all(hashes for _version, _marker, hashes in pins.values())


def test_floors_leave_out_releases_with_known_vulnerabilities():
    """Pillow before 11.3 (CVE-2025-48379, a heap overflow writing DDS) and
    gunicorn before 23 (CVE-2024-1135 and CVE-2024-6827, request smuggling)."""
    floors = {
        canonicalize_name(Requirement(text).name): Requirement(text).specifier
        for text in PROJECT["dependencies"]
    }
    assert not floors["pillow"].contains("11.2.1") and floors["pillow"].contains("11.3.0")
    assert not floors["gunicorn"].contains("22.0.0") and floors["gunicorn"].contains("23.0.0")


def test_the_test_environment_was_installed_from_the_lock():
    """Every package the dev lock pins for this Python is installed at exactly
    that version (what `make test` and CI install)."""
    environment = default_environment()
    for name, (version, marker, _hashes) in _pins("requirements-dev.lock").items():
        if marker is not None and not marker.evaluate(environment):
            continue
        assert metadata.version(name) == version, name
