"""Static reading of migration files: bytes in, facts out, nothing executed.

The readers are the modules of this package (``parse.reading`` has the entry
points: ``read_module``, ``read_scripts``).  This module holds only what
every run needs, so that importing the package costs nothing: a warm run
reads no file.
"""

# Bump when readers change what they produce: the cache is keyed by it.
READER_VERSION = "6"
