"""CLI handlers: application and model config.
"""

from typing import List, Optional

from yard import charm as charmlib
from yard.controller.common import parse_duration, UserError
from yard.model import Application


class ConfigCommands:
    """Part of :class:`yard.controller.Controller`; see the package docstring."""

    def cmd_config(self, app: str, key: Optional[str] = None, values: Optional[dict] = None,
                   reset: Optional[List[str]] = None) -> dict:
        """Get all, get one, set, or reset an application's config."""
        with self.cond:
            a = self._app(app)
            charm = self.charm_of(app)
            if values or reset:
                self._config_set(a, charm, values or {}, reset or [])
                return {}
            if key is not None:
                if key not in charm.options:
                    raise UserError(f'key "{key}" not found in "{app}" application config '
                                    'or charm settings.')
                return {"value": self.app_config(app)[key]}
            return self._config_show(a, charm)

    def _config_set(self, a: Application, charm: charmlib.Charm, values: dict,
                    reset: List[str]) -> None:
        cfg = dict(a.config)
        for k in reset:
            if k not in charm.options:
                raise UserError(f'unknown option "{k}"')
            cfg.pop(k, None)
        for k, v in values.items():
            try:
                cfg[k] = charmlib.coerce_option(charm, k, v)
            except charmlib.CharmError as e:
                raise UserError(str(e)) from None
        before = self.app_config(a.name)
        self.update_app(a.name, config=cfg)
        if self.app_config(a.name) != before:  # no change, no config-changed
            self.update_app(a.name, config_version=a.config_version + 1)

    def _config_show(self, a: Application, charm: charmlib.Charm) -> dict:
        effective = self.app_config(a.name)
        settings = {}
        for k, spec in sorted(charm.options.items()):
            entry = {"description": spec.get("description", ""),
                     "source": "user" if k in a.config else "default",
                     "type": spec.get("type", "string")}
            if "default" in spec:
                entry["default"] = spec["default"]
            if effective[k] is not None:
                entry["value"] = effective[k]
            settings[k] = entry
        trust = {"default": False, "description": "Does this application have access to "
                 "trusted credentials", "source": "default", "type": "bool", "value": False}
        return {"application": a.name, "charm": charm.name, "settings": settings,
                "application-config": {"trust": trust}}

    def cmd_model_config(self, key: Optional[str] = None, values: Optional[dict] = None) -> dict:
        """Get or set model config."""
        with self.cond:
            if values:
                cfg = dict(self.state.config)
                for k, v in values.items():
                    if k == "vip-range":  # Juju's text for an immutable key (environs/config)
                        raise UserError(f'cannot change vip-range from '
                                        f'"{self.provider.vip_range()}" to "{v}"')
                    if k in ("update-status-hook-interval", "leadership-lease-duration"):
                        parse_duration(v)
                        cfg[k] = str(v)
                    elif k == "automatically-retry-hooks":
                        cfg[k] = str(v).lower() in ("true", "1", "yes")
                    else:
                        cfg[k] = v
                self._set(config=cfg)
                self.cond.notify_all()
                return {}
            cfg = self.model_config()
            if key is not None:
                if key not in cfg:
                    raise UserError(f'key "{key}" not found in "{self.model}" model.')
                return {"value": cfg[key]}
            return {"config": {k: {"value": v, "source": "model" if k in self.state.config
                                   else "default"} for k, v in sorted(cfg.items())}}
