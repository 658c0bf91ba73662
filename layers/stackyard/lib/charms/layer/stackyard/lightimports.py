"""Cheaper imports for every hook: distutils and pkg_resources without setuptools.

Every hook imports charmhelpers' ``hookenv`` and charms.reactive, and on the
Pythons we run (3.10 to 3.12, with setuptools in the venv) each drags in the
whole of setuptools:

1. ``hookenv`` imports ``distutils.version`` for ``LooseVersion``.  With
   setuptools installed, its import hook answers ``import distutils`` by
   importing ``setuptools`` first (its ``dist``, ``packaging``, ``jaraco``
   and ``urllib.request`` imports), about 100 ms of CPU, only to hand back
   ``setuptools._distutils``.  :func:`distutils_without_setuptools` loads
   that same package straight from its folder.
2. ``charms.reactive.relations`` imports ``iter_entry_points`` from
   ``pkg_resources``, which scans every installed distribution at import and
   warns that it is deprecated.  :func:`entry_points_without_pkg_resources`
   puts in its place a module whose ``iter_entry_points`` reads
   ``importlib.metadata``; asking it for any other name imports the real
   ``pkg_resources``, which then takes its place for good.  (Its submodules,
   ``pkg_resources.extern`` and the like, cannot be imported through it.)

Both only act when the module is not imported yet, and both step aside when
what they need is missing, so the ordinary import happens instead.  Measure
with ``make bench-hooks`` (the full hook row).
"""

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types


def _package_dir(name):
    """The folder of top-level package ``name`` on sys.path, without importing it."""
    spec = importlib.machinery.PathFinder.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def distutils_without_setuptools():
    """Load setuptools' bundled ``distutils`` as ``distutils`` without importing setuptools.

    :returns: True when it did; False when ``distutils`` was already imported
        or setuptools has no bundled copy (then ``import distutils`` finds
        the standard library's, on Pythons that still have one).
    """
    if 'distutils' in sys.modules:
        return False
    setuptools_dir = _package_dir('setuptools')
    if setuptools_dir is None:
        return False
    folder = os.path.join(setuptools_dir, '_distutils')
    init = os.path.join(folder, '__init__.py')
    if not os.path.isfile(init):
        return False
    spec = importlib.util.spec_from_file_location('distutils', init,
                                                  submodule_search_locations=[folder])
    module = importlib.util.module_from_spec(spec)
    sys.modules['distutils'] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules['distutils']
        raise
    # Later imports of distutils.* resolve inside ``folder`` through __path__;
    # setuptools, if something imports it, replaces these modules itself.
    return True


def iter_entry_points(group, name=None):
    """``pkg_resources.iter_entry_points`` from ``importlib.metadata``.

    Yields entry points (with ``name``, ``load()``) of ``group``, only those
    called ``name`` when it is given.
    """
    if not _declared_anywhere(group):
        return
    from importlib import metadata
    found = metadata.entry_points()
    if hasattr(found, 'select'):
        selected = found.select(group=group)
    else:  # Python < 3.10: a dict of lists
        selected = found.get(group, [])
    seen = set()
    for entry_point in selected:
        # A distribution visible on two sys.path entries is listed twice.
        key = (entry_point.name, entry_point.value)
        if key in seen or (name is not None and entry_point.name != name):
            continue
        seen.add(key)
        yield entry_point


def _declared_anywhere(group):
    """Whether any installed distribution's entry_points.txt has a ``[group]`` section.

    Reading those few small files is much cheaper than importing
    ``importlib.metadata`` (and its email parser) to find nothing, which is
    what charms.reactive's lookup finds in every hook.
    """
    header = '[{}]'.format(group)
    for folder in sys.path:
        try:
            names = os.listdir(folder or '.')
        except OSError:
            continue
        for name in names:
            if not name.endswith(('.dist-info', '.egg-info')):
                continue
            try:
                with open(os.path.join(folder or '.', name, 'entry_points.txt')) as f:
                    if any(line.strip() == header for line in f):
                        return True
            except OSError:
                continue
    return False


class _PkgResourcesStandIn(types.ModuleType):
    """``pkg_resources`` until something needs more than ``iter_entry_points``."""

    def __getattr__(self, attr):
        # Dunders stay unanswered: the import system asks for __path__ on every
        # ``from pkg_resources import ...``, and that must not import the real one.
        if attr.startswith('__'):
            raise AttributeError(attr)
        return getattr(_real_pkg_resources(self), attr)


def _real_pkg_resources(stand_in):
    """Import the real ``pkg_resources`` in place of ``stand_in`` and return it."""
    if sys.modules.get('pkg_resources') is stand_in:
        del sys.modules['pkg_resources']
    try:
        return importlib.import_module('pkg_resources')
    except ImportError:
        sys.modules.setdefault('pkg_resources', stand_in)
        raise


def entry_points_without_pkg_resources():
    """Register the stand-in as ``pkg_resources``; True when it did."""
    if 'pkg_resources' in sys.modules or _package_dir('pkg_resources') is None:
        return False
    stand_in = _PkgResourcesStandIn('pkg_resources', __doc__.splitlines()[0])
    stand_in.iter_entry_points = iter_entry_points
    sys.modules['pkg_resources'] = stand_in
    return True


def install():
    """Both of the above (idempotent); call before importing charmhelpers or charms.reactive."""
    distutils_without_setuptools()
    entry_points_without_pkg_resources()
