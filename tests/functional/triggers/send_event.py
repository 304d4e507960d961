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
"""Publish one Ceilometer-format event, in the Aodh venv.

As Ceilometer's ``notifier://`` event publisher does: a ``sample``
notification whose payload is a list of events, on the topic that
aodh-listener consumes (``alarm.all`` by default).

Usage: python send_event.py TRANSPORT_URL TOPIC EVENT_JSON
"""

import json
import sys

from oslo_config import cfg
import oslo_messaging

url, topic, event = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
conf = cfg.ConfigOpts()
conf([])
transport = oslo_messaging.get_notification_transport(conf, url=url)
notifier = oslo_messaging.Notifier(transport, driver="messagingv2",
                                   publisher_id="ceilometer.test",
                                   topics=[topic])
notifier.sample({}, event["event_type"], [event])
transport.cleanup()
