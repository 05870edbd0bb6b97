"""Loads another program of this folder as a module, for the meta writers and clients built on an
older one's functions: their file names have hyphens (x16-meta.py), which `import` cannot name.
Importable itself (`import sibling`) by any program run from this folder (python puts a script's own
folder first on sys.path)."""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, file):
    """The program FILE of this folder (e.g. 'x16-meta.py'), executed as a module called NAME."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
