"""satc: SwissArmyTransformer configs compiled into reproducible launch bundles."""

__version__ = "0.1.0"
