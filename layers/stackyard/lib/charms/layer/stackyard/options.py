"""Config validation and unit-level overrides: the config a unit acts on.

The effective config of a unit is the application's config with this unit's
entry of ``unit-overrides`` laid over it.  Overrides apply only to options the
charm marks overridable (debug, log levels and the like), may carry an
``expires`` timestamp, and are checked like any other value.

While anything is invalid the unit is blocked naming the option and the
reason, and it keeps acting on the last good effective config: nothing is
re-rendered and nothing restarts.

``unit-overrides`` looks like::

    web/1:
      debug: true
      expires: 2026-11-22T18:00:00Z     # optional; UTC (or an epoch number)
"""

import datetime
import hashlib
import json
import os

import yaml
from charmhelpers.core import hookenv, unitdata

GOOD_KEY = 'stackyard.options.last-good'
OVERRIDES = 'unit-overrides'
EXPIRES = 'expires'

_rules = {}
_overridable = set()


class Invalid(ValueError):
    """A reason a value cannot be used, worded for "Invalid config: <option>: ..."."""


def reason(parse, value):
    """A rule's answer from a parser: None when ``parse(value)`` passes, else its reason.

    :param parse: a callable raising :class:`Invalid` on a bad value
    """
    try:
        parse(value)
    except Invalid as e:
        return str(e)
    return None


def _not_yaml(error):
    mark = getattr(error, 'problem_mark', None)
    return 'not valid YAML{}'.format(' at line {}'.format(mark.line + 1) if mark else '')


def yaml_option(text, kind, shape):
    """The ``kind`` (list or dict) a YAML option holds, empty when the option is.

    :param shape: what it must be, for the message (``"a YAML list of proxies"``)
    :raises Invalid: broken YAML (naming the line) or not a ``kind``
    """
    try:
        data = yaml.safe_load(text or '')
    except yaml.YAMLError as e:
        raise Invalid(_not_yaml(e)) from None
    if data is None:
        return kind()
    if not isinstance(data, kind):
        raise Invalid('must be ' + shape)
    return data


def rule(option):
    """Register a validator for ``option`` (decorator).

    The validator gets the value and returns ``None`` when it is fine or a
    short reason ("must be 0 or more") otherwise.
    """
    def register(fn):
        _rules.setdefault(option, []).append(fn)
        return fn
    return register


def overridable(*options):
    """Mark options that ``unit-overrides`` may set per unit."""
    _overridable.update(options)


def declared_options():
    """``{option: spec}`` from the charm's config.yaml (``{}`` if it has none)."""
    path = os.path.join(hookenv.charm_dir(), 'config.yaml')
    try:
        with open(path) as f:
            return (yaml.safe_load(f) or {}).get('options') or {}
    except OSError:
        return {}


def option_types():
    """``{option: type}`` from the charm's config.yaml."""
    return {name: (spec or {}).get('type', 'string')
            for name, spec in declared_options().items()}


def _type_problem(kind, value):
    checks = {
        'int': lambda v: isinstance(v, int) and not isinstance(v, bool),
        'float': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        'boolean': lambda v: isinstance(v, bool),
        'string': lambda v: isinstance(v, str),
    }
    ok = checks.get(kind, lambda v: True)(value)
    return None if ok else 'must be of type {}, not {!r}'.format(kind, value)


def parse_expiry(value):
    """Seconds since the epoch from an ``expires`` value.

    :raises ValueError: if it is neither a number nor an ISO 8601 timestamp
    """
    if isinstance(value, bool):
        raise ValueError('expires must be a timestamp, not {!r}'.format(value))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        stamp = value
    else:
        text = str(value).strip().replace('Z', '+00:00')
        try:
            stamp = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError('expires {!r} is not an ISO 8601 timestamp'.format(value))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp()


