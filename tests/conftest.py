pytest_plugins = ["benben.testing"]
