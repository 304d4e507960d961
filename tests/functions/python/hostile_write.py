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
"""Hostile: try to write everywhere; only /tmp and the function's own
current directory may take it."""

import os


def main(**kwargs):
    here = os.path.abspath(__file__)
    written = {}
    for path in ("/etc/qinling-evil", "/usr/evil", "/evil", here,
                 os.path.join(os.path.dirname(here), "evil.py"),
                 "/var/qinling/packages/evil", "/tmp/fine",
                 os.path.join(os.getcwd(), "fine")):
        try:
            with open(path, "a") as f:
                f.write("evil\n")
            written[path] = "written"
        except OSError as e:
            written[path] = type(e).__name__
    return written
