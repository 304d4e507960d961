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
"""Derive a "thumbnail" of every object uploaded to a Swift container.

Run by an Aodh ``event`` alarm on Ceilometer's ``objectstore.http.request``
events, through a Qinling webhook (see README.rst). The alarm's
``reason_data`` carries the event, whose traits name the container and
the object. The function reads the object with the session Qinling gives
it (acting as the function's owner, through a Keystone trust) and writes
the derived object to the ``thumbnails`` container under the same name.

The "thumbnail" is the object's text in upper case, a stand-in for real
image processing, which would need an imaging library in the runtime.
"""

from urllib import parse

THUMBNAILS = "thumbnails"

# The traits that Ceilometer's event definitions give objectstore events.
CONTAINER_TRAIT = "target_metadata_container"
OBJECT_TRAIT = "target_metadata_object"


def _alarm(kwargs):
    """The alarm document, from a raw or a ``cloudevents`` webhook."""
    if kwargs.get("specversion"):
        return kwargs.get("data") or {}
    return kwargs


def _traits(event):
    # Aodh sends each trait as [name, type, value].
    return {trait[0]: trait[2] for trait in event.get("traits", [])}


def make_thumbnail(data):
    return data.decode("utf-8", "replace").upper().encode("utf-8")


def main(context, **kwargs):
    event = (_alarm(kwargs).get("reason_data") or {}).get("event") or {}
    traits = _traits(event)
    container = traits.get(CONTAINER_TRAIT)
    name = traits.get(OBJECT_TRAIT)
    if not container or not name or container == THUMBNAILS:
        print("Nothing to do for event %s (%s)" % (
            event.get("message_id"), event.get("event_type")))
        return {"skipped": event.get("event_type")}

    session = context["os_session"]
    if session is None:
        raise RuntimeError("No os_session: this function needs Qinling "
                           "with Keystone authentication.")
    swift = session.get_endpoint(service_type="object-store",
                                 interface="public").rstrip("/")
    source = "%s/%s/%s" % (swift, parse.quote(container), parse.quote(name))
    original = session.get(source).content
    thumbnail = make_thumbnail(original)

    session.put("%s/%s" % (swift, THUMBNAILS))  # creates it if need be
    session.put("%s/%s/%s" % (swift, THUMBNAILS, parse.quote(name)),
                data=thumbnail, headers={
                    "Content-Type": "text/plain; charset=utf-8",
                    "X-Object-Meta-Source": "%s/%s" % (container, name),
                    "X-Object-Meta-Source-Bytes": str(len(original))})
    print("Wrote %s/%s (%d bytes) from %s/%s (%d bytes)" % (
        THUMBNAILS, name, len(thumbnail), container, name, len(original)))
    return {"source": "%s/%s" % (container, name),
            "thumbnail": "%s/%s" % (THUMBNAILS, name),
            "bytes": len(original)}
