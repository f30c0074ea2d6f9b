"""nbgrader settings of every server on the class's hub (students' labs and the formgrader).

The hub puts this folder on JUPYTER_CONFIG_PATH (hub/jupyterhub_config.py). The course folder's
own nbgrader_config.py comes on top of it for the formgrader and for `course`.
"""

import os

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 - injected by traitlets when nbgrader loads this file

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
# Several courses on one hub: each student's copy goes to <home>/<course_id>/<assignment>/.
c.Exchange.path_includes_course = True
# Who is in which course: the hub's groups nbgrader-<course> and formgrade-<course>.
c.Authenticator.plugin_class = JupyterHubAuthPlugin
