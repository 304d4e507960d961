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
"""Policy checks of the API: ``enforce`` in every controller method.

The rules are defined in code (``qinling.policies``) and may be
overridden in ``[oslo_policy]policy_file``. With ``[pecan]auth_enable``
off nothing is enforced (upstream's behaviour): every caller is the same
anonymous user of the project ``default``.
"""

from oslo_policy import policy
import pecan

from qinling import exceptions
from qinling import policies


def build_enforcer(conf):
    """The application's policy enforcer, or None when auth is off."""
    if not conf.pecan.auth_enable:
        return None
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def get_enforcer():
    """For oslopolicy-policy-generator and oslopolicy-checker."""
    from qinling import conf
    enforcer = policy.Enforcer(conf.CONF)
    enforcer.register_defaults(policies.list_rules())
    return enforcer


def enforce(action, target=None):
    """Check the current request's caller against the rule ``action``.

    :param target: the resource's attributes; by default the caller's own
        project, so owner rules pass and ownership is left to the
        project-scoped database lookups.
    :raises NotAllowedException: the rule refuses the caller.
    """
    enforcer = pecan.request.enforcer
    if enforcer is None:
        return
    ctx = pecan.request.context
    target = target or {"project_id": ctx.project_id,
                        "user_id": ctx.user_id}
    enforcer.authorize(action, target, ctx, do_raise=True,
                       exc=exceptions.NotAllowedException)
