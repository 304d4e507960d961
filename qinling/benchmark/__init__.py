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
"""A benchmark of Qinling against baselines measured in the same run.

:mod:`.cli` is the ``qinling-benchmark`` console script. The scenarios
(:mod:`.scenarios`, :mod:`.listing`, :mod:`.memory`) time the platform
through its REST API; :mod:`.baselines` times what the platform is built
from (a call, a fork, an interpreter start, an HTTP round trip) so that
every result is also given as a ratio that holds on any machine.
"""
