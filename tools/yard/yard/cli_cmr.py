"""CLI verbs of cross-model relations: offer, offers, consume, remove-saas, remove-offer.

``integrate`` / ``remove-relation`` take offer URLs and SAAS names as they are
(the controller's cmr room tells them apart).  Juju prints the informational
lines of these verbs (``Added ... as ...``) on stderr.
"""

import sys

from yard.cli_format import print_data, table


def cmd_offer(c, a) -> int:
    res = c.call("offer", target=a.target, name=a.offer_name)
    print(res["message"], file=sys.stderr)
    return 0


def _wanted(name: str, offer: dict, a) -> bool:
    """juju offers' filters: offer name, --application, --interface, --active-only."""
    interfaces = {e["interface"] for e in offer["endpoints"].values()}
    return ((not a.offer_name or name == a.offer_name)
            and (not a.application or offer["application"] == a.application)
            and (not a.interface or a.interface in interfaces)
            and (not a.active_only or bool(offer.get("connections"))))


def cmd_offers(c, a) -> int:
    offers = {k: v for k, v in c.call("offers").items() if _wanted(k, v, a)}
    if not offers:
        return 0   # cmd/juju/crossmodel/list.go: nothing valid, nothing printed
    if a.format in ("yaml", "json"):
        print_data(offers, a.format)
    elif a.format == "summary":
        sys.stdout.write(format_offers_summary(offers))
    else:
        sys.stdout.write(format_offers_tabular(offers))
    return 0


def format_offers_summary(offers: dict) -> str:
    """cmd/juju/crossmodel/listformatter.go formatListEndpointsSummary."""
    rows = [["Offer", "Application", "Charm", "Connected", "Store", "URL", "Endpoint",
             "Interface", "Role"]]
    for name, o in sorted(offers.items()):
        for i, (ep, e) in enumerate(sorted(o["endpoints"].items())):
            head = ([name, o["application"], o.get("charm", ""),
                     str(len(o.get("connections", []))), o.get("store", ""), o["offer-url"]]
                    if i == 0 else [""] * 6)
            rows.append(head + [ep, e["interface"], e["role"]])
    return table(rows)


def format_offers_tabular(offers: dict) -> str:
    """formatListEndpointsTabular: one row per connection."""
    rows = [["Offer", "User", "Relation id", "Status", "Endpoint", "Interface", "Role"]]
    for name, o in sorted(offers.items()):
        conns = sorted(o.get("connections", []), key=lambda x: (x["username"],
                                                                x["relation-id"]))
        for i, conn in enumerate(conns):
            ep = o["endpoints"].get(conn["endpoint"], {})
            rows.append([name if i == 0 else "", conn["username"], str(conn["relation-id"]),
                         conn["status"]["current"], conn["endpoint"], ep.get("interface", ""),
                         ep.get("role", "")])
    return table(rows)


def cmd_consume(c, a) -> int:
    res = c.call("consume", url=a.url, alias=a.alias)
    print(res["message"], file=sys.stderr)
    return 0


def cmd_remove_saas(c, a) -> int:
    c.call("remove-saas", names=a.names)
    return 0


def cmd_remove_offer(c, a) -> int:
    for name in a.offers:
        c.call("remove-offer", name=name, force=a.force)
    return 0


def register(add) -> None:
    """Add the verbs to yard's parser (see cli.build_parser)."""
    sp = add("offer", cmd_offer, "offer application endpoints for use in other models")
    sp.add_argument("target", metavar="APP:ENDPOINT[,ENDPOINT...]")
    sp.add_argument("offer_name", nargs="?", metavar="OFFER-NAME")

    sp = add("offers", cmd_offers, "list the model's offers", aliases=("list-offers",))
    sp.add_argument("offer_name", nargs="?", metavar="OFFER-NAME")
    sp.add_argument("--format", choices=["tabular", "summary", "yaml", "json"],
                    default="tabular")
    sp.add_argument("--application", default="")
    sp.add_argument("--interface", default="")
    sp.add_argument("--active-only", action="store_true")

    sp = add("consume", cmd_consume, "add a remote offer to the model")
    sp.add_argument("url", metavar="[admin/]MODEL.OFFER")
    sp.add_argument("alias", nargs="?")

    sp = add("remove-saas", cmd_remove_saas, "remove consumed applications (SAAS)")
    sp.add_argument("names", nargs="+", metavar="SAAS-NAME")

    sp = add("remove-offer", cmd_remove_offer, "remove offers")
    sp.add_argument("offers", nargs="+", metavar="OFFER")
    sp.add_argument("--force", action="store_true")
    sp.add_argument("-y", "--yes", action="store_true", help="no confirmation (yard never asks)")
