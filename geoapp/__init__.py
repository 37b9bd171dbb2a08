"""geoapp: employment resources for disabled people, county by county, against policy.

The core package holds no user interface: pages under ``pages/`` call into it.
"""

__version__ = "0.1.0"
