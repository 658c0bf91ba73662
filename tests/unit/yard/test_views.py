"""The views' caches: a unit's view is the same as computed afresh after every kind of change."""

from yard.controller import Controller
from yard.model import (Application, Bag, LocalState, Machine, ModelState, RelEnd, Relation,
                        Task, Unit)
from yard.provider.local import LocalProvider
from yard_harness import TINY

NAMES = ["tiny/0", "tiny/1", "tiny/2"]


def controller(tmp_path):
    """A controller (not started) holding three units of one peer relation, all in scope."""
    ctl = Controller(str(tmp_path / "home"), "views",
                     provider=LocalProvider("views", root=str(tmp_path / "machines")))
    units = {n: Unit(name=n, app="tiny", machine=str(i), local=LocalState(installed=True))
             for i, n in enumerate(NAMES)}
    machines = {str(i): Machine(id=str(i), status="started") for i in range(3)}
    rel = Relation(id=0, ends=(RelEnd("tiny", "cluster", "peers", "tiny-cluster"),),
                   in_scope=tuple(NAMES))
    bags = {"0|" + n: Bag({"k": "v"}, version=1) for n in NAMES}
    state = ModelState(name="views", uuid="u", provider="local",
                       applications={"tiny": Application("tiny", TINY, "tiny", leader=NAMES[0])},
                       units=units, machines=machines, relations={0: rel}, bags=bags)
    fields = ("applications", "units", "machines", "relations", "bags")
    ctl._set(**{f: getattr(state, f) for f in fields})
    return ctl


def fresh(ctl, unit):
    """The view of ``unit`` with the caches emptied first."""
    ctl.member_cache.clear()
    ctl.task_cache = (None, {})
    return ctl.remote_state(ctl.state.units[unit])


def members(ctl, unit):
    view = ctl.remote_state(ctl.state.units[unit])
    assert view.relations == fresh(ctl, unit).relations
    return view.relations[0].members


def test_members_follow_every_change(tmp_path):
    ctl = controller(tmp_path)
    try:
        assert members(ctl, "tiny/0") == {"tiny/1": 1, "tiny/2": 1}
        ctl._set(bags=dict(ctl.state.bags, **{"0|tiny/1": Bag({"k": "w"}, version=2)}))
        assert members(ctl, "tiny/0") == {"tiny/1": 2, "tiny/2": 1}
        ctl.update_unit("tiny/2", alive=False)  # dying: no longer a member of the others
        assert members(ctl, "tiny/0") == {"tiny/1": 2}
        ctl._update_machine("2", status="down")  # a lost agent cannot say it departs
        assert members(ctl, "tiny/0") == {"tiny/1": 2, "tiny/2": 1}
        ctl._leave_scope("tiny/1", 0)
        assert members(ctl, "tiny/0") == {"tiny/2": 1}
        ctl._remove_unit_now("tiny/2")
        assert members(ctl, "tiny/0") == {}
        assert members(ctl, "tiny/1") == {"tiny/0": 1}
    finally:
        ctl.store.close()


def test_a_unit_change_others_do_not_see_keeps_the_cache(tmp_path):
    ctl = controller(tmp_path)
    try:
        ctl.remote_state(ctl.state.units["tiny/0"])
        cached = ctl.member_cache[0]
        ctl.update_unit("tiny/1", failures=3, local=LocalState(installed=True, started=True))
        ctl.remote_state(ctl.state.units["tiny/0"])
        assert ctl.member_cache[0] is cached
        assert members(ctl, "tiny/0") == {"tiny/1": 1, "tiny/2": 1}
    finally:
        ctl.store.close()


def test_pending_tasks_follow_the_tasks(tmp_path):
    ctl = controller(tmp_path)
    try:
        tasks = {1: Task(1, "tiny/0", "a"), 2: Task(2, "tiny/0", "juju-exec", kind="exec"),
                 3: Task(3, "tiny/1", "b"), 4: Task(4, "tiny/0", "c", status="completed"),
                 5: Task(5, "tiny/0", "d")}
        ctl._set(tasks=tasks)
        view = ctl.remote_state(ctl.state.units["tiny/0"])
        assert (view.actions, view.execs) == ((1, 5), (2,))
        with ctl.cond:
            ctl._update_task(1, status="running")
        view = ctl.remote_state(ctl.state.units["tiny/0"])
        assert (view.actions, view.execs) == ((5,), (2,))
        assert view == fresh(ctl, "tiny/0")
    finally:
        ctl.store.close()
