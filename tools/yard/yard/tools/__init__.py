"""Hook tools: what ``config-get``, ``relation-set`` and friends do in a yard machine.

* :mod:`yard.tools.client` -- the stdlib-only ``jujuc`` installed in machines
  (one symlink per tool) that forwards argv, cwd and ``JUJU_CONTEXT_ID``.
* :mod:`yard.tools.server` -- ``ToolServer`` (the socket end, wire protocol in
  its docstring), ``run_tool``, ``TOOL_NAMES``, ``ToolResult``.
* :mod:`yard.tools.commands` -- one small function per tool, Juju 3.6's flags,
  outputs, error texts and exit codes, over :class:`yard.context.HookContext`.
* :mod:`yard.tools.flags` / :mod:`yard.tools.formats` -- gnuflag-style parsing
  and juju/cmd's ``smart``/``json``/``yaml`` output.
* ``jujud`` -- the version stub charmhelpers' ``juju_version()`` runs.
"""
