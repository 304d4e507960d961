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
"""Session fixtures ``zaqar``, ``confirming_zaqar`` and ``aodh``: the real
services that call webhooks; and ``confirming_server``, a Qinling that
confirms subscriptions to ``confirming_zaqar``.

Use them from tests/functional/conftest.py (or a test module) with::

    from tests.functional.trigger_fixtures import aodh, zaqar  # noqa

See :mod:`tests.functional.trigger_services` for what the objects offer.
A test that uses them is skipped when they cannot run here (no package
index, no ``redis-server``, no RabbitMQ), with the reason; any other
failure errors the test with the servers' logs. A failing test that used
them gets their logs in its report.

Helpers for such tests: :func:`create_webhook`, :func:`executions_of`,
:func:`wait_executions` (bounded by :data:`WAIT` seconds), :func:`output`.
"""

import json
import time

import pytest

from tests.functional import deployments
from tests.functional import trigger_services

_PLUGIN = "qinling-trigger-logs"

WAIT = 60   # seconds, for anything a service does in the background


class _LogsPlugin:
    """Adds the trigger services' logs to a failed test's report."""

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if report.when == "call" and report.failed:
            report.sections.extend(log_sections(item))


class Deployment(deployments.Deployment):
    """A Qinling deployment of these fixtures (conftest shows the logs of
    its own deployments only)."""


def log_sections(item):
    """``(title, text)`` report sections with the logs of the trigger
    services (and of this module's Qinling deployments) the test ``item``
    used."""
    return [("%s logs" % name, value.logs())
            for name, value in sorted(getattr(item, "funcargs", {}).items())
            if isinstance(value, (trigger_services.Services, Deployment))]


def _start(request, services):
    # Registered here, not in a conftest: tests/functional/conftest.py has
    # its own pytest_runtest_makereport, and pytest_plugins works only in
    # the rootdir's conftest.
    manager = request.config.pluginmanager
    if not manager.has_plugin(_PLUGIN):
        manager.register(_LogsPlugin(), _PLUGIN)
    try:
        return services.start()
    except trigger_services.Unavailable as e:
        pytest.skip("%s unavailable: %s" % (type(services).__name__, e))


@pytest.fixture(scope="session")
def zaqar(request, tmp_path_factory):
    """A :class:`~tests.functional.trigger_services.Zaqar`, started:
    subscriptions are delivered at once."""
    services = _start(request, trigger_services.Zaqar(
        str(tmp_path_factory.mktemp("zaqar"))))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def confirming_zaqar(request, tmp_path_factory):
    """A second Zaqar with ``[notification] require_confirmation = true``:
    a subscription is delivered to only once confirmed."""
    services = _start(request, trigger_services.Zaqar(
        str(tmp_path_factory.mktemp("zaqar-confirming")),
        require_confirmation=True))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def aodh(request, tmp_path_factory):
    """An :class:`~tests.functional.trigger_services.Aodh`, started, on
    the RabbitMQ at ``QINLING_TEST_RABBIT_URL``."""
    services = _start(request, trigger_services.Aodh(
        str(tmp_path_factory.mktemp("aodh"))))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def confirming_server(confirming_zaqar, tmp_path_factory):
    """An all-in-one ``qinling-server`` (auth off) whose
    ``[webhooks]zaqar_url`` is ``confirming_zaqar``, so that its
    ``confirm_subscriptions`` webhooks can confirm there."""
    workdir = str(tmp_path_factory.mktemp("qinling-zaqar-confirming"))
    deployment = Deployment("all-in-one-zaqar-confirming", workdir, {
        "webhooks": {"zaqar_url": confirming_zaqar.url}})
    try:
        deployment.start()
    except deployments.Unavailable as e:
        pytest.skip("deployment unavailable: %s" % e)
    try:
        yield deployment
    finally:
        deployment.stop()


# -- helpers for the tests that use them ----------------------------------

def create_webhook(api, function_id, **fields):
    resp = api.post("/v1/webhooks", json=dict(fields,
                                              function_id=function_id))
    assert resp.status_code == 201, resp.text
    return resp.json()


def executions_of(api, webhook):
    resp = api.get("/v1/executions",
                   params={"description": "has:%s" % webhook["id"]})
    assert resp.status_code == 200, resp.text
    return resp.json()["executions"]


def wait_executions(api, webhook, count, timeout=WAIT):
    """The finished executions of ``webhook``, oldest first, once there are
    at least ``count``; all of them successful."""
    deadline = time.monotonic() + timeout
    while True:
        executions = executions_of(api, webhook)
        done = [e for e in executions if e["status"] != "running"]
        if len(done) >= count:
            break
        if time.monotonic() > deadline:
            raise AssertionError("%d of %d executions of webhook %s after "
                                 "%ss: %s" % (len(done), count, webhook["id"],
                                              timeout, executions))
        time.sleep(0.2)
    for execution in done:
        assert execution["status"] == "success", execution
        assert execution["description"] == \
            "Created by Webhook %s" % webhook["id"]
    return sorted(done, key=lambda e: e["created_at"])


def output(execution):
    return json.loads(execution["result"])["output"]
