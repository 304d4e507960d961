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
"""The documentation, the API reference and the release notes build with
the OpenStack toolchain (openstackdocstheme, os-api-ref, reno), warnings
as errors, as ``tox -e docs``, ``tox -e api-ref`` and ``tox -e
releasenotes`` build them."""

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SPHINX = os.path.join(os.path.dirname(sys.executable), "sphinx-build")


@pytest.mark.parametrize("source", ["doc/source", "api-ref/source",
                                    "releasenotes/source"])
def test_builds_without_warnings(source, tmp_path):
    if not os.path.exists(SPHINX):
        pytest.skip("sphinx is not installed (doc/requirements.txt)")
    done = subprocess.run(
        [SPHINX, "-E", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), os.path.join(REPO, source),
         str(tmp_path / "html")],
        cwd=REPO, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "html" / "index.html").is_file()
