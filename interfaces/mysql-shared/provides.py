"""Provides side of ``mysql-shared`` (the database server): read requests, publish answers.

Consumers ask for a database and a user, either unprefixed (``database``,
``username``, ``hostname``) or several at once with a prefix (``nova_database``,
``nova_username``, ``nova_hostname``); the server answers with ``db_host``,
``db_port``, ``password`` / ``<prefix>_password`` and ``allowed_units`` /
``<prefix>_allowed_units``.  Keys and formats are upstream's
(charm-percona-cluster, charm-helpers' SharedDBContext); see README.md.
"""

import ipaddress
import json
import re

from charmhelpers.core import hookenv, unitdata
from charms.reactive import Endpoint, clear_flag, is_flag_set, set_flag, toggle_flag

FIELDS = ('database', 'username', 'hostname')
# MariaDB names: identifiers the charm quotes with backticks and quotes,
# kept to letters, digits and underscores so no quoting trick can get through.
_DATABASE = re.compile(r'^[A-Za-z0-9_]{1,64}$')
_USERNAME = re.compile(r'^[A-Za-z0-9_]{1,32}$')
# A prefix is split off at the first underscore, so it has none.
_PREFIX = re.compile(r'^[A-Za-z0-9]{1,32}$')
_HOST_LABEL = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$')
MAX_HOSTS = 64
RESERVED_DATABASES = frozenset({'mysql', 'information_schema', 'performance_schema', 'sys'})
RESERVED_USERS = frozenset({'root', 'mysql', 'mariadb_sys', 'debian_sys_maint',
                            'stackyard_sst'})
# unitdata: the refusals logged already (the same bad data is logged once, not every hook).
LOGGED_KEY = 'mysql-shared.refused'


class Invalid(ValueError):
    """A request that cannot be served."""


