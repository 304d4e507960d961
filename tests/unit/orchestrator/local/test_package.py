# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Unzipping a package writes the bytecode its workers import."""

import importlib.util
import os
import stat
import zipfile

import pytest

from qinling.orchestrator.local import package

LIMIT = 100 * 1024 * 1024
MEMBERS = 10000


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_unzipped_package_has_world_readable_bytecode(make_zip, tmp_path):
    dest = str(tmp_path / "code")
    old_umask = os.umask(0o077)
    try:
        package.unzip(make_zip({"main.py": "def main():\n    return 1\n",
                                "lib/util.py": "X = 1\n"}), dest,
                      LIMIT, MEMBERS)
    finally:
        os.umask(old_umask)

    for source in ("main.py", "lib/util.py"):
        cached = importlib.util.cache_from_source(os.path.join(dest, source))
        assert _mode(cached) == 0o644
        assert _mode(os.path.dirname(cached)) == 0o755


def test_a_module_that_does_not_compile_is_left_to_its_execution(
        make_zip, tmp_path):
    dest = str(tmp_path / "code")

    package.unzip(make_zip({"main.py": "def main(:\n"}), dest, LIMIT,
                  MEMBERS)

    assert os.listdir(dest) == ["main.py"]


def _zeros_zip(tmp_path, members=1, size=1024 * 1024):
    path = str(tmp_path / "zeros.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            archive.writestr("f%d.bin" % i, b"\0" * size)
    return path


@pytest.mark.parametrize("members, size, max_size, max_members, message", [
    (1, 4 * 1024 * 1024, 1024 * 1024, 10,
     "the package unpacks to more than the limit of 1048576 bytes "
     "([storage]max_package_unpacked_size)"),
    (5, 10, 1024 * 1024, 4,
     "the package has 5 members, more than the limit of 4 "
     "([storage]max_package_members)"),
])
def test_a_package_over_a_declared_limit_is_refused_and_leaves_nothing(
        tmp_path, members, size, max_size, max_members, message):
    dest = str(tmp_path / "code")

    with pytest.raises(package.BadPackage) as raised:
        package.unzip(_zeros_zip(tmp_path, members, size), dest, max_size,
                      max_members)

    assert str(raised.value) == message
    assert not os.path.exists(dest)


def test_unpacking_stops_at_the_limit_whatever_the_sizes_declare(tmp_path):
    # What unzip does once the declared sizes passed: count what it writes.
    root = tmp_path / "code"
    root.mkdir()
    with zipfile.ZipFile(_zeros_zip(tmp_path, 3, 1024 * 1024)) as archive:
        with pytest.raises(package.BadPackage):
            package._extract(archive, archive.infolist(), str(root),
                             2 * 1024 * 1024 + 1)

    written = sum(f.stat().st_size for f in root.iterdir())
    assert written <= 2 * 1024 * 1024 + 1
