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
"""The checks shared by the storage providers: spooling a package."""

import hashlib
import io
import os
import zipfile

import pytest

from qinling import exceptions
from qinling.storage import package


def test_spool_writes_a_checked_file_and_returns_its_md5(tmp_path, make_zip):
    data = open(make_zip({"main.py": "x"}), "rb").read()

    path, md5 = package.spool(package.file_chunks(io.BytesIO(data)),
                              str(tmp_path / "d"), 1024 * 1024)

    assert md5 == hashlib.md5(data).hexdigest()
    assert open(path, "rb").read() == data


@pytest.mark.parametrize("chunks, max_size, md5sum, error, message", [
    ([], 100, None, exceptions.InputException, "Package is empty."),
    ([b"x" * 60, b"x" * 60], 100, None, exceptions.RequestEntityTooLarge,
     "Package is larger than the limit of 100 bytes."),
    ([b"not a zip"], 100, None, exceptions.InputException,
     "Package is not a valid ZIP package."),
    ([b"not a zip"], 100, "0" * 32, exceptions.InputException,
     "Package md5 mismatch."),
])
def test_spool_refuses_and_leaves_no_file(tmp_path, chunks, max_size, md5sum,
                                          error, message):
    with pytest.raises(error) as raised:
        package.spool(iter(chunks), str(tmp_path), max_size, md5sum)

    assert raised.value.message == message
    assert os.listdir(tmp_path) == []


def _bomb(tmp_path, members=1, size=4 * 1024 * 1024):
    """A small zip that unpacks to ``members`` files of ``size`` zeros."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for i in range(members):
            archive.writestr("f%d" % i, b"\0" * size)
    return path.read_bytes()


@pytest.mark.parametrize("members, size, limits, message", [
    (1, 4 * 1024 * 1024, package.UnpackLimits(1024 * 1024, 100),
     "Package unpacks to 4194304 bytes, more than the limit of 1048576 "
     "bytes ([storage]max_package_unpacked_size)."),
    (20, 10, package.UnpackLimits(1024 * 1024, 10),
     "Package has 20 members, more than the limit of 10 "
     "([storage]max_package_members)."),
])
def test_spool_refuses_a_package_over_the_unpack_limits_without_unpacking(
        tmp_path, members, size, limits, message):
    data = _bomb(tmp_path, members, size)
    spool_dir = tmp_path / "spool"

    with pytest.raises(exceptions.InputException) as raised:
        package.spool(iter([data]), str(spool_dir), len(data) + 1,
                      unpack_limits=limits)

    assert raised.value.message == message
    assert os.listdir(spool_dir) == []


def test_spool_accepts_a_package_within_the_unpack_limits(tmp_path):
    data = _bomb(tmp_path, 2, 1000)

    path, _ = package.spool(iter([data]), str(tmp_path / "d"), len(data),
                            unpack_limits=package.UnpackLimits(2000, 2))

    assert open(path, "rb").read() == data
