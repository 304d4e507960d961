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
"""The WSGI application factory.

It builds the application and nothing else: no threads, no tables. The
caller (a console script or the WSGI entry point) configures the database
and hands in an engine RPC client.
"""

import types

from keystonemiddleware import auth_token
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
import pecan

from qinling import keystone
from qinling.api import access_log
from qinling.api import acl
from qinling.api import errors
from qinling.api import health
from qinling.api import hooks
from qinling.api import metrics_endpoint
from qinling.services import aliases
from qinling.services import executions
from qinling.services import functions
from qinling.services import jobs
from qinling.services import runtimes
from qinling.services import versions
from qinling.services import webhooks
from qinling.storage import base as storage_base


def build_services(conf, engine_client, storage=None):
    """The services the API's controllers call."""
    storage = storage or storage_base.load(conf)
    trusts = keystone.Keystone(conf) if conf.pecan.auth_enable else None
    execution_service = executions.ExecutionService(conf, engine_client)
    return types.SimpleNamespace(
        runtimes=runtimes.RuntimeService(engine_client),
        functions=functions.FunctionService(conf, engine_client, storage,
                                            trusts),
        executions=execution_service,
        jobs=jobs.JobService(),
        webhooks=webhooks.WebhookService(conf, execution_service, trusts),
        aliases=aliases.AliasService(),
        versions=versions.VersionService(engine_client, storage),
    )


def setup_app(conf, engine_client, storage=None, services=None):
    """Return the WSGI application of the API.

    :param conf: the loaded configuration.
    :param engine_client: a :class:`qinling.rpc.EngineClient`.
    :param storage: the package storage; loaded from config if None.
    :param services: the services (:func:`build_services`), if the caller
        shares them with its periodic tasks.
    """
    services = services or build_services(conf, engine_client, storage)
    enforcer = acl.build_enforcer(conf)
    app_hooks = [
        hooks.ContextHook(conf.pecan.auth_enable),
        hooks.ServicesHook(conf, services, enforcer),
        errors.JsonErrorHook(), hooks.InputHook(conf)]
    if conf.pecan.auth_enable:
        app_hooks.insert(0, hooks.AuthHook())
    app = pecan.make_app(
        "qinling.api.controllers.root.RootController",
        hooks=app_hooks,
        debug=conf.pecan.debug,
        force_canonical=False,
        guess_content_type_from_ext=False,
    )
    # /metrics and /healthcheck answer before pecan, after Keystone (which
    # lets a request without a token through: they decide themselves).
    app = metrics_endpoint.MetricsEndpoint(app, enforcer)
    app = health.Healthcheck(app, conf, enforcer)
    if conf.pecan.auth_enable:
        app = auth_token.AuthProtocol(
            app, {"oslo_config_config": conf, "delay_auth_decision": True})
    app = access_log.AccessLog(app)
    app = http_proxy_to_wsgi.HTTPProxyToWSGI(app, conf)
    app = cors.CORS(app, conf)
    return errors.FaultMiddleware(request_id.RequestId(app))
