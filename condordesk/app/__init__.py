"""The composition root and the commands: the ``condordesk`` command line (``cli``), what
builds an engine or a console link from a profile (``bootstrap``, ``consoles``), and the
commands' own views (``ctl_view``, ``journal_view``, ``cli_admin``, ``paper_check``)."""
