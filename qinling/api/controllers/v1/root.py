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
"""``/v1/``: the resources of version 1."""

import pecan

from qinling.api.controllers.v1 import alias
from qinling.api.controllers.v1 import execution
from qinling.api.controllers.v1 import function
from qinling.api.controllers.v1 import job
from qinling.api.controllers.v1 import runtime
from qinling.api.controllers.v1 import usage as usage_controller
from qinling.api.controllers.v1 import webhook


class Controller(object):

    runtimes = runtime.RuntimesController()
    functions = function.FunctionsController()
    executions = execution.ExecutionsController()
    aliases = alias.AliasesController()
    jobs = job.JobsController()
    webhooks = webhook.WebhooksController()
    usage = usage_controller.UsageController()

    @pecan.expose("json")
    def index(self):
        return {"uri": pecan.request.application_url.rstrip("/") + "/v1"}
