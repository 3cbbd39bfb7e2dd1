pytest_plugins = ["tests.auxil.sandbox"]
