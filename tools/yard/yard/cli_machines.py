"""CLI verbs for machines and removal: kill-machine, remove-machine,
retry-provisioning, remove-unit and remove-application (with ``--force``).
"""

import sys

from yard import cli


def cmd_remove_unit(c: cli.Client, a) -> int:
    res = c.call("remove-unit", units=a.units, force=a.force, no_wait=a.no_wait,
                 destroy_storage=a.destroy_storage)
    print(res.get("message", ""), file=sys.stderr)
    return cli._maybe_wait(c, a)


def cmd_remove_application(c: cli.Client, a) -> int:
    res = c.call("remove-application", apps=a.apps, force=a.force, no_wait=a.no_wait,
                 destroy_storage=a.destroy_storage)
    print(res.get("message", ""), file=sys.stderr)
    return cli._maybe_wait(c, a)


def cmd_remove_machine(c: cli.Client, a) -> int:
    """Juju prints one line per machine on stderr and exits 1 if any failed (ErrSilent)."""
    res = c.call("remove-machine", machines=[str(m) for m in a.machines], force=a.force,
                 no_wait=a.no_wait)
    if res["message"]:
        print(res["message"], file=sys.stderr)
    if res["failed"]:
        return 1
    return cli._maybe_wait(c, a)


def cmd_retry_provisioning(c: cli.Client, a) -> int:
    c.call("retry-provisioning", machines=[str(m) for m in a.machines])
    return 0


def cmd_kill_machine(c: cli.Client, a) -> int:
    c.call("kill-machine", machine=str(a.machine))
    return 0


def _add_force(sp) -> None:
    sp.add_argument("--force", action="store_true",
                    help="remove even if hooks cannot run (after 1 minute)")
    sp.add_argument("--no-wait", action="store_true",
                    help="with --force: do not wait for a clean removal")


def register(add) -> None:
    """Add this module's verbs to the parser (see ``cli.build_parser``)."""
    for verb, fn, what, help_ in (
            ("remove-unit", cmd_remove_unit, "units", "remove units"),
            ("remove-application", cmd_remove_application, "apps", "remove applications"),
            ("remove-machine", cmd_remove_machine, "machines",
             "remove machines (--force: with their units)")):
        sp = add(verb, fn, help_)
        sp.add_argument(what, nargs="+")
        sp.add_argument("--no-prompt", action="store_true")
        _add_force(sp)
        cli._add_wait(sp)

    sp = add("retry-provisioning", cmd_retry_provisioning, "start machines that failed again")
    sp.add_argument("machines", nargs="+")

    sp = add("kill-machine", cmd_kill_machine,
             "stop a machine behind the model's back: its agents are lost (fault injection)")
    sp.add_argument("machine")
