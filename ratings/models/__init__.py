"""Domain models of the ratings app: datasets and images, reader studies, assessments, ratings."""

from .assessments import Assessment, AssessmentStatus, Rating, RatingRevision
from .datasets import Dataset, Image, ImageFile
from .jobs import IngestJob, JobStatus
from .people import Profession, RaterProfile
from .studies import Dimension, DimensionKind, Membership, ReaderStudy, Role, StudyImage

__all__ = [
    "Assessment",
    "AssessmentStatus",
    "Dataset",
    "Dimension",
    "DimensionKind",
    "Image",
    "ImageFile",
    "IngestJob",
    "JobStatus",
    "Membership",
    "Profession",
    "Rating",
    "RatingRevision",
    "RaterProfile",
    "ReaderStudy",
    "Role",
    "StudyImage",
]
