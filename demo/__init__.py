"""The demo world: Valdor, a fictional maker of pumps and drives with three plants, its
suppliers, its items, its systems' codes and a day of their messages, so the hub can be tried
out on realistic data. `manage.py seed_demo` (demo.seed) builds it; nothing imports this app
but the settings' INSTALLED_APPS and the tests."""