def _load_overrides(text):
    """``(mapping, problem)`` from the option's YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return None, 'unit-overrides is ' + _not_yaml(e)
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return None, 'unit-overrides must map unit names to options'
    return data, None


def all_overrides(text):
    """``{unit: {option: value}}`` of every unit's entry, None when the text is not
    such a mapping."""
    data, problem = _load_overrides(text or '')
    if problem or not all(isinstance(e, dict) for e in data.values()):
        return None
    return data


def _entry_problems(name, entry, types, allowed):
    """Problems of one unit's entry that apply whichever unit reads it."""
    if not isinstance(entry, dict):
        return ['unit-overrides: {} must map options to values'.format(name)]
    problems = []
    for option in entry:
        if option == EXPIRES:
            continue
        if option not in types:
            problems.append('unit-overrides: {} sets unknown option {}'.format(name, option))
        elif option not in allowed:
            problems.append('unit-overrides: {} may not be overridden per unit '
                            '(overridable: {})'.format(option,
                                                       ', '.join(sorted(allowed)) or 'none'))
    return problems


def _own_entry(unit, entry, types):
    """``(overrides, expires_at, problems)`` of this unit's own entry."""
    problems = []
    expires_at = None
    if EXPIRES in entry:
        try:
            expires_at = parse_expiry(entry[EXPIRES])
        except ValueError as e:
            problems.append('unit-overrides: {}: {}'.format(unit, e))
    overrides = {k: v for k, v in entry.items() if k != EXPIRES}
    for option, value in sorted(overrides.items()):
        problem = _type_problem(types[option], value) if option in types else None
        if problem:
            problems.append('unit-overrides: {} {}'.format(option, problem))
    return overrides, expires_at, problems


def parse_overrides(text, unit, types, allowed, now):
    """This unit's overrides from the ``unit-overrides`` text (YAML).

    Other units' entries are checked too, so every unit reports a mistake.

    :param types: ``{option: juju type}``; ``allowed``: overridable options
    :returns: ``(overrides, expires_at or None, problems)``; an expired entry
        gives ``({}, None, [])``
    """
    if not text or not text.strip():
        return {}, None, []
    data, problem = _load_overrides(text)
    if problem:
        return {}, None, [problem]
    problems = []
    for name, entry in data.items():
        problems += _entry_problems(name, entry, types, allowed)
    mine = data.get(unit) if isinstance(data.get(unit), dict) else {}
    overrides, expires_at, own = _own_entry(unit, mine, types)
    problems += own
    if problems:
        return {}, None, problems
    if expires_at is not None and expires_at <= now:
        return {}, None, []
    return overrides, expires_at, []


def check_values(values, rules=None):
    """Problems from the registered validators: ``["option: reason", ...]``."""
    problems = []
    for option, fns in sorted((rules if rules is not None else _rules).items()):
        for fn in fns:
            reason = fn(values.get(option))
            if reason:
                problems.append('{}: {}'.format(option, reason))
    return problems


def evaluate(now=None):
    """The unit's effective config and what is wrong with it.

    :returns: ``(effective dict, expires_at or None, problems)``
    """
    config = dict(hookenv.config())
    overrides, expires_at, problems = parse_overrides(
        config.get(OVERRIDES) or '', hookenv.local_unit(), option_types(), _overridable,
        now if now is not None else datetime.datetime.now(datetime.timezone.utc).timestamp())
    effective = dict(config, **overrides)
    problems = problems + check_values(effective)
    return effective, expires_at, problems


def digest(values):
    """A stable digest of a config mapping."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


class Effective:
    """The outcome of one evaluation, remembered for the rest of the hook."""

    def __init__(self, now=None):
        kv = unitdata.kv()
        values, self.expires_at, self.problems = evaluate(now)
        if self.problems:
            self.values = kv.get(GOOD_KEY) or values
        else:
            self.values = values
            kv.set(GOOD_KEY, values)
        self.valid = not self.problems


_current = {'effective': None}


def current(refresh=False):
    """This hook's :class:`Effective` (evaluated once per hook)."""
    if refresh or _current['effective'] is None:
        _current['effective'] = Effective()
    return _current['effective']


def config():
    """The effective config a charm should act on (last good while invalid)."""
    return current().values


def status_check():
    """Status: blocked naming every invalid option."""
    eff = current()
    if eff.problems:
        return [('blocked', 'Invalid config: ' + p) for p in eff.problems]
    return None
