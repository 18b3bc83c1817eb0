"""Importers: price books written from other price catalogues (`ratecard import`).

Nothing in the engine imports this package; only the `import` command does, when it runs.
Each importer writes one formatted `.rules` book per provider, loads every book before
writing it, and lists every catalogue entry it did not carry over with the exact reason.
"""
