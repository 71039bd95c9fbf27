"""The provider directory: vendor endpoint lists read into one index the patient searches to find their portal.

    directory = Directory.load().with_extra([sandbox_provider(base_url)])
    directory.search("mass general boston", limit=20)     # -> [Provider(name, fhir_base, vendor, vendor_key, ...)]
    await refresh()                                       # download the vendors' lists into the user cache

Readers take SMART User-access Brands bundles, Oracle Health's and Epic's Endpoint bundles, and ONC Lantern's
`{"Endpoints": [...]}` files (formats.py). Only data whose licence allows it ships in assets/directory; the rest
is downloaded from the vendors by refresh() and cached (cache.py).
"""

from __future__ import annotations

from .builtin import DEFAULT_SANDBOX_BASE, PUBLIC_SMART_SANDBOX, SANDBOX_NAME, sandbox_provider
from .cache import default_cache_dir
from .errors import DirectoryError, ListFormatError, RefreshFailed
from .formats import read_list, read_list_file, usable_base
from .index import SHIPPED_DIRECTORY, Directory, ListInfo
from .places import STATES, Place, state_code
from .provider import Provider, base_key
from .refresh import ListResult, RefreshReport, rebuild_index, refresh
from .slim import read_slim, slim_document, write_slim
from .sources import DEFAULT_SOURCES_FILE, ListSource, load_sources
from .text import fold
from .vendors import VENDOR_KEYS, VENDOR_NAMES, guess_vendor_key, vendor_key

__all__ = [
    "DEFAULT_SANDBOX_BASE",
    "DEFAULT_SOURCES_FILE",
    "PUBLIC_SMART_SANDBOX",
    "SANDBOX_NAME",
    "SHIPPED_DIRECTORY",
    "STATES",
    "VENDOR_KEYS",
    "VENDOR_NAMES",
    "Directory",
    "DirectoryError",
    "ListFormatError",
    "ListInfo",
    "ListResult",
    "ListSource",
    "Place",
    "Provider",
    "RefreshFailed",
    "RefreshReport",
    "base_key",
    "default_cache_dir",
    "fold",
    "guess_vendor_key",
    "load_sources",
    "read_list",
    "read_list_file",
    "read_slim",
    "rebuild_index",
    "refresh",
    "sandbox_provider",
    "slim_document",
    "state_code",
    "usable_base",
    "vendor_key",
    "write_slim",
]
