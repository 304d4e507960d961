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
"""Price each order posted to a Zaqar queue.

Zaqar POSTs every message of the queue to the webhook of this function
(see README.rst); a message's body is an order::

    {"order_id": "A-1001", "items": [{"sku": "pen", "qty": 3, "price": 1.5}]}

With a raw webhook the function is called with the message envelope
(``body``, ``queue_name``, ``ttl``, ``Message_Type``); with a
``cloudevents`` webhook, with a CloudEvent whose ``data`` is the body and
whose ``source`` is ``/zaqar/queues/<queue>``. It handles both.
"""


def _message(kwargs):
    """(queue name, message body) of a raw or a CloudEvents delivery."""
    if kwargs.get("specversion"):
        return kwargs.get("source", "").rsplit("/", 1)[-1], \
            kwargs.get("data")
    return kwargs.get("queue_name"), kwargs.get("body")


def main(**kwargs):
    kwargs.pop("context", None)
    queue, order = _message(kwargs)
    if not isinstance(order, dict) or "order_id" not in order:
        print("Skipping a message on %s that is not an order: %r"
              % (queue, order))
        return {"queue": queue, "skipped": True}
    items = order.get("items") or []
    total = round(sum(item["qty"] * item["price"] for item in items), 2)
    print("Order %s from queue %s: %d item(s), total %.2f"
          % (order["order_id"], queue, len(items), total))
    return {"queue": queue, "order_id": order["order_id"],
            "items": sum(item["qty"] for item in items), "total": total}
