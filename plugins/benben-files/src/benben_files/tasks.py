"""(being written)"""

from benben.plugin import Configurator


def includeme(config: Configurator) -> None:
    pass
