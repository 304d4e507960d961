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
"""The local package store: what it keeps, and what it refuses."""

import hashlib
import io
import os

import pytest

from qinling import exceptions
from qinling.storage import file_system


@pytest.fixture
def store(conf):
    return file_system.FileSystemStorage(conf)


def files_under(path):
    found = []
    for root, _dirs, names in os.walk(path):
        found += [os.path.join(root, n) for n in names]
    return found


def test_a_zip_is_stored_under_its_md5_and_read_back(store, make_zip):
    data = open(make_zip({"main.py": "def main(): pass"}), "rb").read()

    md5 = store.store("p1", "f1", io.BytesIO(data))

    assert md5 == hashlib.md5(data).hexdigest()
    with store.retrieve("p1", "f1", md5) as f:
        assert f.read() == data
    assert store.local_path("p1", "f1", md5).endswith("/p1/f1_%s.zip" % md5)


def test_delete_removes_the_package_and_ignores_a_missing_one(store,
                                                             make_zip):
    data = open(make_zip({"main.py": ""}), "rb").read()
    md5 = store.store("p1", "f1", io.BytesIO(data))

    store.delete("p1", "f1", md5)
    store.delete("p1", "f1", md5)

    with pytest.raises(exceptions.StorageNotFoundException):
        store.retrieve("p1", "f1", md5)


@pytest.mark.parametrize("members, message", [
    ({"../evil.py": "x"}, "escapes the package directory"),
    ({"/etc/evil": "x"}, "escapes the package directory"),
    ({"a/../../evil": "x"}, "escapes the package directory"),
])
def test_members_escaping_the_package_are_refused(store, make_zip, members,
                                                  message):
    data = open(make_zip(members), "rb").read()

    with pytest.raises(exceptions.InputException, match=message):
        store.store("p1", "f1", io.BytesIO(data))

    assert files_under(store.root) == []


def test_refused_uploads_leave_no_file(store, conf, make_zip):
    conf.set_override("max_package_size", 1000, group="storage")
    store = file_system.FileSystemStorage(conf)
    zipped = open(make_zip({"main.py": ""}), "rb").read()

    with pytest.raises(exceptions.InputException, match="not a valid ZIP"):
        store.store("p1", "f1", io.BytesIO(b"not a zip"))
    with pytest.raises(exceptions.InputException, match="md5 mismatch"):
        store.store("p1", "f1", io.BytesIO(zipped), md5sum="0" * 32)
    with pytest.raises(exceptions.InputException, match="empty"):
        store.store("p1", "f1", io.BytesIO(b""))
    with pytest.raises(exceptions.RequestEntityTooLarge):
        store.store("p1", "f1", io.BytesIO(b"x" * 1001))

    assert files_under(store.root) == []
