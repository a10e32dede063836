"""Pure policy engine for eligibility (资格认定规则): dated per-region parameters and one rule per programme.

No database, web framework or message bus here: :func:`assess` maps a household snapshot, a date and a
region to an :class:`Assessment` with its reasons and the trace of every parameter value used (计算依据).
"""

from .assessment import (
    PROGRAMMES,
    ApplicationFacts,
    Assessment,
    MedicalBill,
    MemberAward,
    MissingApplicationFacts,
    TemporaryRequest,
    TraceEntry,
)
from .parameters import (
    ParameterError,
    ParameterNotFound,
    ParameterSet,
    ParameterValue,
    PolicyLoadError,
    default_parameters,
)
from .rules import RULES, assess

__all__ = [
    "PROGRAMMES",
    "RULES",
    "ApplicationFacts",
    "Assessment",
    "MedicalBill",
    "MemberAward",
    "MissingApplicationFacts",
    "ParameterError",
    "ParameterNotFound",
    "ParameterSet",
    "ParameterValue",
    "PolicyLoadError",
    "TemporaryRequest",
    "TraceEntry",
    "assess",
    "default_parameters",
]
