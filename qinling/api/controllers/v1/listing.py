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
"""Lists: upstream's filter syntax, and the OpenStack paging convention.

Every collection takes ``limit``, ``marker``, ``sort_key`` and ``sort_dir``
and answers at most ``[api]max_limit`` items, with a ``next`` link when
more may follow. String filters take upstream's operator prefixes:
``eq:``, ``neq:``, ``gt:``, ``gte:``, ``lt:``, ``lte:``, ``in:a,b``,
``nin:a,b`` and ``has:`` (a substring); no prefix means ``eq``.
"""

import urllib.parse

import pecan
from wsme import types as wtypes

from qinling import exceptions
from qinling.api import acl
from qinling.db import api as db_api

OPERATOR_PREFIXES = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "nin",
                     "has")
SORT_DIRS = ("asc", "desc")


def parse_filter(column, raw):
    """``"in:a,b"`` → ``(column, "in", ["a", "b"])``."""
    op, sep, value = raw.partition(":")
    if not sep or op not in OPERATOR_PREFIXES:
        return column, "eq", raw
    if op in ("in", "nin"):
        return column, op, [v for v in value.split(",") if v]
    return column, op, value


def build(filters=None, limit=None, marker=None, sort_key=None,
          sort_dir=None, all_projects=False, project_id=None, policy=None):
    """Turn a list request's query arguments into a ListQuery.

    :param filters: ``{column: raw filter string or None}``.
    :param policy: the resource's policy prefix; listing every project
        needs ``<policy>:get_all:all_projects``.
    """
    max_limit = pecan.request.conf.api.max_limit
    if limit is not None and limit < 1:
        raise exceptions.InputException(
            "Invalid limit %s: it must be a positive integer." % limit)
    limit = min(limit or max_limit, max_limit)
    sort_dir = (sort_dir or "asc").lower()
    if sort_dir not in SORT_DIRS:
        raise exceptions.InputException(
            "Invalid sort_dir %s: expected asc or desc." % sort_dir)
    parsed = tuple(parse_filter(column, raw)
                   for column, raw in (filters or {}).items()
                   if raw is not None)
    if all_projects or project_id:
        try:
            if policy is None:
                if not pecan.request.context.is_admin:
                    raise exceptions.NotAllowedException()
            else:
                acl.enforce(policy + ":get_all:all_projects")
        except exceptions.NotAllowedException:
            if all_projects:
                raise
            # Upstream crashed here (its bug 1); a non-admin's project_id
            # is ignored, so other projects stay hidden.
            project_id = None
    return db_api.ListQuery(
        filters=parsed, limit=limit, marker=marker,
        sort_key=sort_key or "created_at", sort_dir=sort_dir,
        all_projects=bool(all_projects or project_id),
        project_id=project_id)


def next_link(rows, list_query):
    """The URL of the next page, or Unset when this page is the last."""
    if len(rows) < list_query.limit:
        return wtypes.Unset
    req = pecan.request
    params = [(k, v) for k, v in req.GET.items() if k != "marker"]
    params.append(("marker", rows[-1].id))
    if "limit" not in req.GET:
        params.append(("limit", str(list_query.limit)))
    return "%s%s?%s" % (req.host_url, req.path,
                        urllib.parse.urlencode(params))
