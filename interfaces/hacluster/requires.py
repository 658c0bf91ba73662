"""Requires side of ``hacluster``: the principal asks for resources (VIPs) and reads ``clustered``.

The principal charm declares ``requires: {ha: {interface: hacluster, scope:
container}}`` and relates to a hacluster subordinate.  It speaks as the
upstream OpenStack principals do (charm-helpers'
``contrib/openstack/ha/utils.py``): one JSON object per ``json_<section>``
key in its unit bag, keys sorted, compact separators.
"""

import hashlib
import ipaddress
import json

from charms.reactive import Endpoint, toggle_flag

#: Every section a principal may send, each as ``json_<section>``.
SECTIONS = ('resources', 'resource_params', 'groups', 'clones', 'colocations',
            'locations', 'orders', 'ms', 'init_services', 'delete_resources')
#: The group every VIP of a service goes in (charm-helpers' VIP_GROUP_NAME).
VIP_GROUP = 'grp_{service}_vips'
#: What charm-helpers asks pacemaker to monitor a VIP with.
VIP_MONITOR = 'op monitor timeout="20s" interval="10s" depth="0"'


def encode(value):
    """A section's relation value as charm-helpers writes it (sorted, compact)."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def vip_resource_name(service, vip):
    """The resource name charm-helpers gives a VIP: ``res_<service>_<sha1[:7]>_vip``."""
    digest = hashlib.sha1(str(vip).encode('utf-8')).hexdigest()[:7]
    return 'res_{}_{}_vip'.format(service, digest)


def vip_request(service, vips, nic=None, cidr_netmask=None):
    """The sections asking for ``vips`` as IPaddr2 (IPv4) or IPv6addr resources in one group.

    :param service: short service name, e.g. ``db`` (letters, digits, ``-``)
    :param vips: iterable of IP address strings
    :param nic: the interface to put them on (``None``: the agent picks the
        interface whose network holds the address)
    :param cidr_netmask: prefix length for IPv4 VIPs, given with ``nic``
    :returns: ``{"resources": {...}, "resource_params": {...}, "groups": {...}}``
    :raises ValueError: an address that is not an IP address
    """
    resources, params, members = {}, {}, []
    for vip in vips:
        address = ipaddress.ip_address(vip)
        name = vip_resource_name(service, address)
        if address.version == 4:
            resources[name], key = 'ocf:heartbeat:IPaddr2', 'ip'
        else:
            resources[name], key = 'ocf:heartbeat:IPv6addr', 'ipv6addr'
        text = 'params {}="{}"'.format(key, address)
        if nic:
            if cidr_netmask is not None:
                text += ' cidr_netmask="{}"'.format(int(cidr_netmask))
            text += ' nic="{}"'.format(nic)
        params[name] = '{} {}'.format(text, VIP_MONITOR)
        members.append(name)
    groups = {VIP_GROUP.format(service=service): ' '.join(members)} if members else {}
    return {'resources': resources, 'resource_params': params, 'groups': groups}


class HAClusterRequires(Endpoint):
    """A principal's view of its hacluster subordinate.

    Flags set:
      ``{endpoint_name}.connected``: the subordinate joined.
      ``{endpoint_name}.clustered``: the subordinate says its cluster runs
      the resources asked for (``clustered`` non-empty, as charm-helpers'
      ``is_clustered`` reads it).

    Relation keys written (this unit's bag; each a JSON text, absent when
    empty): ``json_resources`` ({name: agent}), ``json_resource_params``
    ({name: crm text}), ``json_groups`` ({group: "member member"}),
    ``json_clones`` ({clone: "resource [meta ...]"}), ``json_colocations``,
    ``json_locations``, ``json_orders``, ``json_ms`` ({name: crm text}),
    ``json_init_services`` ({resource: system service}),
    ``json_delete_resources`` ([name]).

    Relation keys read (the subordinate's bag): ``clustered`` (``yes``).
    """

    def manage_flags(self):
        """Keep ``connected`` and ``clustered`` in step with the relation."""
        toggle_flag(self.expand_name('{endpoint_name}.connected'), self.is_joined)
        toggle_flag(self.expand_name('{endpoint_name}.clustered'), self.is_clustered())

    def is_clustered(self):
        """Whether the subordinate reports the cluster formed and our resources running."""
        return any((unit.received_raw.get('clustered') or '').strip()
                   for unit in self.all_joined_units)

    def published(self):
        """The sections this unit has published, decoded (empty ones left out)."""
        found = {}
        for relation in self.relations:
            for section in SECTIONS:
                text = relation.to_publish_raw.get('json_' + section)
                if text:
                    found[section] = json.loads(text)
            break
        return found

    def request(self, sections):
        """Publish the whole request: every section of ``sections``, the others removed.

        Resources and groups published before and missing now are added to
        ``delete_resources`` (and stay there until asked for again), so the
        subordinate stops and deletes them.

        :param sections: ``{section: value}`` with sections from
            :data:`SECTIONS` (dicts, ``delete_resources`` a list)
        :raises KeyError: an unknown section
        """
        unknown = sorted(set(sections) - set(SECTIONS))
        if unknown:
            raise KeyError('unknown hacluster section(s): {}'.format(', '.join(unknown)))
        before = self.published()
        wanted = set(sections.get('resources', {})) | set(sections.get('groups', {}))
        # Earlier deletions are kept: the subordinate may not have seen them yet.
        deletes = sorted((set(before.get('delete_resources', [])) |
                          set(before.get('resources', {})) | set(before.get('groups', {})) |
                          set(sections.get('delete_resources', []))) - wanted)
        values = dict(sections, delete_resources=deletes)
        for relation in self.relations:
            for section in SECTIONS:
                value = values.get(section)
                relation.to_publish_raw['json_' + section] = encode(value) if value else None

    def request_vips(self, service, vips, nic=None, cidr_netmask=None, extra=None):
        """Ask for ``vips`` (a list of addresses) as the service's VIP group.

        An empty list asks for nothing (and deletes VIPs asked for before).
        ``extra`` sections (say a colocation with the group) are merged in.
        See :func:`vip_request` for the parameters.
        """
        sections = vip_request(service, vips, nic, cidr_netmask)
        for section, value in (extra or {}).items():
            if isinstance(value, dict):
                sections[section] = dict(sections.get(section, {}), **value)
            else:
                sections[section] = value
        self.request(sections)
