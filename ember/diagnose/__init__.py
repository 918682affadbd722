"""Tools that show why a network does not train (NOTES §10)."""
from ember.diagnose.gradcheck import GradcheckError, GradcheckReport, gradcheck  # noqa: F401
