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
"""The rules every other policy builds on: the personas of OpenStack's
secure RBAC defaults.

Every operation's rule names a persona:

* ``READER``: a project's reader (or member, or admin: Keystone's implied
  roles give them ``reader`` too) may list and show its resources;
* ``MEMBER``: a project's member may create, run, update and delete them;
* ``ADMIN``: the operations of administrators.

The rules before these personas (``rule:admin_or_owner``: any role in the
resource's project) stay as deprecated rules: until
``[oslo_policy]enforce_new_defaults`` is turned on, either the new or the
old check allows a caller, so existing deployments keep working. Qinling
defaults ``enforce_new_defaults`` to false (see ``qinling.conf``).

All rules are project-scoped (``scope_types = ["project"]``).
"""

import collections

from oslo_policy import policy

#: the first release with the secure RBAC defaults.
DEPRECATED_SINCE = "2026.1"
DEPRECATED_REASON = (
    "Qinling's policies now have the project reader, member and admin "
    "personas of secure RBAC: a reader can list and show, a member can "
    "also create, run, update and delete. The old rule allowed any role "
    "of the project.")

Persona = collections.namedtuple("Persona", ["check", "deprecated"])

READER = Persona("rule:project_reader_or_admin", "rule:admin_or_owner")
MEMBER = Persona("rule:project_member_or_admin", "rule:admin_or_owner")
ADMIN = Persona("rule:context_is_admin", None)
#: runtimes are shared: any reader lists them (anyone did before).
ANY_READER = Persona("rule:reader_or_admin", "")

rules = [
    policy.RuleDefault(
        "context_is_admin", "role:admin or is_admin:True",
        description="The caller is an administrator."),
    policy.RuleDefault(
        "owner", "project_id:%(project_id)s",
        description="The caller's project owns the resource."),
    policy.RuleDefault(
        "admin_or_owner", "rule:context_is_admin or rule:owner",
        description="An administrator, or the resource's owner (deprecated "
                    "persona: any role of the project)."),
    policy.RuleDefault(
        "project_reader", "role:reader and project_id:%(project_id)s",
        description="A reader (or more) of the resource's project."),
    policy.RuleDefault(
        "project_member", "role:member and project_id:%(project_id)s",
        description="A member (or more) of the resource's project."),
    policy.RuleDefault(
        "project_reader_or_admin",
        "rule:context_is_admin or rule:project_reader",
        description="An administrator, or a reader of the resource's "
                    "project."),
    policy.RuleDefault(
        "project_member_or_admin",
        "rule:context_is_admin or rule:project_member",
        description="An administrator, or a member of the resource's "
                    "project."),
    policy.RuleDefault(
        "reader_or_admin", "rule:context_is_admin or role:reader",
        description="An administrator, or a reader of any project."),
    policy.RuleDefault(
        "default", "rule:project_member_or_admin",
        description="Rules not named elsewhere."),
]


def rule(name, persona, description, method, path):
    """A documented, project-scoped rule for one API operation.

    :param persona: ``READER``, ``MEMBER``, ``ADMIN`` or ``ANY_READER``.
    """
    deprecated = None
    if persona.deprecated is not None:
        deprecated = policy.DeprecatedRule(
            name, persona.deprecated, deprecated_reason=DEPRECATED_REASON,
            deprecated_since=DEPRECATED_SINCE)
    return policy.DocumentedRuleDefault(
        name, persona.check, description, [{"method": method, "path": path}],
        scope_types=["project"], deprecated_rule=deprecated)


def owned_resource_rules(prefix, path, one, many,
                         actions=("create", "get", "get_all", "update",
                                  "delete")):
    """Rules of a resource its project manages and admins list everywhere.

    :param prefix: the rule name prefix, such as ``job``.
    :param path: the collection's path; an item is ``<path>/{id}``.
    :param one: the resource's name, with its article (``a job``).
    :param many: the plural (``jobs``).
    """
    item = path + "/{id}"
    operations = {
        "create": (MEMBER, "Create %s." % one, "POST", path),
        "get": (READER, "Show %s." % one, "GET", item),
        "get_all": (READER, "List %s." % many, "GET", path),
        "update": (MEMBER, "Update %s." % one, "PUT", item),
        "delete": (MEMBER, "Delete %s." % one, "DELETE", item),
    }
    result = [rule("%s:%s" % (prefix, action), *operations[action])
              for action in actions]
    result.append(rule("%s:get_all:all_projects" % prefix, ADMIN,
                       "List the %s of every project." % many, "GET", path))
    return result


def list_rules():
    return rules
