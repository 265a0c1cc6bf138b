"""The queue: numbers per service and day, counters calling them, estimates and reports, on one SQLite file.

``engine.QueueEngine`` is the entry point (the kiosk embeds it; the branch server wraps it over HTTP). Around it:
``services`` (service definitions and opening hours), ``priority`` (categories and the N-in-a-row policy),
``numbering`` (daily sequences and number blocks leased for offline kiosks), ``estimate`` (people ahead, wait),
``report`` (daily figures), ``db``/``migrations``/``checkpoint`` (the SQLite file), ``errors``, ``models``.
"""
