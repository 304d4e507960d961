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
"""Where Zaqar is, and posting to its queues: shared by the webhooks
(subscription confirmations) and the engine (failure destinations)."""

import uuid

from oslo_log import log as logging
import requests

from qinling import exceptions

LOG = logging.getLogger(__name__)

#: a function's ``on_failure`` naming a Zaqar queue of its project.
DESTINATION_PREFIX = "zaqar:"


def endpoint(conf, keystone=None):
    """The base URL of Zaqar's API: ``[webhooks]zaqar_url``, else the
    ``messaging`` endpoint of the Keystone catalog (auth on); None if
    neither is there."""
    if conf.webhooks.zaqar_url:
        return conf.webhooks.zaqar_url.rstrip("/")
    if keystone is None:
        return None
    try:
        return keystone.service_session().get_endpoint(
            service_type="messaging", interface="public").rstrip("/")
    except Exception as e:
        LOG.warning("No Zaqar endpoint in the Keystone catalog: %s", e)
        return None


def post_message(conf, base, project_id, queue, body, token=None, ttl=86400):
    """Post one message to a queue of ``project_id``.

    :param token: a token of the project (auth on), or None.
    :raises BadGatewayException: Zaqar refused or did not answer.
    """
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": project_id}
    if token:
        headers["X-Auth-Token"] = token
    try:
        response = requests.post(
            "%s/v2/queues/%s/messages" % (base, queue), headers=headers,
            json={"messages": [{"ttl": ttl, "body": body}]},
            timeout=conf.webhooks.zaqar_timeout)
    except requests.RequestException as e:
        raise exceptions.BadGatewayException(
            "Zaqar did not answer: %s" % e)
    if response.status_code >= 300:
        raise exceptions.BadGatewayException(
            "Zaqar refused the message (HTTP %s): %s" % (
                response.status_code, response.text[:200]))
