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
"""The rules every other policy builds on."""

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
OWNER = "rule:owner"
ADMIN_OR_OWNER = "rule:admin_or_owner"

rules = [
    policy.RuleDefault(
        "context_is_admin", "role:admin or is_admin:True",
        description="The caller is an administrator."),
    policy.RuleDefault(
        "owner", "project_id:%(project_id)s",
        description="The caller's project owns the resource."),
    policy.RuleDefault(
        "admin_or_owner", "rule:context_is_admin or rule:owner",
        description="An administrator, or the resource's owner."),
    policy.RuleDefault(
        "default", "rule:admin_or_owner",
        description="Rules not named elsewhere."),
]


def rule(name, check, description, method, path):
    """A documented rule for one API operation."""
    return policy.DocumentedRuleDefault(
        name, check, description, [{"method": method, "path": path}])


def owned_resource_rules(prefix, path, one, many,
                         actions=("create", "get", "get_all", "update",
                                  "delete")):
    """Rules of a resource its owner manages and admins list everywhere.

    :param prefix: the rule name prefix, such as ``job``.
    :param path: the collection's path; an item is ``<path>/{id}``.
    :param one: the resource's name, with its article (``a job``).
    :param many: the plural (``jobs``).
    """
    item = path + "/{id}"
    operations = {
        "create": ("Create %s." % one, "POST", path),
        "get": ("Show %s." % one, "GET", item),
        "get_all": ("List %s." % many, "GET", path),
        "update": ("Update %s." % one, "PUT", item),
        "delete": ("Delete %s." % one, "DELETE", item),
    }
    result = [rule("%s:%s" % (prefix, action), ADMIN_OR_OWNER,
                   *operations[action]) for action in actions]
    result.append(rule("%s:get_all:all_projects" % prefix, ADMIN,
                       "List the %s of every project." % many, "GET", path))
    return result


def list_rules():
    return rules
