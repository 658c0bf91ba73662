"""How the ``yard`` command prints: YAML/JSON, tables, and juju's status tables."""

import json
import sys
from typing import List

import yaml


def print_data(data, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, default=str))
    else:
        sys.stdout.write(yaml.safe_dump(data, default_flow_style=False, sort_keys=True))


def table(rows: List[List[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(str(r[i])) for r in rows if i < len(r)) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [str(c).ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def format_status(st: dict, relations: bool = False) -> str:
    """juju status's tabular output."""
    m = st["model"]
    out = table([["Model", "Controller", "Cloud/Region", "Version", "SLA", "Timestamp"],
                 [m["name"], "yard", "localhost/localhost", m["version"], "unsupported",
                  st["controller"]["timestamp"]]])
    if m.get("model-status", {}).get("message"):
        out += f"Model status: {m['model-status']['message']}\n"
    sections = [_saastable(st.get("application-endpoints") or {}),
                _appstable(st["applications"]), _unitstable(st["applications"]),
                _machinestable(st["machines"]), _offerstable(st.get("offers") or {})]
    if relations:
        sections.append(_relationstable(st.get("relations") or []))
    for text in sections:
        if text:
            out += "\n" + text
    if not st["applications"] and not st["machines"]:
        out += "\nModel \"%s\" is empty.\n" % m["name"]
    return out


def _appstable(apps: dict) -> str:
    if not apps:
        return ""
    rows = [["App", "Version", "Status", "Scale", "Charm", "Channel", "Rev", "Exposed",
             "Message"]]
    for name, app in apps.items():
        s = app["application-status"]
        scale = str(app.get("scale", "")) if "units" in app else ""
        rows.append([name, app.get("version", ""), s["current"], scale, app["charm-name"],
                     "", str(app["charm-rev"]), "no", s.get("message", "")])
    return table(rows)


def _saastable(saas: dict) -> str:
    """printRemoteApplications: Store is the URL's controller, ``local`` without one."""
    rows = [["SAAS", "Status", "Store", "URL"]]
    for name, s in sorted(saas.items()):
        store, _, path = s["url"].rpartition(":")
        rows.append([name, s["application-status"].get("current", ""), store or "local", path])
    return table(rows) if len(rows) > 1 else ""


def _offerstable(offers: dict) -> str:
    """printOffers: Connected is active/total."""
    rows = [["Offer", "Application", "Charm", "Rev", "Connected", "Endpoint", "Interface",
             "Role"]]
    for name, o in sorted(offers.items()):
        charm, _, rev = o["charm"].partition(":")[2].rpartition("-")
        for i, (ep, e) in enumerate(sorted(o["endpoints"].items())):
            head = ([name, o["application"], charm, rev, "%d/%d" % (
                o.get("active-connected-count", 0), o.get("total-connected-count", 0))]
                if i == 0 else [""] * 5)
            rows.append(head + [ep, e["interface"], e["role"]])
    return table(rows) if len(rows) > 1 else ""


def _unitstable(apps: dict) -> str:
    rows = [["Unit", "Workload", "Agent", "Machine", "Public address", "Ports", "Message"]]
    for app in apps.values():
        for uname, u in (app.get("units") or {}).items():
            rows.append(_unit_row(uname, u, u["machine"]))
            for sname, sub in (u.get("subordinates") or {}).items():
                rows.append(_unit_row("  " + sname, sub, ""))
    return table(rows) if len(rows) > 1 else ""


def _base(machine: dict) -> str:
    base = machine.get("base") or {}
    return "{}@{}".format(base.get("name", "ubuntu"), base.get("channel", "22.04"))


def _machinestable(machines: dict) -> str:
    if not machines:
        return ""
    rows = [["Machine", "State", "Address", "Inst id", "Base", "AZ", "Message"]]
    for mid, mach in machines.items():
        rows.append([mid, mach["juju-status"]["current"], mach["dns-name"],
                     mach["instance-id"], _base(mach), "",
                     mach["machine-status"].get("message", "")])
    return table(rows)


def _relationstable(relations: list) -> str:
    if not relations:
        return ""
    rows = [["Integration provider", "Requirer", "Interface", "Type", "Message"]]
    for r in relations:
        rows.append([r["provider"], r["requirer"], r["interface"], r["type"],
                     "" if r["status"] == "joined" else r["status"]])
    return table(rows)


def _unit_row(name: str, u: dict, machine: str) -> List[str]:
    w, ag = u["workload-status"], u["juju-status"]
    star = "*" if u.get("leader") else ""
    return [name + star, w["current"], ag["current"], machine, u.get("public-address", ""),
            ",".join(u.get("open-ports", [])), w.get("message", "") or ag.get("message", "")]
