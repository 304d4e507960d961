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
"""Hostile: try to read files the function must never see."""


def main(paths, **kwargs):
    seen = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                f.read(16)
            seen[path] = "read"
        except OSError as e:
            seen[path] = type(e).__name__
    return seen
