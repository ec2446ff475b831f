"""Domain models of the ratings app: datasets and images, reader studies, assessments, ratings."""

from .assessments import Assessment, AssessmentStatus, Rating, RatingRevision
from .datasets import Dataset, Image, ImageFile
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
from .jobs import IngestJob, JobStatus
from .people import Profession, RaterProfile
from .results import StudyResults
from .studies import Dimension, DimensionKind, Membership, ReaderStudy, Role, StudyImage

__all__ = [
    "Assessment",
    "AssessmentStatus",
    "Dataset",
    "DatasetRelease",
    "Dimension",
    "DimensionKind",
    "ExportJob",
    "ExportKind",
    "Image",
    "ImageFile",
    "ImageFormat",
    "IngestJob",
    "JobStatus",
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
