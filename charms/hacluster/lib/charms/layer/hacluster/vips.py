"""Checks of the VIPs a principal asks for against this machine's networks."""

import ipaddress
import json
import shlex
import subprocess

#: Agents whose address parameter is a VIP, and that parameter's name.
VIP_AGENTS = {'ocf:heartbeat:IPaddr2': 'ip', 'ocf:heartbeat:IPaddr': 'ip',
              'ocf:heartbeat:IPv6addr': 'ipv6addr'}


def local_networks():
    """``[(ifname, ip_interface)]`` of this machine (``ip -j addr``).

    Loopback and secondary addresses (a VIP this node holds now) are left out.
    """
    out = subprocess.run(['ip', '-j', 'addr', 'show'], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    found = []
    for link in json.loads(out):
        for addr in link.get('addr_info', []):
            # Secondary addresses are VIPs (IPaddr2 adds them so), not the machine's own.
            if addr.get('scope') == 'host' or addr.get('secondary') or \
                    addr.get('family') not in ('inet', 'inet6'):
                continue
            found.append((link['ifname'], ipaddress.ip_interface(
                '{}/{}'.format(addr['local'], addr['prefixlen']))))
    return found


def params(text):
    """The ``name=value`` pairs after ``params`` in a crm primitive's text."""
    found, inside = {}, False
    for token in shlex.split(text or ''):
        if token in ('params', 'op', 'meta', 'utilization'):
            inside = token == 'params'
        elif inside and '=' in token:
            key, value = token.split('=', 1)
            found[key] = value
    return found


def _problem(name, address, given, networks):
    try:
        vip = ipaddress.ip_address(address)
    except ValueError:
        return 'vip {!r} of {} is not an IP address'.format(address, name)
    nic = given.get('nic')
    names = sorted({ifname for ifname, _ in networks})
    if nic and nic not in names:
        return 'vip {} of {}: no interface {} on this machine'.format(vip, name, nic)
    if nic and given.get('cidr_netmask'):
        return None     # put where the principal said, with its netmask
    own = [iface for _, iface in networks if iface.ip.version == vip.version]
    if any(vip == iface.ip for iface in own):
        return 'vip {} of {} is an address of this machine'.format(vip, name)
    if not any(vip in iface.network for iface in own):
        return 'vip {} of {} is outside this machine\'s networks ({})'.format(
            vip, name, ', '.join('{} {}'.format(i, n.network) for i, n in networks
                                 if n.ip.version == vip.version) or 'none')
    return None


def problems(request, networks):
    """What is wrong with the request's VIPs here (messages naming them); [] when none."""
    found = []
    for name, agent in sorted(request['resources'].items()):
        key = VIP_AGENTS.get(agent)
        if not key:
            continue
        given = params(request['resource_params'].get(name))
        if key not in given:
            found.append('{} ({}) has no {} parameter'.format(name, agent, key))
            continue
        problem = _problem(name, given[key], given, networks)
        if problem:
            found.append(problem)
    return found


def addresses(request):
    """``{resource: address}`` of the request's VIPs."""
    return {name: params(request['resource_params'].get(name)).get(VIP_AGENTS[agent])
            for name, agent in request['resources'].items() if agent in VIP_AGENTS}
