"""Domain models of the ratings app: reader studies, assessments, ratings, exports, splits."""

from .assessments import Assessment, AssessmentStatus, Rating, RatingRevision
from .audit import AuditAction, AuditEvent
from .exports import (
    DatasetRelease,
    ExportJob,
    ExportKind,
    ImageFormat,
    Split,
    SplitAssignment,
    SplitSubset,
    StratifyBy,
)
from .people import Profession, RaterProfile
from .results import StudyResults
from .studies import Dimension, DimensionKind, Membership, ReaderStudy, Role, StudyImage

__all__ = [
    "Assessment",
    "AssessmentStatus",
    "AuditAction",
    "AuditEvent",
    "DatasetRelease",
    "Dimension",
    "DimensionKind",
    "ExportJob",
    "ExportKind",
    "ImageFormat",
    "Membership",
    "Profession",
    "RaterProfile",
    "Rating",
    "RatingRevision",
    "ReaderStudy",
    "Role",
    "Split",
    "SplitAssignment",
    "SplitSubset",
    "StratifyBy",
    "StudyImage",
    "StudyResults",
]
