"""Inventory files: importing a seller's lots from a file and exporting them to one.

* ``importer.py`` reads a file (BrickLink XML inventory, BrickStore ``.bsx`` or our CSV),
  validates every lot before writing any, and writes them through the item services.
* ``exporter.py`` streams every live item of an account in one of those formats.
* ``bricklink_xml.py``, ``bsx.py`` and ``csvfile.py`` know one format each (its tags or
  columns, how to read and how to write it); ``xmlsafe.py`` is the hardened XML reader they
  share; ``base.py`` holds the limits and the errors that refuse a whole file.
"""
