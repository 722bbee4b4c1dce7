"""The Grafana dashboards of this folder, as typed Python: ``python dashboards/build.py``
writes each ``*.json`` (see ``build.py`` and README.md)."""
