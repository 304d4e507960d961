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
