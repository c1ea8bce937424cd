"""The image runs what its commands name: every entry point imports from exactly the files the
Dockerfile copies. Docker is not needed: the COPY lines are replayed into a temporary directory
and a Python that sees only that directory (and the installed dependencies) imports them."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from itertools import pairwise
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.support.waits import scaled

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())

pytestmark = pytest.mark.processes
# uvicorn's `package.module:factory`
TARGET = re.compile(r"^[a-z_][a-z0-9_.]*:[a-z_][a-z0-9_]*$")
# Offline, with the build backend already installed: the wheel `pip install .` would make.
PIP_WHEEL = ["-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation"]
# A file named on a command line: a script, a config file.
FILE_WORD = re.compile(r"^[\w./-]+\.(?:py|sh|json|ya?ml|toml|ini|cfg)$")


def instructions(dockerfile: str) -> list[tuple[str, list[str]]]:
    """(instruction, its shell-split arguments), continuation lines joined, comments dropped."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = "\n".join(lines).replace("\\\n", " ")
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            parsed.append((keyword.upper(), rest))
    return [(keyword, _arguments(keyword, rest)) for keyword, rest in parsed]


def _arguments(keyword: str, rest: str) -> list[str]:
    if keyword in {"CMD", "ENTRYPOINT", "RUN"} and rest.lstrip().startswith("["):
        return json.loads(rest)
    return shlex.split(rest)


def dockerignored(path: PurePosixPath, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in path.parts):
                return True
        elif fnmatch.fnmatch(str(path), pattern) or fnmatch.fnmatch(path.parts[0], pattern):
            return True
    return False


def build_tree(image_root: Path) -> Path:
    """Replays the Dockerfile's COPY lines from the repository into `image_root` (the image's
    /), skipping what .dockerignore keeps out of the build context; returns the WORKDIR."""
    ignore = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    workdir = PurePosixPath("/")
    for keyword, arguments in instructions(DOCKERFILE):
        if keyword == "WORKDIR":
            workdir = workdir / arguments[0]
        if keyword != "COPY":
            continue
        *sources, destination = [a for a in arguments if not a.startswith("--")]
        target = image_root / (workdir / destination).relative_to("/")
        for source in sources:
            assert not dockerignored(PurePosixPath(source), ignore), f"{source} is dockerignored"
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    target,
                    dirs_exist_ok=True,
                    ignore=lambda folder, names: [
                        name
                        for name in names
                        if dockerignored(PurePosixPath(folder, name).relative_to(ROOT), ignore)
                    ],
                )
            else:
                into = target / origin.name if destination.endswith("/") else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)
    return image_root / workdir.relative_to("/")


def commands() -> list[list[str]]:
    """Every command the image is run with: its CMD, and compose's commands and healthchecks
    (shell forms split into words)."""
    found = [args for keyword, args in instructions(DOCKERFILE) if keyword == "CMD"]
    for service in COMPOSE["services"].values():
        if service.get("image", "").startswith("gradflow"):
            found.append([*service.get("entrypoint", []), *service.get("command", [])])
            found.append(service.get("healthcheck", {}).get("test", []))
    words = []
    for command in found:
        if command and command[0] in {"CMD-SHELL", "sh"}:
            command = shlex.split(command[-1])
        words.append([word for word in command if word != "CMD"])
    return words


def entry_points() -> tuple[set[str], set[str]]:
    """(modules run or loaded by name, `module:attribute` targets) the commands name."""
    modules, targets = set(), set()
    for words in commands():
        for flag, value in pairwise(words):
            if flag in {"-m", "-A"}:
                modules.add(value)
        targets |= {word for word in words if TARGET.match(word)}
    return modules, targets


def test_every_entry_point_imports_from_the_copied_files_alone(tmp_path: Path) -> None:
    app = build_tree(tmp_path)
    modules, targets = entry_points()
    assert "cli" in modules and "worker.celery_app" in modules, modules
    assert "api.app:create_app" in targets, targets
    for module in modules | {target.split(":")[0] for target in targets}:
        parts = module.split(".")
        assert (app.joinpath(*parts) / "__init__.py").is_file() or app.joinpath(
            *parts[:-1], parts[-1] + ".py"
        ).is_file(), f"{module} is not in the image"
    for words in commands():
        for word in filter(FILE_WORD.match, words):
            image_path = tmp_path / word.lstrip("/") if word.startswith("/") else app / word
            assert image_path.exists(), f"{word} is not in the image"
    check_imports(app, sorted(targets))


def test_the_package_pip_installs_from_those_files_holds_every_entry_point(
    tmp_path: Path,
) -> None:
    """The `RUN pip install .`: its wheel, built offline from the copied files, unpacked as
    pip would into site-packages, imports on its own (the `gradflow` script runs from it)."""
    app = build_tree(tmp_path / "image")
    built = subprocess.run(
        [sys.executable, *PIP_WHEEL, "-w", str(tmp_path / "dist"), str(app)],
        capture_output=True,
        text=True,
        timeout=scaled(120),
    )
    assert built.returncode == 0, built.stderr[-4000:]
    (wheel,) = (tmp_path / "dist").glob("gradflow-*.whl")
    installed = tmp_path / "site-packages"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    (scripts,) = installed.glob("gradflow-*.dist-info/entry_points.txt")
    assert "gradflow = cli.__main__:main" in scripts.read_text()
    # The dashboard's files are package data: served from the install, not the source tree.
    assert (installed / "api" / "static" / "index.html").is_file()
    _, targets = entry_points()
    check_imports(installed, sorted(targets | {"cli.__main__:main"}))


def check_imports(source: Path, targets: list[str]) -> None:
    """Every module of the packages in `source` imports with `source` as the only copy of the
    project, each `module:attribute` target exists, and `python -m cli --help` runs."""
    probe = PROBE.format(
        app=str(source),
        site=sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}),
        packages=sorted(p.parent.name for p in source.glob("*/__init__.py")),
        targets=targets,
    )
    # -I -S: neither PYTHONPATH, the working directory, nor site-packages' .pth files (the
    # editable install's finder points at this checkout); the probe adds site-packages itself.
    ran = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=scaled(120),
    )
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert "usage: gradflow" in ran.stdout and "OK" in ran.stdout.split()


# Imports every module of every copied package (migration scripts run only under Alembic),
# checks each `module:attribute` target exists, then runs `python -m cli --help`.
PROBE = """
import importlib, pkgutil, runpy, sys
app = {app!r}
sys.path[:0] = [app, *{site!r}]
assert not [f for f in sys.meta_path if "editable" in type(f).__module__.lower()]
for package in {packages!r}:
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not info.name.startswith("jobs.migrations"):
            importlib.import_module(info.name)
for name, module in list(sys.modules.items()):
    origin = getattr(module, "__file__", None) or ""
    if name.split(".")[0] in {packages!r}:
        assert origin.startswith(app), (name, origin)
for target in {targets!r}:
    module, attribute = target.split(":")
    assert callable(getattr(importlib.import_module(module), attribute)), target
print("OK")
sys.argv = ["gradflow", "--help"]
try:
    runpy.run_module("cli", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    assert exit.code in (0, None), exit.code
"""
