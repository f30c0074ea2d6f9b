"""JupyterHub for a class: the course environment, nbgrader's exchange, instructor and student roles.

Run as root from the course environment (``jupyterhub -f hub/jupyterhub_config.py``, README
"Teaching a class"). Everything that differs between classes comes from the environment:

COURSE_ROOT          the instructor's course folder (default: the checkout holding this file)
COURSE_ID            nbgrader's course id (default: dl-foundations, as in nbgrader_config.py)
COURSE_INSTRUCTORS   unix users who grade, comma-separated (they reach the formgrader)
COURSE_STUDENTS      unix users who take the course, comma-separated
COURSE_GRADER        the unix user the formgrader service runs as (default: the first instructor)
COURSE_PYTHON        the course environment's python for every server (default: this hub's)
NBGRADER_EXCHANGE    nbgrader's exchange folder (default: /srv/nbgrader/exchange)
COURSE_DB_URL        the shared gradebook, e.g. postgresql://grader@db/gradebook (default:
                     gradebook.db, SQLite, in COURSE_ROOT)
COURSE_HUB_URL       where the hub answers (default: http://:8000)
COURSE_HUB_PORT, COURSE_PROXY_API_PORT, COURSE_FORMGRADER_PORT
                     loopback ports of the hub's API, the proxy's API and the formgrader service
                     (defaults 8081, 8001, 9999)

Roles follow nbgrader's multiple-course convention: group ``nbgrader-<course>`` holds the class
(students and instructors), ``formgrade-<course>`` the instructors, the only ones whose scopes
reach the formgrader service ``<course>``. Users log in with their system password (PAM).
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - injected by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _names(variable: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]


course_root = Path(os.environ.get("COURSE_ROOT", REPO)).resolve()
course_id = os.environ.get("COURSE_ID", "dl-foundations")
instructors = _names("COURSE_INSTRUCTORS")
students = _names("COURSE_STUDENTS")
grader = os.environ.get("COURSE_GRADER") or (instructors[0] if instructors else None)
python = os.environ.get("COURSE_PYTHON", sys.executable)
env_bin = str(Path(python).parent)
exchange = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
if not instructors:
    raise SystemExit("hub/jupyterhub_config.py: COURSE_INSTRUCTORS names no instructor")

# What every server of the class gets: the course environment first on PATH (nbgrader runs
# `alembic` by name), the class's nbgrader settings (hub/jupyter/) and the course's lab settings,
# the exchange, the gradebook, one BLAS thread per kernel. JupyterHub passes little else.
server_env = {
    "PATH": os.pathsep.join([env_bin, "/usr/local/bin", "/usr/bin", "/bin"]),
    "JUPYTER_CONFIG_PATH": os.pathsep.join([str(HERE / "jupyter"), str(REPO / "jupyter-config")]),
    "NBGRADER_EXCHANGE": exchange,
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
}
if os.environ.get("COURSE_DB_URL"):
    server_env["COURSE_DB_URL"] = os.environ["COURSE_DB_URL"]

c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://:8000")
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('COURSE_HUB_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('COURSE_PROXY_API_PORT', '8001')}"
# The proxy from PyPI (configurable-http-proxy, beside this python); else npm's on PATH.
proxy = Path(sys.executable).parent / "configurable-http-proxy"
if proxy.exists():
    c.ConfigurableHTTPProxy.command = [str(proxy)]

c.Authenticator.allowed_users = set(instructors) | set(students)
c.Authenticator.admin_users = set()  # instructors grade; they do not administer the hub

c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = server_env
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

formgrade, klass = f"formgrade-{course_id}", f"nbgrader-{course_id}"
c.JupyterHub.load_groups = {
    formgrade: {"users": instructors},
    klass: {"users": sorted(set(instructors) | set(students))},
}
c.JupyterHub.load_roles = [
    # nbgrader's lab extensions ask the hub which courses their user is in (the user's groups).
    {"name": "server", "scopes": ["users:activity!user", "access:servers!server",
                                  "read:users:groups!user", "read:users:name!user"]},
    {"name": f"instructor-{course_id}", "groups": [formgrade],
     "scopes": [f"access:services!service={course_id}"]},
    # The formgrader adds students to the class group when the instructor adds them.
    {"name": f"formgrader-{course_id}", "services": [course_id],
     "scopes": ["list:users", "read:users:groups", "read:users:name", "list:groups", "groups"]},
]

# The formgrader: one Jupyter server on the course folder, run as the grader, a hub service that
# only the formgrade group reaches (students get 403). Grading a class is `course autograde` in
# the same folder (README: every protection of the sandbox needs root).
c.JupyterHub.services = [{
    "name": course_id,
    "url": f"http://127.0.0.1:{os.environ.get('COURSE_FORMGRADER_PORT', '9999')}",
    "command": [python, "-m", "jupyterhub.singleuser", f"--ServerApp.root_dir={course_root}"],
    "user": grader,
    "cwd": str(course_root),
    "environment": {**server_env, "JUPYTERHUB_DEFAULT_URL": "/formgrader"},
    "oauth_no_confirm": True,
}]
