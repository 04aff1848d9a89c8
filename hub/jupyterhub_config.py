"""JupyterHub configuration of a scoreaug_lab class (JupyterHub 6, configurable-http-proxy from npm).

`scoreaug-lab course hub --students N` (or `make hub`) creates the accounts, the students' environment, the shared
run store and the exchange, writes their places into a settings file and starts `jupyterhub -f` this file with
SCOREAUG_HUB_SETTINGS naming it. For a hub of your own, keep this file and change what the settings name: the
authenticator (a shared password is for a demo; use PAM or OAuth for a class), the limits, the culler's timeout.
"""
import json
import os
import sys

c = get_config()  # noqa: F821  (provided by JupyterHub)
s = json.loads(open(os.environ["SCOREAUG_HUB_SETTINGS"]).read())

c.JupyterHub.ip = s["ip"]
c.JupyterHub.port = s["port"]
c.JupyterHub.hub_port = s["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s['proxy_api_port']}"
c.JupyterHub.db_url = f"sqlite:///{s['hub_dir']}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{s['hub_dir']}/jupyterhub_cookie_secret"
c.ConfigurableHTTPProxy.pid_file = f"{s['hub_dir']}/jupyterhub-proxy.pid"

# Logins: the instructor is the hub's admin; students log in with the class password (demo only).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = s["password"]
c.SharedPasswordAuthenticator.admin_password = s["admin_password"]
c.Authenticator.allowed_users = set(s["students"])
c.Authenticator.admin_users = {s["instructor"]}

# Each server runs as its Unix user, from the students' environment (the toolkit's wheel, no course inside), one torch
# thread per kernel, inside the user's memory and cpu cgroups (scoreaug_lab/course/hub_spawner.py).
c.JupyterHub.spawner_class = "scoreaug_lab.course.hub_spawner.ClassSpawner"
c.ClassSpawner.cgroup_scope = s["cgroup_scope"]
c.Spawner.cmd = [s["python"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = s["mem_limit"]
c.Spawner.cpu_limit = s["cpu_limit"]
def _who(spawner) -> str:
    return "instructor" if spawner.user.name == s["instructor"] else "students"


# SCOREAUG_RUNS (the shared store), Jupyter's paths; per user: the nbgrader config (the students' has the instructor's
# tools switched off; the instructor's names the course, whose Formgrader tab then lists the assignments)
c.Spawner.environment = {
    **s["environment"],
    "JUPYTER_CONFIG_PATH": lambda spawner: s["config_path"][_who(spawner)],
    **{k: (lambda spawner, v=v: v if _who(spawner) == "instructor" else "")
       for k, v in s["instructor_environment"].items()},
}
c.Spawner.env_keep = ["LANG", "LC_ALL"]          # PATH comes from the settings: the students' environment first
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180
c.JupyterHub.concurrent_spawn_limit = 0

# Services: the idle culler stops servers idle for `cull_seconds` (their kernels die, and with them any store lock
# they held); the class service (its token known to the `course hub` command) starts servers and makes tokens.
c.JupyterHub.services = [
    {"name": "idle-culler", "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                                        f"--timeout={s['cull_seconds']}", "--cull-every=60"]},
    {"name": "scoreaug-class", "api_token": s["service_token"]},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "scoreaug-class", "services": ["scoreaug-class"],
     "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users", "read:users"]},
]
