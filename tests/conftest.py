"""Shared fixtures. Tests that need ../shared skip with a clear reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ISRWATCH_SHARED", REPO.parent / "shared"))


def pytest_configure(config):
    """The user's store and cache directories are out of reach for the whole session, also for
    module-scoped fixtures (set up before any per-test fixture) and what runs at exit (the
    boundary-cell cache is written then): every process gets its own temporary home."""
    import atexit
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="isrwatch-test-home-"))
    # registered before isrwatch is imported, so it runs after isrwatch's own exit handlers
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CACHE_HOME"] = str(home / "cache")
    os.environ.pop("ISRWATCH_DB", None)
    os.environ.pop("ISRWATCH_CACHE", None)


@pytest.fixture(scope="session")
def shared() -> Path:
    """Root of ../shared/data; skips the test when the material is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"needs the shared test material at {data} (absent on this machine)")
    return data


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the calling test with the reason."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"needs {path} (shared test material absent)")
    return path


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's real store or cache from a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("ISRWATCH_DB", raising=False)
    monkeypatch.delenv("ISRWATCH_CACHE", raising=False)
