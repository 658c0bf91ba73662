"""zaza tests of the demo bundle against a real Juju controller."""

import json
import unittest
import urllib.request

import zaza.model


class DemoTest(unittest.TestCase):
    """The test charm serves its configured message; a reconfigure shows."""

    def _replies(self):
        replies = {}
        for unit in zaza.model.get_units('web'):
            url = 'http://{}:8080/'.format(unit.public_address)
            with urllib.request.urlopen(url, timeout=10) as reply:
                replies[unit.entity_id] = json.loads(reply.read().decode())
        return replies

    def test_every_unit_serves_the_message(self):
        for unit, body in self._replies().items():
            self.assertEqual(body['message'], 'hello from the stackyard demo', unit)

    def test_reconfigure_is_visible(self):
        zaza.model.set_application_config('web', {'message': 'changed by zaza'})
        zaza.model.block_until_all_units_idle()
        for unit, body in self._replies().items():
            self.assertEqual(body['message'], 'changed by zaza', unit)
        zaza.model.set_application_config('web', {'message': 'hello from the stackyard demo'})
        zaza.model.block_until_all_units_idle()
