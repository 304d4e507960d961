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
services that call webhooks.

tests/functional/conftest.py imports them (and makes ``confirming_server``,
a Qinling that confirms subscriptions to ``confirming_zaqar``). See
:mod:`tests.functional.trigger_services` for what the objects offer. A test
that uses them is skipped when they cannot run here (no package index, no
``redis-server``, no RabbitMQ), with the reason; any other failure errors
the test with the servers' logs, and a failing test that used them gets
their logs in its report (``openstack_fixtures.log_sections``).

Helpers for such tests: :func:`create_webhook`, :func:`executions_of`,
:func:`wait_executions` (bounded by :data:`WAIT` seconds), :func:`output`.
"""

import json
import time

import pytest

from tests.functional import trigger_services

WAIT = 60   # seconds, for anything a service does in the background


def _running(services):
    """Start ``services`` (or skip the test), yield them, stop them."""
    try:
        services.start()
    except trigger_services.Unavailable as e:
        pytest.skip("%s unavailable: %s" % (type(services).__name__, e))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="session")
def zaqar(tmp_path_factory):
    """A :class:`~tests.functional.trigger_services.Zaqar`, started:
    subscriptions are delivered at once."""
    yield from _running(trigger_services.Zaqar(
        str(tmp_path_factory.mktemp("zaqar"))))


@pytest.fixture(scope="session")
def confirming_zaqar(tmp_path_factory):
    """A second Zaqar with ``[notification] require_confirmation = true``:
    a subscription is delivered to only once confirmed."""
    yield from _running(trigger_services.Zaqar(
        str(tmp_path_factory.mktemp("zaqar-confirming")),
        require_confirmation=True))


@pytest.fixture(scope="session")
def aodh(tmp_path_factory):
    """An :class:`~tests.functional.trigger_services.Aodh`, started, on
    the RabbitMQ at ``QINLING_TEST_RABBIT_URL``."""
    yield from _running(trigger_services.Aodh(
        str(tmp_path_factory.mktemp("aodh"))))


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
