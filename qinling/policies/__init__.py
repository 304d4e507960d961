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
"""Policies in code, one module per resource, upstream's rules as the
defaults. ``oslopolicy-sample-generator --namespace qinling`` writes them
out."""

import itertools

from qinling.policies import alias
from qinling.policies import base
from qinling.policies import execution
from qinling.policies import function
from qinling.policies import job
from qinling.policies import runtime
from qinling.policies import service
from qinling.policies import usage
from qinling.policies import webhook


def list_rules():
    return list(itertools.chain(
        base.list_rules(), runtime.list_rules(), function.list_rules(),
        alias.list_rules(), execution.list_rules(), job.list_rules(),
        webhook.list_rules(), service.list_rules(),
        usage.list_rules()))
