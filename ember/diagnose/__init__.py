"""Tools that show why a network does not train (NOTES §10): gradient check, layer probes, doctor,
and the learning-rate range test."""
from ember.diagnose.gradcheck import GradcheckError, GradcheckReport, gradcheck  # noqa: F401
from ember.diagnose.probes import LayerProbe, Stats  # noqa: F401
from ember.diagnose.lr_finder import LRFinderResult, lr_range_test  # noqa: F401
from ember.diagnose.doctor import DoctorReport, doctor  # noqa: F401
