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
"""The examples under example/, run as their READMEs say, against a real
Aodh, Zaqar, Swift and Keystone.

* example/aodh-swift-thumbnail: an Aodh event alarm on Swift uploads runs
  a function that derives an object through its ``os_session``;
* example/zaqar-queue: every order posted to a Zaqar queue is priced.
"""

import datetime
import os
import time
import uuid

import pytest
from swiftclient import exceptions as swift_exceptions

from tests.functional import api as api_client
from tests.functional.trigger_fixtures import WAIT
from tests.functional.trigger_fixtures import create_webhook
from tests.functional.trigger_fixtures import output
from tests.functional.trigger_fixtures import wait_executions

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "example")


def example_zip(example, module):
    with open(os.path.join(EXAMPLES, example, module)) as f:
        return api_client.make_zip({module: f.read()})


# -- (a) Aodh + Swift -------------------------------------------------------

class Caller(api_client.Api):
    """The API as one Keystone user."""

    def __init__(self, url, token):
        super().__init__(url)
        self.http.headers["X-Auth-Token"] = token


@pytest.fixture(scope="module")
def member(auth_server, keystone):
    """user-a (a member of project-a) on the Qinling with Keystone auth,
    and a runtime there."""
    admin = Caller(auth_server.url, keystone.token("admin"))
    runtime = admin.create_runtime(image="python3")
    assert runtime["status"] == "available", runtime
    caller = Caller(auth_server.url, keystone.token("user-a"))
    caller.runtime_id = runtime["id"]
    return caller


def swift_upload_event(user, container, name):
    """The event Ceilometer makes of ceilometermiddleware's notification
    of ``user``'s PUT of ``container/name``, with the event definition
    of example/aodh-swift-thumbnail/README.rst."""
    path = "v1/AUTH_%s/%s/%s" % (user.project_id, container, name)
    traits = {
        "typeURI": "http://schemas.dmtf.org/cloud/audit/1.0/event",
        "id": str(uuid.uuid4()), "action": "update",
        "eventType": "activity",
        "eventTime": datetime.datetime.now(datetime.timezone.utc).replace(
            tzinfo=None).isoformat(),
        "outcome": "success",
        "initiator_typeURI": "service/security/account/user",
        "initiator_id": user.user_id,
        "initiator_project_id": user.project_id,
        "target_typeURI": "service/storage/object",
        "target_id": user.project_id, "target_action": "put",
        "target_metadata_path": path, "target_metadata_version": "v1",
        "target_metadata_container": container,
        "target_metadata_object": name, "observer_id": "target",
        "project_id": user.project_id, "user_id": user.user_id,
    }
    return [[key, 1, value] for key, value in traits.items()]


def upload_alarm(webhook_url, container):
    """The alarm of the README: every successful PUT into ``container``."""
    return {
        "name": "thumbnail-%s" % container, "type": "event",
        "repeat_actions": True, "alarm_actions": [webhook_url],
        "event_rule": {"event_type": "objectstore.http.request", "query": [
            {"field": "traits.target_metadata_container", "op": "eq",
             "type": "string", "value": container},
            {"field": "traits.target_action", "op": "eq",
             "type": "string", "value": "put"},
            {"field": "traits.outcome", "op": "eq", "type": "string",
             "value": "success"}]}}


def wait_object(conn, container, name, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return conn.get_object(container, name)
        except swift_exceptions.ClientException as e:
            if e.http_status != 404 or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_an_upload_to_swift_makes_its_thumbnail_through_aodh(
        member, keystone, swift, aodh):
    user = keystone.users["user-a"]
    function = member.create_function(
        member.runtime_id, example_zip("aodh-swift-thumbnail",
                                       "thumbnail.py"),
        entry="thumbnail.main", name="swift-thumbnail")
    webhook = create_webhook(member, function["id"])
    container = "uploads-%s" % uuid.uuid4().hex[:8]
    aodh.create_alarm(user.project_id,
                      upload_alarm(webhook["webhook_url"], container),
                      user=user.user_id, roles="member")
    conn = swift.connection("user-a")
    conn.put_container(container)
    name = "notes/hello.txt"
    conn.put_object(container, name, b"hello from swift\n")

    aodh.send_event("objectstore.http.request",
                    swift_upload_event(user, container, name))

    headers, content = wait_object(conn, "thumbnails", name)
    assert content == b"HELLO FROM SWIFT\n"
    assert headers["x-object-meta-source"] == "%s/%s" % (container, name)
    assert headers["x-object-meta-source-bytes"] == "17"
    [execution] = wait_executions(member, webhook, 1)
    assert execution["project_id"] == user.project_id
    assert output(execution) == {"source": "%s/%s" % (container, name),
                                 "thumbnail": "thumbnails/%s" % name,
                                 "bytes": 17}


# -- (b) Zaqar --------------------------------------------------------------

@pytest.fixture(scope="module")
def orders(api, runtime):
    return api.create_function(runtime["id"],
                               example_zip("zaqar-queue", "orders.py"),
                               entry="orders.main", name="orders")


ORDER = {"order_id": "A-1001", "customer": "ada",
         "items": [{"sku": "pen", "qty": 3, "price": 1.5},
                   {"sku": "pad", "qty": 1, "price": 4.25}]}


@pytest.mark.parametrize("event_format", ["raw", "cloudevents"])
def test_each_order_posted_to_zaqar_is_priced(api, orders, zaqar,
                                              event_format):
    webhook = create_webhook(api, orders["id"], event_format=event_format)
    queue = zaqar.create_queue("orders-%s" % uuid.uuid4().hex[:8])
    zaqar.subscribe(queue, webhook["webhook_url"])

    zaqar.post_messages(queue, [
        {"ttl": 300, "body": ORDER},
        {"ttl": 300, "body": "not an order"}])

    received = sorted((output(e) for e in wait_executions(api, webhook, 2)),
                      key=lambda o: "skipped" in o)
    assert received == [
        {"queue": queue, "order_id": "A-1001", "items": 4, "total": 8.75},
        {"queue": queue, "skipped": True}]
