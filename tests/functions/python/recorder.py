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
"""Record that this execution ran (append ``token`` to ``<dir>/runs``),
then sleep ``seconds``: the fault tests count how often each ran."""

import os
import time


def main(dir, token, seconds=0.3, **kwargs):
    with open(os.path.join(dir, "runs"), "a") as runs:
        runs.write("%s\n" % token)
    time.sleep(float(seconds))
    return token
