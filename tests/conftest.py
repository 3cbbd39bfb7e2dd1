pytest_plugins = [
    "tests.auxil.sandbox",
    "tests.auxil.bot",
    "tests.auxil.secrets",
    "tests.auxil.slowest_first",
    "pytester",
]
