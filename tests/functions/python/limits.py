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
"""Probe the per-execution limits: open files, file size."""

import os
import tempfile


def main(files=2000, file_mb=0, **kwargs):
    result = {}
    handles = []
    try:
        for _ in range(int(files)):
            handles.append(open(os.devnull))
    except OSError as e:
        result["open_error"] = type(e).__name__
    result["opened"] = len(handles)
    for handle in handles:
        handle.close()
    if file_mb:
        chunk = b"x" * (1024 * 1024)
        written = 0
        try:
            with tempfile.TemporaryFile() as f:
                for _ in range(int(file_mb)):
                    f.write(chunk)
                    f.flush()
                    written += 1
        except OSError as e:
            result["write_error"] = type(e).__name__
        result["written_mb"] = written
    return result
