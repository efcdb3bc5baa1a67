"""A network role's class names, and whether two roles hold the same network."""
from __future__ import annotations

from experiments.assets.networks import Network


def short_name(net: Network, index: int) -> str:
    """The class's first synonym ("stingray", "tench"), or "class i" beyond the network's list."""
    if 0 <= index < len(net.categories):
        return net.categories[index].split(",")[0].strip()
    return f"class {index}"


def class_index(net: Network, name: str | int) -> int:
    """A class given by index ("6", 6) or by name, matched case-insensitively with any of its synonyms."""
    text = str(name).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 <= index < len(net.categories):
            raise ValueError(f"class {index} is outside 0..{len(net.categories) - 1} of {net.name}")
        return index
    wanted = text.lower()
    for i, category in enumerate(net.categories):
        if wanted == category.lower() or wanted in (s.strip().lower() for s in category.split(",")):
            return i
    raise ValueError(f"no class named {text!r} among the {len(net.categories)} classes of {net.name}")


def same_network(a: Network, b: Network) -> bool:
    """Whether two roles hold the same model with the same weights file (the same numbers in, the same out)."""
    same_weights = a.sha256 == b.sha256 if a.sha256 and b.sha256 else a.weights == b.weights
    return (a.name, a.input_size, a.mean, a.std) == (b.name, b.input_size, b.mean, b.std) and same_weights