def valid_host(value):
    """True when ``value`` is an IP address or a DNS host name."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    labels = value.rstrip('.').split('.')
    return 0 < len(value) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def parse_hosts(value):
    """The host list of a ``hostname`` value: one host, or a JSON list of hosts.

    :raises Invalid: not a host, or a list holding something else
    """
    value = value.strip()
    hosts = [value]
    if value.startswith('['):
        try:
            hosts = json.loads(value)
        except ValueError:
            raise Invalid('hostname is not a host or a JSON list of hosts') from None
    if not isinstance(hosts, list) or not 0 < len(hosts) <= MAX_HOSTS or \
            not all(isinstance(h, str) and valid_host(h) for h in hosts):
        raise Invalid('hostname {!r} is not a host or a list of at most {} hosts'.format(
            value[:80], MAX_HOSTS))
    return sorted(set(hosts))


def check_request(database, username):
    """Refuse names that are not plain identifiers, or that belong to the server.

    :raises Invalid: naming the field and the value
    """
    if not _DATABASE.match(database) or database.lower() in RESERVED_DATABASES:
        raise Invalid('database {!r} is not a name of 1-64 letters, digits or _ '
                      '(or is reserved)'.format(database[:80]))
    if not _USERNAME.match(username) or username.lower() in RESERVED_USERS:
        raise Invalid('username {!r} is not a name of 1-32 letters, digits or _ '
                      '(or is reserved)'.format(username[:80]))


def split_key(key):
    """``(prefix or None, field)`` of a request key, or None for other keys."""
    if key in FIELDS:
        return None, key
    prefix, sep, field = key.partition('_')
    if sep and field in FIELDS:
        return prefix, field
    return None


def parse_unit(data):
    """The complete requests in one consumer unit's bag.

    Only full triples (database, username, hostname) count, unprefixed or per
    prefix, as upstream servers do; a partial one is not an error (the
    consumer may not have sent all of it yet).

    :returns: ``({prefix or None: {"database", "username", "hostnames"}}, [problem])``
    """
    fields = {}
    problems = []
    for key, value in data.items():
        split = split_key(key)
        if split is None or value is None:
            continue
        prefix, field = split
        if prefix is not None and not _PREFIX.match(prefix):
            problems.append('prefix {!r} is not 1-32 letters or digits'.format(prefix[:40]))
            continue
        fields.setdefault(prefix, {})[field] = str(value).strip()
    requests = {}
    for prefix, got in sorted(fields.items(), key=lambda kv: kv[0] or ''):
        if not all(got.get(f) for f in FIELDS):
            continue
        try:
            check_request(got['database'], got['username'])
            hosts = parse_hosts(got['hostname'])
        except Invalid as e:
            problems.append('{}{}'.format(prefix + ': ' if prefix else '', e))
            continue
        requests[prefix] = {'database': got['database'], 'username': got['username'],
                            'hostnames': hosts}
    return requests, problems


def log_once(problems, key=LOGGED_KEY, what='shared-db request'):
    """Log each problem the first time it is seen; one that went away may be logged again.

    :param problems: every current problem (the full list, each call)
    """
    kv = unitdata.kv()
    before = set(kv.get(key) or [])
    for problem in sorted(set(problems) - before):
        hookenv.log('Refusing {}: {}'.format(what, problem), level=hookenv.WARNING)
    if before != set(problems):
        kv.set(key, sorted(set(problems)))


def collect(units):
    """Merge the requests of one relation's units.

    :param units: ``[(unit name, bag)]``
    :returns: ``({prefix: {"database", "username", "hostnames", "units"}}, [problem])``;
        units that disagree with the first on a prefix's database or user are
        left out of it
    """
    merged = {}
    problems = []
    for unit, data in sorted(units):
        requests, bad = parse_unit(data)
        problems += ['{}: {}'.format(unit, p) for p in bad]
        for prefix, req in requests.items():
            entry = merged.setdefault(prefix, dict(req, hostnames=[], units=[]))
            if (entry['database'], entry['username']) != (req['database'], req['username']):
                problems.append('{}: asks for {}/{} where its peers asked for {}/{}'.format(
                    unit, req['database'], req['username'], entry['database'],
                    entry['username']))
                continue
            entry['units'].append(unit)
            entry['hostnames'] = sorted(set(entry['hostnames']) | set(req['hostnames']))
    return merged, problems


def answer_keys(db_host, db_port, answers):
    """The bag a server unit publishes on one relation.

    :param answers: ``{prefix or None: {"password": str, "allowed_units": [unit]}}``
    """
    data = {'db_host': db_host, 'db_port': str(db_port)}
    for prefix, answer in answers.items():
        head = prefix + '_' if prefix else ''
        data[head + 'password'] = answer['password']
        data[head + 'allowed_units'] = ' '.join(sorted(answer['allowed_units']))
    return data


class MySQLSharedProvides(Endpoint):
    """The server: reads each consumer's requests, publishes its answers.

    Flags set:
      ``{endpoint_name}.connected``: at least one consumer unit joined.
      ``{endpoint_name}.requested``: at least one valid, complete request.

    Relation keys read (consumer unit bags, raw strings): ``database``,
    ``username``, ``hostname`` (a host or a JSON list of hosts), and the same
    with a ``<prefix>_`` (prefix: letters and digits).  Invalid names are
    refused (logged once, nothing served for them).

    Relation keys written (this unit's bag, raw strings): ``db_host``,
    ``db_port``, ``password`` / ``<prefix>_password``, ``allowed_units`` /
    ``<prefix>_allowed_units`` (space-separated unit names).
    """

    def manage_flags(self):
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        toggle_flag(self.expand_name('{endpoint_name}.requested'),
                    self.is_joined and bool(self.requests()))
        if is_flag_set(self.expand_name('endpoint.{endpoint_name}.changed')):
            clear_flag(self.expand_name('endpoint.{endpoint_name}.changed'))
            set_flag(self.expand_name('{endpoint_name}.changed'))

    def requests(self):
        """Every valid request, per relation and prefix.

        :returns: list of ``{"relation_id", "application", "prefix", "database",
            "username", "hostnames", "units"}``, sorted by relation and prefix
        """
        found = []
        refused = []
        for relation in self.relations:
            units = [(u.unit_name, dict(u.received_raw)) for u in relation.joined_units]
            merged, problems = collect(units)
            refused += ['{} ({}): {}'.format(relation.application_name, relation.relation_id,
                                             problem) for problem in problems]
            for prefix, req in sorted(merged.items(), key=lambda kv: kv[0] or ''):
                found.append(dict(req, relation_id=relation.relation_id,
                                  application=relation.application_name, prefix=prefix))
        log_once(refused)
        return found

    def log_refused(self, problems, key):
        """Log the charm's own refusals once each (as :meth:`requests` does), under ``key``."""
        log_once(problems, key=key)

    def publish(self, relation_id, db_host, db_port, answers):
        """Set this unit's answer on one relation; keys no longer answered are cleared.

        With ``db_host`` None every answer key is cleared (nothing to connect to yet).
        """
        relation = self.relations[relation_id]
        data = answer_keys(db_host, db_port, answers) if db_host else {}
        if not db_host:
            for key in ('db_host', 'db_port'):
                if relation.to_publish_raw.get(key) is not None:
                    relation.to_publish_raw[key] = None
        bag = relation.to_publish_raw
        for key in list(bag.keys()):
            if key not in data and (key.endswith('password') or key.endswith('allowed_units')):
                bag[key] = None
        for key, value in data.items():
            if bag.get(key) != value:
                bag[key] = value
