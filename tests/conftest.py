pytest_plugins = ["tests.auxil.sandbox", "tests.auxil.bot"]
