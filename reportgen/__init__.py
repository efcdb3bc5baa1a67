"""reportgen: declarative experiments, cached results, and a report rendered from them."""
from reportgen.assets import Asset, AssetError
from reportgen.constraints import Check, Ge, Gt, Le, Lt, NonEmpty, OneOf
from reportgen.errors import UserError
from reportgen.questions import Question
from reportgen.registry import experiment, resource
from reportgen.verdicts import verdict

__all__ = ["Asset", "AssetError", "Check", "Ge", "Gt", "Le", "Lt", "NonEmpty", "OneOf", "Question", "UserError",
           "experiment", "resource", "verdict"]
