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
"""Usage notifications, received by a real listener on RabbitMQ."""

import queue
import time
import uuid

from oslo_config import cfg
import oslo_messaging as messaging
import pytest

from tests.functional import api as api_client
from tests.functional import deployments


class Received:
    """A notification listener's endpoint: keeps what it is sent."""

    def __init__(self):
        self.queue = queue.Queue()

    def info(self, ctxt, publisher_id, event_type, payload, metadata):
        self.queue.put((publisher_id, event_type, payload))

    def wait_for(self, event_type, timeout=30, **fields):
        """The first notification of ``event_type`` whose payload has
        ``fields``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                publisher, kind, payload = self.queue.get(timeout=1)
            except queue.Empty:
                continue
            if kind == event_type and all(
                    payload.get(k) == v for k, v in fields.items()):
                return publisher, payload
        raise AssertionError("no %s notification with %s" % (event_type,
                                                             fields))


@pytest.fixture(scope="module")
def notified(tmp_path_factory):
    """An all-in-one server sending notifications to RabbitMQ on an
    exchange and topic of its own, and a listener there."""
    if not deployments.reachable("127.0.0.1", 5672):
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672")
    exchange = "qinling_test_%s" % uuid.uuid4().hex[:12]
    topic = "notifications_%s" % uuid.uuid4().hex[:12]
    conf = cfg.ConfigOpts()
    conf([], project="qinling-test")
    transport = messaging.get_notification_transport(
        conf, url=deployments.RABBIT_URL)
    received = Received()
    listener = messaging.get_notification_listener(
        transport, [messaging.Target(topic=topic, exchange=exchange)],
        [received], executor="threading")
    listener.start()
    deployment = deployments.Deployment(
        "all-in-one-notifications",
        str(tmp_path_factory.mktemp("notifications")), {
            "DEFAULT": {"control_exchange": exchange},
            "oslo_messaging_notifications": {
                "driver": "messagingv2", "topics": topic,
                "transport_url": deployments.RABBIT_URL}})
    try:
        deployment.start()
        yield api_client.Api(deployment.url), received
    finally:
        deployment.stop()
        listener.stop()
        listener.wait()
        transport.cleanup()


def test_an_execution_sends_its_usage_when_it_ends(notified):
    api, received = notified
    runtime = api.create_runtime()
    function = api.create_function(
        runtime["id"], api_client.sample_zip("hello_world"),
        memory_size=64 * 1024 * 1024)
    execution = api.execute(function["id"])
    assert execution["status"] == "success", execution

    publisher, usage = received.wait_for("execution.end",
                                         execution_id=execution["id"])

    assert publisher.startswith("qinling.")
    assert usage["project_id"] == "default"
    assert usage["function_id"] == function["id"]
    assert usage["function_version"] == 0
    assert usage["runtime_id"] == runtime["id"]
    assert usage["status"] == "success"
    assert usage["duration"] > 0
    assert usage["cpu_time"] is not None and usage["cpu_time"] >= 0
    assert usage["memory_peak"] > 0
    assert usage["memory_size"] == 64 * 1024 * 1024
    assert usage["memory_byte_seconds"] == pytest.approx(
        64 * 1024 * 1024 * usage["duration"])


def test_a_failed_execution_sends_its_status(notified):
    api, received = notified
    runtime = api.create_runtime()
    function = api.create_function(runtime["id"], api_client.make_zip(
        {"main.py": "def main(**kw):\n    raise ValueError('no')\n"}))
    execution = api.execute(function["id"])

    _, usage = received.wait_for("execution.end",
                                 execution_id=execution["id"])

    assert usage["status"] == "failed"


def test_resources_send_create_update_and_delete(notified):
    api, received = notified
    runtime = api.create_runtime()
    _, created = received.wait_for("runtime.create.end",
                                   resource_id=runtime["id"])
    assert created["image"] == "openstackqinling/python3-runtime"

    function = api.create_function(runtime["id"],
                                   api_client.sample_zip("hello_world"),
                                   name="billed")
    _, created = received.wait_for("function.create.end",
                                   resource_id=function["id"])
    assert created["name"] == "billed"
    assert created["runtime_id"] == runtime["id"]
    assert created["project_id"] == "default"

    resp = api.http.put(api.url + "/v1/functions/%s" % function["id"],
                        data={"description": "now described"})
    assert resp.status_code == 200, resp.text
    _, updated = received.wait_for("function.update.end",
                                   resource_id=function["id"])
    assert updated["description"] == "now described"

    webhook = api.post("/v1/webhooks", json={
        "function_id": function["id"]}).json()
    received.wait_for("webhook.create.end", resource_id=webhook["id"])
    assert api.delete("/v1/webhooks/%s" % webhook["id"]).status_code == 204
    received.wait_for("webhook.delete.end", resource_id=webhook["id"])

    job = api.post("/v1/jobs", json={
        "function_id": function["id"], "pattern": "0 0 1 1 *"}).json()
    assert "id" in job, job
    _, created = received.wait_for("job.create.end", resource_id=job["id"])
    assert created["pattern"] == "0 0 1 1 *"
    assert api.delete("/v1/jobs/%s" % job["id"]).status_code == 204
    received.wait_for("job.delete.end", resource_id=job["id"])

    assert api.delete("/v1/functions/%s" % function["id"]).status_code == 204
    received.wait_for("function.delete.end", resource_id=function["id"])
