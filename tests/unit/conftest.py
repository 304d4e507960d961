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
"""Fixtures shared by the unit tests."""

import os
import shutil
import tempfile
import zipfile

import pytest

from qinling import conf as qinling_conf


@pytest.fixture
def make_zip(tmp_path):
    """Return a factory writing a zip package from {member name: text}."""
    def make(files, name="package.zip"):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as archive:
            for member, content in files.items():
                archive.writestr(member, content)
        return str(path)
    return make


@pytest.fixture
def short_tmp_dir():
    """A directory with a short path: unix socket paths must fit 107 bytes."""
    path = tempfile.mkdtemp(prefix="qt-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def conf(tmp_path, short_tmp_dir):
    """qinling.conf.CONF parsed with no files, its state under tmp dirs."""
    config = qinling_conf.CONF
    config([], project="qinling", default_config_files=[])
    config.set_override("state_path", str(tmp_path / "state"))
    config.set_override("work_dir", os.path.join(short_tmp_dir, "workers"),
                        group="local")
    yield config
    config.reset()
