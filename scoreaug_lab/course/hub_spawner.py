"""JupyterHub's LocalProcessSpawner (each student's server runs as that Unix user) with real per-user limits: before
dropping to the user, the server process joins the user's memory and cpu cgroups (`hub_users.UserLimits`), so a
student's kernels together get at most `mem_limit` bytes and `cpu_limit` cores. Where cgroups cannot be created the
limits stay advisory (JupyterHub passes them to the server as MEM_LIMIT / CPU_LIMIT, nothing enforces them)."""
from __future__ import annotations

import os

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from .hub_users import UserLimits


class ClassSpawner(LocalProcessSpawner):
    cgroup_scope = Unicode("scoreaug-hub", config=True, help="the cgroup folder holding one group per student")

    def make_preexec_fn(self, name):
        become_user = super().make_preexec_fn(name)
        limits = UserLimits(self.cgroup_scope, self.mem_limit or 0, self.cpu_limit or 0)
        if limits.available and self.mem_limit and self.cpu_limit:
            limits.create(name)
        else:
            limits = None

        def preexec():
            if limits is not None:
                limits.join(name)
            os.umask(0o022)
            become_user()

        return preexec


__all__ = ["ClassSpawner"]
