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

from qinling.orchestrator.local import package


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_unzipped_package_has_world_readable_bytecode(make_zip, tmp_path):
    dest = str(tmp_path / "code")
    old_umask = os.umask(0o077)
    try:
        package.unzip(make_zip({"main.py": "def main():\n    return 1\n",
                                "lib/util.py": "X = 1\n"}), dest)
    finally:
        os.umask(old_umask)

    for source in ("main.py", "lib/util.py"):
        cached = importlib.util.cache_from_source(os.path.join(dest, source))
        assert _mode(cached) == 0o644
        assert _mode(os.path.dirname(cached)) == 0o755


def test_a_module_that_does_not_compile_is_left_to_its_execution(
        make_zip, tmp_path):
    dest = str(tmp_path / "code")

    package.unzip(make_zip({"main.py": "def main(:\n"}), dest)

    assert os.listdir(dest) == ["main.py"]
