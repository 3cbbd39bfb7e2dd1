pytest_plugins = ["tests.auxil.sandbox", "tests.auxil.bot", "tests.auxil.secrets", "pytester"]
