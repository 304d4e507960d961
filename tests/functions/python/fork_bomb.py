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
"""Hostile: fork until the system says no, keeping every child alive."""

import os
import time


def main(**kwargs):
    count = 0
    while True:
        try:
            pid = os.fork()
        except OSError as e:
            return "fork failed after %d children: %s" % (count, e)
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        count += 1
