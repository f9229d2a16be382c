"""A non-editable install ships every package and data file: pyproject lists them all."""

import tomllib

from tests.conftest import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def package_folders() -> dict[str, str]:
    """Every folder with an __init__.py, by the dotted name it is installed as."""
    found = {}
    for installed, folder in PYPROJECT["package-dir"].items():
        for init in sorted((PROJECT_ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(PROJECT_ROOT / folder).parts
            found[".".join((installed, *relative))] = str(init.parent.relative_to(PROJECT_ROOT))
    return found


def test_every_package_folder_is_listed_in_pyproject():
    missing = {name: folder for name, folder in package_folders().items() if name not in PYPROJECT["packages"]}
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_exists():
    assert set(PYPROJECT["packages"]) <= set(package_folders())


def test_non_python_files_in_packages_are_shipped():
    shipped = {name: patterns for name, patterns in PYPROJECT["package-data"].items()}
    for name, folder in package_folders().items():
        data = [p for p in (PROJECT_ROOT / folder).iterdir() if p.is_file() and p.suffix not in {".py", ".pyc"}]
        for path in data:
            patterns = shipped.get(name, [])
            assert any(path.match(pattern) for pattern in patterns), f"{path} is not in package-data of {name}"


def test_pytest_prints_the_reason_of_every_skipped_test():
    """The README says skipped tests show their reason: only true with `-rs` in the project's pytest options."""
    options = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-rs" in options["addopts"].split()
